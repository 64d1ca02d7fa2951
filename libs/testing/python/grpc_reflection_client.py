#!/usr/bin/python3
"""An independent gRPC client (Debian's python3-grpcio), using only server reflection, as grpcurl does.

Usage: grpc_reflection_client.py [--reflection v1|v1alpha] ADDRESS [SERVICE/METHOD JSON_REQUEST]
Prints one JSON document: the services the server lists, the file reflection returns for each, each
service's methods as reflection describes them (with input/output types and streaming flags), the result of
grpc.health.v1.Health/Check for "" and every listed service and, when asked, the status and response of one
call. Every message type, the health contract's included, comes from descriptors the server reflects into a
strict descriptor pool; only the reflection protocol itself is compiled from /usr/share/grpc-proto.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

PROTOS = "/usr/share/grpc-proto"
HEALTH = "grpc.health.v1.Health"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reflection", choices=["v1", "v1alpha"], default="v1")
    parser.add_argument("address")
    parser.add_argument("method", nargs="?")
    parser.add_argument("body", nargs="?")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        reflection_pb2, reflection_pb2_grpc = load_reflection_stubs(workdir, args.reflection)
        channel = grpc.insecure_channel(args.address)
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

        def ask(**kwargs):
            [response] = list(reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(**kwargs)]), timeout=10))
            if response.HasField("error_response"):
                raise RuntimeError(response.error_response.error_message)
            return response

        names = [s.name for s in ask(list_services="").list_services_response.service]
        pool = descriptor_pool.DescriptorPool()
        added = set()

        def parse(response):
            parsed = []
            for raw in response.file_descriptor_response.file_descriptor_proto:
                fd = descriptor_pb2.FileDescriptorProto()
                fd.ParseFromString(raw)
                parsed.append(fd)
            return parsed

        def add_file_for(symbol):
            parsed = parse(ask(file_containing_symbol=symbol))
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
                        for fd in parse(ask(file_by_filename=dep)):
                            if fd.name not in added and fd.name not in {p.name for p in pending}:
                                pending.append(fd)
                    if not any(all(dep in added for dep in fd.dependency) for fd in pending):
                        raise RuntimeError(f"unresolvable dependencies for {symbol}")
            return parsed[0].name

        files = {}
        described = {}
        for name in names:
            if name.startswith("grpc.reflection"):
                continue
            files[name] = add_file_for(name)
            service = pool.FindServiceByName(name)
            described[name] = [
                {
                    "name": m.name,
                    "input": m.input_type.full_name,
                    "output": m.output_type.full_name,
                    "server_streaming": bool(m.server_streaming),
                }
                for m in service.methods
            ]

        factory = message_factory.MessageFactory(pool)
        checks = {}
        if HEALTH in described:
            check = Method(channel, pool, factory, f"{HEALTH}/Check")
            status_enum = check.output_class.DESCRIPTOR.fields_by_name["status"].enum_type
            for name in [""] + [n for n in names if not n.startswith("grpc.")]:
                status = check.call(check.input_class(service=name), timeout=5).status
                checks[name] = status_enum.values_by_number[status].name

        result = {"services": names, "files": files, "methods": described, "health": checks}
        if args.method:
            method = Method(channel, pool, factory, args.method)
            request = json_format.Parse(args.body or "{}", method.input_class())
            try:
                if method.server_streaming:
                    responses = [json_format.MessageToDict(r) for r in method.call(request, timeout=30)]
                    result["call"] = {"code": "OK", "responses": responses}
                else:
                    result["call"] = {"code": "OK", "response": json_format.MessageToDict(method.call(request, timeout=30))}
            except grpc.RpcError as error:
                result["call"] = {"code": error.code().name, "details": error.details()}
        print(json.dumps(result))


class Method:
    """A callable for SERVICE/METHOD whose message classes come from the reflected descriptor pool."""

    def __init__(self, channel, pool, factory, full_method):
        service_name, method_name = full_method.rsplit("/", 1)
        descriptor = pool.FindServiceByName(service_name).methods_by_name[method_name]
        self.input_class = factory.GetPrototype(descriptor.input_type)
        self.output_class = factory.GetPrototype(descriptor.output_type)
        self.server_streaming = descriptor.server_streaming
        kind = channel.unary_stream if self.server_streaming else channel.unary_unary
        self.call = kind(f"/{full_method}", request_serializer=self.input_class.SerializeToString, response_deserializer=self.output_class.FromString)


def load_reflection_stubs(workdir, version):
    # Generated modules are named after their file path, and grpc/... would collide with grpcio's own `grpc`
    # package: copy the proto under a package of our own, in a separate root.
    root = os.path.join(workdir, "gen")
    local = os.path.join(root, "memorize_reflection_stubs")
    os.makedirs(local)
    open(os.path.join(local, "__init__.py"), "w").close()
    shutil.copy(f"{PROTOS}/grpc/reflection/{version}/reflection.proto", os.path.join(local, "reflection.proto"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"--python_out={root}", f"--grpc_python_out={root}", "memorize_reflection_stubs/reflection.proto"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sys.path.insert(0, root)
    from memorize_reflection_stubs import reflection_pb2, reflection_pb2_grpc

    return reflection_pb2, reflection_pb2_grpc


if __name__ == "__main__":
    main()
