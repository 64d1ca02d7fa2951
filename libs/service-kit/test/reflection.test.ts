import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { create, createFileRegistry, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { data, protoFiles, protoRoot, serviceNames } from '@memorize/contracts';
import { repoRoot, tempDir } from '@memorize/testing';
import { createLogger, healthFileDescriptor, healthProtoFile, healthServiceName, loadServiceConfig, startService } from '@memorize/service-kit';

const generatedFile = fileURLToPath(new URL('../src/health-descriptor.ts', import.meta.url));
const buf = join(repoRoot, 'node_modules', '.bin', 'buf');

/** grpc-health-check's health.proto compiled by buf under its canonical name, without source info. */
function compileHealthProto(): Uint8Array {
  const dir = tempDir('memorize-health-proto-');
  try {
    const source = join(dir, 'src');
    mkdirSync(dirname(join(source, healthProtoFile)), { recursive: true });
    copyFileSync(healthProtoPath, join(source, healthProtoFile));
    const out = join(dir, 'set.binpb');
    execFileSync(buf, ['build', source, '--exclude-source-info', '--as-file-descriptor-set', '-o', out]);
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(out));
    assert.equal(set.file.length, 1);
    return toBinary(FileDescriptorProtoSchema, set.file[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  'the committed health descriptor is what buf compiles from the health.proto grpc-health-check ships',
  { skip: !existsSync(buf) && 'no buf' },
  () => {
    const fresh = compileHealthProto();
    if (process.env.MEMORIZE_UPDATE_HEALTH_DESCRIPTOR === '1' && Buffer.compare(fresh, healthFileDescriptor) !== 0) {
      const text = readFileSync(generatedFile, 'utf8').replace(
        /Buffer\.from\(\n {2}'[A-Za-z0-9+/=]*',/,
        `Buffer.from(\n  '${Buffer.from(fresh).toString('base64')}',`,
      );
      writeFileSync(generatedFile, text);
      return;
    }
    assert.equal(
      Buffer.from(healthFileDescriptor).toString('base64'),
      Buffer.from(fresh).toString('base64'),
      'run this test with MEMORIZE_UPDATE_HEALTH_DESCRIPTOR=1 to regenerate src/health-descriptor.ts',
    );
    const file = fromBinary(FileDescriptorProtoSchema, healthFileDescriptor);
    assert.equal(file.name, 'grpc/health/v1/health.proto');
    const list = file.messageType.find((m) => m.name === 'HealthListResponse')!;
    assert.equal(list.nestedType[0].name, 'StatusesEntry');
    assert.equal(list.nestedType[0].options?.mapEntry, true);
    assert.deepEqual(
      file.service[0].method.map((m) => m.name),
      ['Check', 'Watch', 'List'],
    );
  },
);

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

interface ReflectionClient extends Client {
  ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(request: object): boolean; end(): void } & AsyncIterable<ReflectionResponse>;
}

const reflectionProtos = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '..', 'proto');

/** A reflection client over the proto @grpc/reflection ships, for `version` v1 or v1alpha. */
function reflectionClient(address: string, version: 'v1' | 'v1alpha'): { ask(request: object): Promise<ReflectionResponse>; close(): void } {
  const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [reflectionProtos], keepCase: true, oneofs: true });
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => ReflectionClient }> };
  };
  const client = new pkg.grpc.reflection[version].ServerReflection(address, credentials.createInsecure());
  return {
    async ask(request) {
      const call = client.ServerReflectionInfo();
      call.write(request);
      call.end();
      for await (const response of call) return response;
      throw new Error('no reflection response');
    },
    close: () => client.close(),
  };
}

async function files(ask: (request: object) => Promise<ReflectionResponse>, symbol: string): Promise<Buffer[]> {
  const response = await ask({ file_containing_symbol: symbol });
  assert.equal(response.error_response, undefined, `${symbol}: ${response.error_response?.error_message}`);
  return response.file_descriptor_response!.file_descriptor_proto;
}

/** Health/Check with request and response types taken from a reflected descriptor only. */
function checkThroughDescriptor(address: string, file: FileDescriptorProto, service: string): Promise<string> {
  const registry = createFileRegistry(file, () => undefined);
  const method = registry.getService(healthServiceName)!.methods.find((m) => m.name === 'Check')!;
  const input: DescMessage = method.input;
  const output: DescMessage = method.output;
  const client = new Client(address, credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest(
      `/${healthServiceName}/Check`,
      (request: Record<string, unknown>) => Buffer.from(toBinary(input, create(input, request))),
      (bytes: Buffer) => fromBinary(output, bytes) as unknown as { status: number },
      { service },
      new Metadata(),
      { deadline: Date.now() + 5_000 },
      (error: ServiceError | null, response?: { status: number }) => {
        client.close();
        if (error) reject(error);
        else resolve(output.fields[0].enum!.values.find((v) => v.number === response!.status)!.name);
      },
    );
  });
}

test('reflection (v1 and v1alpha) lists and describes grpc.health.v1.Health with its compiled descriptor, and the hosted services', async () => {
  const running = await startService({
    config: loadServiceConfig('data', { port: 0 }, {}),
    services: [{ serviceName: serviceNames.data, definition: data.DataServiceService, implementation: {}, protoFile: protoFiles.data }],
    protoRoot,
    logger: createLogger('data', 'silent'),
    handleSignals: false,
  });
  try {
    for (const version of ['v1', 'v1alpha'] as const) {
      const reflection = reflectionClient(running.address, version);
      try {
        const listed = (await reflection.ask({ list_services: '*' })).list_services_response!.service.map((s) => s.name);
        assert.deepEqual(listed.sort(), [healthServiceName, serviceNames.data].sort(), version);

        const [health, ...rest] = await files(reflection.ask, healthServiceName);
        assert.equal(rest.length, 0, 'health.proto imports nothing');
        assert.equal(Buffer.compare(health, Buffer.from(healthFileDescriptor)), 0, `${version}: the compiled bytes, unchanged`);
        const byName = (await reflection.ask({ file_by_filename: healthProtoFile })).file_descriptor_response!.file_descriptor_proto;
        assert.equal(Buffer.compare(byName[0], health), 0);
        const file = fromBinary(FileDescriptorProtoSchema, health);
        assert.equal(await checkThroughDescriptor(running.address, file, ''), 'SERVING');
        assert.equal(await checkThroughDescriptor(running.address, file, serviceNames.data), 'SERVING');

        const dataFiles = (await files(reflection.ask, serviceNames.data)).map((b) => fromBinary(FileDescriptorProtoSchema, b));
        const service = dataFiles[0].service.find((s) => `${dataFiles[0].package}.${s.name}` === serviceNames.data)!;
        assert.equal(service.method.length, Object.keys(data.DataServiceService).length);
        for (const m of service.method) assert.match(m.inputType, /^\.memorize\.v1\./);
      } finally {
        reflection.close();
      }
    }
  } finally {
    await running.shutdown();
  }
});
