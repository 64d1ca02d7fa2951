// Client paths are confined to the configured roots, only regular files are opened, SaveMemory never
// overwrites a file it did not write, and no error quotes a file's bytes: model-host and data as separate
// processes with roots in temp folders, driven over real gRPC.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { common, data, modelHost } from '@memorize/contracts';
import { callUnary, checkHealth, connect, status } from '@memorize/service-kit';
import { startServiceProcess, storiesBin, storiesTok, type ServiceProcess } from '@memorize/testing';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'memorize-roots-')));
const modelRoot = join(base, 'models');
const memoryRoot = join(base, 'memories');
const dataRoot = join(base, 'data');
const outside = join(base, 'outside');
const secret = 'root:x:0:0:SECRET-BYTES-4c1f:/root:/bin/bash';
const victim = join(outside, 'victim.txt');

let host: ServiceProcess;
let dataService: ServiceProcess;
let client: InstanceType<typeof modelHost.ModelHostClient>;
let dataClient: InstanceType<typeof data.DataServiceClient>;

before(async () => {
  for (const dir of [modelRoot, memoryRoot, dataRoot, outside, join(modelRoot, 'hf-bad')]) mkdirSync(dir, { recursive: true });
  writeFileSync(victim, secret);
  // Small model assets copied into the temp model root (a symlink out to ../shared would be refused by design).
  copyFileSync(storiesBin, join(modelRoot, 'stories260K.bin'));
  copyFileSync(storiesTok, join(modelRoot, 'tok512.bin'));
  writeFileSync(join(modelRoot, 'garbage.bin'), `${secret}\n`.repeat(40));
  writeFileSync(join(modelRoot, 'hf-bad', 'config.json'), secret);
  symlinkSync('/etc/passwd', join(modelRoot, 'passwd-link'));
  writeFileSync(join(memoryRoot, 'notes.txt'), secret);
  const header = Buffer.from(`{"a": ${secret}}`);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(memoryRoot, 'garbage.safetensors'), Buffer.concat([len, header]));
  writeFileSync(join(dataRoot, 'claims.jsonl'), `${secret}\n`);
  for (const fifo of [join(modelRoot, 'fifo.bin'), join(memoryRoot, 'fifo.safetensors'), join(dataRoot, 'fifo.jsonl')])
    execFileSync('mkfifo', [fifo]);
  [host, dataService] = await Promise.all([
    startServiceProcess('model-host', { MEMORIZE_MODEL_HOST_MODEL_ROOT: modelRoot, MEMORIZE_MODEL_HOST_MEMORY_ROOT: memoryRoot }),
    startServiceProcess('data', { MEMORIZE_DATA_DATA_ROOT: dataRoot }),
  ]);
  client = connect(modelHost.ModelHostClient, host.address);
  dataClient = connect(data.DataServiceClient, dataService.address);
  await callUnary(client, client.loadModel, modelHost.LoadModelRequest.fromPartial({ path: 'stories260K.bin', modelId: 'm' }), 60_000);
  await callUnary(
    client,
    client.createMemory,
    modelHost.CreateMemoryRequest.fromPartial({
      modelId: 'm',
      memoryId: 'mem',
      config: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 2, entries: 8, seed: 1n },
    }),
    30_000,
  );
});

after(async () => {
  client?.close();
  dataClient?.close();
  await Promise.all([host?.stop(), dataService?.stop()]);
  rmSync(base, { recursive: true, force: true });
});

