#!/usr/bin/python3
"""An independent gRPC client (Debian's python3-grpcio), using only server reflection, as grpcurl does.

Usage: grpc_reflection_client.py ADDRESS [SERVICE/METHOD JSON_REQUEST]
Prints one JSON document: the services the server lists, each service's methods as reflection
describes them (with input/output types and streaming flags), the health check result and, when
asked, the status and response of one call built from reflected descriptors only.
"""
import json
import os
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format
from google.protobuf import message_factory

PROTOS = "/usr/share/grpc-proto"


def main():
    address = sys.argv[1]
    with tempfile.TemporaryDirectory() as workdir:
        # Generated packages are named grpc.*; put them under a separate root so they don't shadow grpcio.
        root = os.path.join(workdir, "gen")
        os.makedirs(root)
        reflection_pb2, reflection_pb2_grpc, health_pb2, health_pb2_grpc = load_stubs(root)
        channel = grpc.insecure_channel(address)
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

        def ask(**kwargs):
            [response] = list(reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(**kwargs)]), timeout=10))
            if response.HasField("error_response"):
                raise RuntimeError(response.error_response.error_message)
            return response

        names = [s.name for s in ask(list_services="").list_services_response.service]
        pool = descriptor_pool.DescriptorPool()
        added = set()

        def add_file_for(symbol):
            protos = ask(file_containing_symbol=symbol).file_descriptor_response.file_descriptor_proto
            parsed = []
            for raw in protos:
                fd = descriptor_pb2.FileDescriptorProto()
                fd.ParseFromString(raw)
                parsed.append(fd)
            # Dependencies first: keep adding those whose dependencies are present.
            pending = [fd for fd in parsed if fd.name not in added]
            while pending:
                progressed = False
                for fd in list(pending):
                    if all(dep in added for dep in fd.dependency):
                        pool.Add(fd)
                        added.add(fd.name)
                        pending.remove(fd)
                        progressed = True
                if not progressed:
                    for dep in {d for fd in pending for d in fd.dependency if d not in added}:
                        deps = ask(file_by_filename=dep).file_descriptor_response.file_descriptor_proto
                        for raw in deps:
                            fd = descriptor_pb2.FileDescriptorProto()
                            fd.ParseFromString(raw)
                            if fd.name not in added and fd.name not in {p.name for p in pending}:
                                pending.append(fd)
                    if not any(all(dep in added for dep in fd.dependency) for fd in pending):
                        raise RuntimeError(f"unresolvable dependencies for {symbol}")

        described = {}
        for name in names:
            if name.startswith("grpc.reflection"):
                continue
            add_file_for(name)
            service = pool.FindServiceByName(name)
            described[name] = [
                {
                    "name": m.name,
                    "input": m.input_type.full_name,
                    "output": m.output_type.full_name,
                    "server_streaming": bool(m.server_streaming) if hasattr(m, "server_streaming") else None,
                }
                for m in service.methods
            ]

        health = health_pb2_grpc.HealthStub(channel)
        checks = {}
        for name in [""] + [n for n in names if not n.startswith("grpc.")]:
            status = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status
            checks[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(status)

        result = {"services": names, "methods": described, "health": checks}
        if len(sys.argv) > 3:
            full_method, body = sys.argv[2], sys.argv[3]
            service_name, method_name = full_method.rsplit("/", 1)
            method = pool.FindServiceByName(service_name).methods_by_name[method_name]
            factory = message_factory.MessageFactory(pool)
            request_class = factory.GetPrototype(method.input_type)
            response_class = factory.GetPrototype(method.output_type)
            request = json_format.Parse(body, request_class())
            path = f"/{service_name}/{method_name}"
            try:
                if method.server_streaming:
                    call = channel.unary_stream(path, request_serializer=request_class.SerializeToString, response_deserializer=response_class.FromString)
                    responses = [json_format.MessageToDict(r) for r in call(request, timeout=30)]
                    result["call"] = {"code": "OK", "responses": responses}
                else:
                    call = channel.unary_unary(path, request_serializer=request_class.SerializeToString, response_deserializer=response_class.FromString)
                    result["call"] = {"code": "OK", "response": json_format.MessageToDict(call(request, timeout=30))}
            except grpc.RpcError as error:
                result["call"] = {"code": error.code().name, "details": error.details()}
        print(json.dumps(result))


def load_stubs(root):
    # Copy the protos under a folder of our own: generated modules are named after their file path,
    # and grpc/... would collide with grpcio's own `grpc` package.
    import shutil

    local = os.path.join(root, "memorize_e2e_stubs")
    os.makedirs(local)
    open(os.path.join(local, "__init__.py"), "w").close()
    shutil.copy(f"{PROTOS}/grpc/reflection/v1alpha/reflection.proto", os.path.join(local, "reflection.proto"))
    shutil.copy(f"{PROTOS}/grpc/health/v1/health.proto", os.path.join(local, "health.proto"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"--python_out={root}", f"--grpc_python_out={root}",
         "memorize_e2e_stubs/reflection.proto", "memorize_e2e_stubs/health.proto"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sys.path.insert(0, root)
    from memorize_e2e_stubs import health_pb2, health_pb2_grpc, reflection_pb2, reflection_pb2_grpc

    return reflection_pb2, reflection_pb2_grpc, health_pb2, health_pb2_grpc


if __name__ == "__main__":
    main()
