import type { Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition, type ProtobufTypeDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { healthFileDescriptor, healthProtoFile } from './health-descriptor.js';

/** The standard health service every process serves (and reflection describes). */
export const healthServiceName = 'grpc.health.v1.Health';

/**
 * What reflection indexes: the hosted services' proto files as proto-loader builds them, plus grpc.health.v1
 * as its compiled descriptor bytes. @grpc/reflection only reads each entry's fileDescriptorProtos, so one
 * entry carrying those bytes adds the file; they round-trip through its decoder unchanged (tested), unlike a
 * descriptor protobufjs rebuilds from health.proto (see health-descriptor.ts).
 */
export function reflectionDefinition(protoFiles: string[], protoRoot: string): PackageDefinition {
  const definition = loadSync(protoFiles, { includeDirs: [protoRoot], keepCase: true });
  const health: ProtobufTypeDefinition = { format: 'FileDescriptorProto', type: {}, fileDescriptorProtos: [Buffer.from(healthFileDescriptor)] };
  return { ...definition, [healthProtoFile]: health as PackageDefinition[string] };
}

/** Serves grpc.reflection.v1 and v1alpha describing the given services and grpc.health.v1.Health. */
export function addReflection(server: Server, services: Array<{ serviceName: string; protoFile: string }>, protoRoot: string): void {
  const definition = reflectionDefinition(
    services.map((s) => s.protoFile),
    protoRoot,
  );
  new ReflectionService(definition, { services: [healthServiceName, ...services.map((s) => s.serviceName)] }).addToServer(server);
}