/** The call fails with `code`, naming `field` in the message and the trailer, and never quoting the secret bytes. */
async function refused(call: Promise<unknown>, code: status, field: string, pattern?: RegExp): Promise<ServiceError> {
  let caught: ServiceError | undefined;
  try {
    await call;
  } catch (error) {
    caught = error as ServiceError;
  }
  assert.ok(caught, 'the call must fail');
  assert.equal(caught.code, code, `${status[caught.code]}: ${caught.details}`);
  assert.match(caught.details, new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}\\b`), caught.details);
  assert.deepEqual(caught.metadata.get('memorize-field'), [field]);
  assert.ok(!caught.details.includes('SECRET') && !caught.details.includes('root:x'), `leaks file bytes: ${caught.details}`);
  if (pattern) assert.match(caught.details, pattern);
  return caught;
}

const save = (path: string, overwrite = false) =>
  callUnary(client, client.saveMemory, { memoryId: 'mem', path, includeOptimizer: false, overwrite }, 30_000);
const loadModel = (path: string, tokenizerPath = '') =>
  callUnary(client, client.loadModel, modelHost.LoadModelRequest.fromPartial({ path, tokenizerPath, modelId: 'x' }), 30_000);
const loadMemory = (path: string) =>
  callUnary(client, client.loadMemory, { modelId: 'm', path, memoryId: 'loaded', replace: true, skipOptimizer: false }, 30_000);

test('a model path resolves in the model root; the info names it relative to the root', async () => {
  const info = await callUnary(client, client.getModelInfo, { modelId: 'm' }, 10_000);
  assert.equal(info.model!.path, 'stories260K.bin');
  const again = await callUnary(
    client,
    client.loadModel,
    modelHost.LoadModelRequest.fromPartial({ path: join(modelRoot, 'stories260K.bin'), tokenizerPath: 'tok512.bin', modelId: 'm' }),
    30_000,
  );
  assert.equal(again.alreadyLoaded, true, 'an absolute path inside the root is the same model');
});

test('SaveMemory outside the memory root is PERMISSION_DENIED naming path; nothing is written', async () => {
  await refused(save('../x.safetensors'), status.PERMISSION_DENIED, 'path', /outside the root/);
  await refused(save('../../tmp/x.safetensors'), status.PERMISSION_DENIED, 'path');
  await refused(save(join(outside, 'x.safetensors')), status.PERMISSION_DENIED, 'path');
  await refused(save(victim, true), status.PERMISSION_DENIED, 'path');
  symlinkSync(outside, join(memoryRoot, 'out'));
  await refused(save('out/x.safetensors'), status.PERMISSION_DENIED, 'path');
  assert.ok(!existsSync(join(base, 'x.safetensors')) && !existsSync(join(outside, 'x.safetensors')));
  assert.equal(readFileSync(victim, 'utf8'), secret);
});

test('SaveMemory never overwrites a file it did not write; a memory file only with overwrite', async () => {
  await refused(save('notes.txt'), status.ALREADY_EXISTS, 'path', /already exists/);
  await refused(save('notes.txt', true), status.ALREADY_EXISTS, 'path', /not a memory file/);
  assert.equal(readFileSync(join(memoryRoot, 'notes.txt'), 'utf8'), secret, 'the existing file is unchanged');
  const saved = await save('m.safetensors');
  assert.equal(saved.path, 'm.safetensors');
  assert.ok(saved.bytes > 0);
  await refused(save('m.safetensors'), status.ALREADY_EXISTS, 'path');
  assert.equal((await save(join(memoryRoot, 'm.safetensors'), true)).bytes, saved.bytes, 'a memory file is replaced with overwrite');
  assert.ok(!readFileSync(join(memoryRoot, 'm.safetensors')).includes('.tmp'));
  const loaded = await loadMemory('m.safetensors');
  assert.equal(loaded.memory!.memoryId, 'loaded');
});

test('file-system errors of SaveMemory and LoadMemory are clear codes naming path, never INTERNAL', async () => {
  // Missing folders of the path are made inside the root; a path below a file is refused.
  assert.equal((await save('new-folder/deeper/m.safetensors')).path, join('new-folder', 'deeper', 'm.safetensors'));
  await refused(save('m.safetensors/x.safetensors'), status.INVALID_ARGUMENT, 'path', /not a folder/);
  mkdirSync(join(memoryRoot, 'folder'), { recursive: true });
  await refused(save('folder', true), status.ALREADY_EXISTS, 'path', /folder/);
  await refused(save('a\u0000b.safetensors'), status.INVALID_ARGUMENT, 'path', /NUL/);
  await refused(save(`${'n'.repeat(300)}.safetensors`), status.INVALID_ARGUMENT, 'path', /too long/);
  await refused(loadMemory('missing.safetensors'), status.NOT_FOUND, 'path');
  await refused(loadMemory('folder'), status.INVALID_ARGUMENT, 'path', /folder/);
  await refused(loadMemory('a\u0000b'), status.INVALID_ARGUMENT, 'path');
  await refused(loadMemory(`${'n'.repeat(5000)}`), status.INVALID_ARGUMENT, 'path');
  await refused(loadMemory('/etc/shadow'), status.PERMISSION_DENIED, 'path');
  await refused(loadMemory('/proc/self/environ'), status.PERMISSION_DENIED, 'path');
});

test('LoadModel reads only inside the model root, regular files only, and never quotes the bytes', async () => {
  await refused(loadModel('/etc/passwd'), status.PERMISSION_DENIED, 'path', new RegExp(`outside the root ${modelRoot}`));
  await refused(loadModel('../outside/victim.txt'), status.PERMISSION_DENIED, 'path');
  await refused(loadModel('passwd-link'), status.PERMISSION_DENIED, 'path');
  await refused(loadModel('stories260K.bin', '/etc/passwd'), status.PERMISSION_DENIED, 'tokenizer_path');
  await refused(loadModel('garbage.bin'), status.INVALID_ARGUMENT, 'path', /^path: garbage\.bin: /);
  await refused(loadModel('hf-bad'), status.INVALID_ARGUMENT, 'path', /hf-bad\/config\.json: not valid JSON at byte offset 0: expected a JSON value/);
});

test('a FIFO is INVALID_ARGUMENT at once and the service stays healthy', async () => {
  const t0 = Date.now();
  await refused(loadModel('fifo.bin'), status.INVALID_ARGUMENT, 'path', /FIFO/);
  await refused(loadModel('stories260K.bin', 'fifo.bin'), status.INVALID_ARGUMENT, 'tokenizer_path', /FIFO/);
  await refused(loadMemory('fifo.safetensors'), status.INVALID_ARGUMENT, 'path', /FIFO/);
  await refused(save('fifo.safetensors', true), status.ALREADY_EXISTS, 'path', /FIFO/);
  await refused(loadMemory('/dev/zero'), status.PERMISSION_DENIED, 'path');
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  assert.equal(await checkHealth(host.address, '', 5_000), 'SERVING');
});

test('LoadMemory of a garbage file names the file and offset, not the garbage', async () => {
  const e = await refused(loadMemory('garbage.safetensors'), status.INVALID_ARGUMENT, 'path', /garbage\.safetensors/);
  assert.match(e.details, /offset 8/);
  assert.ok(!e.details.includes(memoryRoot), 'the host folder layout does not leak');
});

test('LoadCorpus paths resolve in the data root; FIFOs and garbage are clear errors', async () => {
  const request = (over: Partial<data.LoadCorpusRequest>) =>
    callUnary(
      dataClient,
      dataClient.loadCorpus,
      data.LoadCorpusRequest.fromPartial({ claimsPath: 'claims.jsonl', pagesPath: 'claims.jsonl', ...over }),
      30_000,
    );
  await refused(request({ claimsPath: '/etc/passwd' }), status.PERMISSION_DENIED, 'claims_path', new RegExp(`outside the root ${dataRoot}`));
  await refused(request({ pagesPath: '../outside/victim.txt' }), status.PERMISSION_DENIED, 'pages_path');
  await refused(request({ assignmentPath: victim }), status.PERMISSION_DENIED, 'assignment_path');
  await refused(request({ tokenizerPath: '/proc/self/environ' }), status.PERMISSION_DENIED, 'tokenizer_path');
  await refused(request({ claimsPath: 'fifo.jsonl' }), status.INVALID_ARGUMENT, 'claims_path', /FIFO/);
  await refused(request({ claimsPath: 'missing.jsonl' }), status.NOT_FOUND, 'claims_path');
  await refused(request({ strict: true }), status.INVALID_ARGUMENT, 'claims_path', /claims\.jsonl:1: invalid JSON at byte 0 of the line/);
  assert.equal(await checkHealth(dataService.address, '', 5_000), 'SERVING');
});

test('SIGTERM after all that ends both services within the grace period', async () => {
  const t0 = Date.now();
  const [a, b] = await Promise.all([host.stop(), dataService.stop()]);
  assert.equal(a, 0);
  assert.equal(b, 0);
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
});
