// Hostile-input suite (issue #9, part 4): every case of hostile-cases.ts against DataService, ModelHost, Trainer and
// Evaluator running as separate processes (roots in temp folders), and against the command line. A case passes when
// the answer has the expected code and names the expected field (the `memorize-field` trailer and the message), no
// answer quotes the planted secret, every call ends before its deadline, and afterwards the service still answers
// health SERVING and gives the same result to a known-good request as before the suite. The counts and the failing
// cases are printed to stderr at the end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { data, evaluator, modelHost, trainer } from '@memorize/contracts';
import { checkHealth, status } from '@memorize/service-kit';
import { feverFiles, runCli, startServiceProcess, storiesBin, storiesHf, storiesTok, type ServiceProcess } from '@memorize/testing';
import {
  absurdBinHeaders,
  absurdHfConfigs,
  hostileCases,
  type CliCase,
  type Fixture,
  type HostileCase,
  type RpcCase,
  type ServiceKey,
} from './hostile-cases.js';

const DEADLINE_MS = 10_000;
const CLI_TIMEOUT_MS = 15_000;
/** Messages read from a stream that is expected to succeed before it is cancelled. */
const STREAM_SAMPLE = 3;

// ---- Fixture: roots in a temp folder, planted files ----

const base = realpathSync(mkdtempSync(join(tmpdir(), 'memorize-hostile-')));
const marker = `HOSTILE-SECRET-${randomUUID()}`;
const secret = `{"id": "${marker}", "claim": "root:x:0:0:${marker}:/root:/bin/bash"}\n`;
const fx: Fixture = {
  base,
  modelRoot: join(base, 'models'),
  memoryRoot: join(base, 'memories'),
  dataRoot: join(base, 'data'),
  outside: join(base, 'outside'),
  marker,
  corpusId: '',
  plainCorpusId: '',
  documents: 0,
  modelId: 'hostile-base',
  memoryId: 'hostile-mem',
  vocab: 0,
  maxLength: 0,
};
const home = join(base, 'home');

function plantFiles(): void {
  const { modelRoot, memoryRoot, dataRoot, outside } = fx;
  for (const dir of [modelRoot, memoryRoot, dataRoot, outside, home]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), secret);
  writeFileSync(join(outside, 'victim.txt'), secret);
  writeFileSync(join(base, 'existing.txt'), secret);
  for (const root of [modelRoot, memoryRoot, dataRoot]) {
    mkdirSync(join(root, 'folder'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'link-out'));
    symlinkSync(outside, join(root, 'link-dir-out'));
  }
  // Model root: the small model (copied from ../shared into the temp root; a symlink out would be refused by design).
  copyFileSync(storiesBin, join(modelRoot, 'stories260K.bin'));
  copyFileSync(storiesTok, join(modelRoot, 'tok512.bin'));
  writeFileSync(join(modelRoot, 'secret.txt'), secret);
  writeFileSync(join(modelRoot, 'garbage.bin'), secret.repeat(64));
  mkdirSync(join(modelRoot, 'hf-secret'));
  writeFileSync(join(modelRoot, 'hf-secret', 'config.json'), `root:x:0:0:${marker}\n${secret}`);
  execFileSync('mkfifo', [join(modelRoot, 'fifo.bin')]);
  const hfBase = join(modelRoot, 'hf-base');
  mkdirSync(hfBase);
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) copyFileSync(join(storiesHf, file), join(hfBase, file));
  const config = JSON.parse(readFileSync(join(storiesHf, 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const [folder, over] of Object.entries(absurdHfConfigs)) {
    mkdirSync(join(modelRoot, folder));
    // JSON.stringify turns Infinity into null; write the literal 1e400 (which JSON.parse reads as Infinity).
    const text = JSON.stringify({ ...config, ...over }, null, 2).replace(/: null/g, ': 1e400');
    writeFileSync(join(modelRoot, folder, 'config.json'), text);
    symlinkSync('../hf-base/model.safetensors', join(modelRoot, folder, 'model.safetensors'));
    symlinkSync('../hf-base/tokenizer.json', join(modelRoot, folder, 'tokenizer.json'));
  }
  const bin = readFileSync(storiesBin);
  const offsets = { dim: 0, hidden_dim: 4, n_layers: 8, n_heads: 12, n_kv_heads: 16, vocab_size: 20, seq_len: 24 };
  for (const [file, header] of Object.entries(absurdBinHeaders)) {
    const copy = Buffer.from(bin);
    for (const [k, v] of Object.entries(header)) copy.writeInt32LE(v, offsets[k as keyof typeof offsets]);
    writeFileSync(join(modelRoot, file), copy);
  }
  // Memory root.
  writeFileSync(join(memoryRoot, 'notes.txt'), secret);
  const header = Buffer.from(`{"a": ${secret}}`);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(memoryRoot, 'secret.safetensors'), Buffer.concat([len, header]));
  execFileSync('mkfifo', [join(memoryRoot, 'fifo.safetensors')]);
  // Data root: the shared FEVER slice copied in (the root is a temp folder), secret garbage, a FIFO.
  copyFileSync(feverFiles.claims, join(dataRoot, 'claims.jsonl'));
  copyFileSync(feverFiles.pages, join(dataRoot, 'pages.jsonl'));
  copyFileSync(feverFiles.assignments, join(dataRoot, 'assignment.jsonl'));
  copyFileSync(storiesTok, join(dataRoot, 'tok512.bin'));
  writeFileSync(join(dataRoot, 'secret.jsonl'), secret.repeat(8));
  execFileSync('mkfifo', [join(dataRoot, 'fifo.jsonl')]);
}

// ---- Raw gRPC: encode with the generated codecs, append raw fields, never deserialize on the client path ----

interface Codec {
  encode(message: unknown): { finish(): Uint8Array };
  fromPartial(object: unknown): unknown;
  decode(bytes: Uint8Array): unknown;
}
interface MethodDef {
  path: string;
  responseStream: boolean;
}
const modules: Record<ServiceKey, unknown> = { data, modelHost, trainer, evaluator };
const definitions: Record<ServiceKey, Record<string, MethodDef>> = {
  data: data.DataServiceService as unknown as Record<string, MethodDef>,
  modelHost: modelHost.ModelHostService as unknown as Record<string, MethodDef>,
  trainer: trainer.TrainerService as unknown as Record<string, MethodDef>,
  evaluator: evaluator.EvaluatorService as unknown as Record<string, MethodDef>,
};
const processNames: Record<ServiceKey, string> = { data: 'data', modelHost: 'model-host', trainer: 'trainer', evaluator: 'evaluator' };

const pascal = (s: string): string => s[0].toUpperCase() + s.slice(1);
function codec(service: ServiceKey, name: string): Codec {
  const c = (modules[service] as Record<string, Codec>)[name];
  if (!c) throw new Error(`no message ${name} in the ${service} contracts`);
  return c;
}

function encodeRequest(service: ServiceKey, method: string, message: Record<string, unknown>, wire?: Uint8Array): Buffer {
  const Req = codec(service, `${pascal(method)}Request`);
  const bytes = Req.encode(Req.fromPartial(message)).finish();
  return wire ? Buffer.concat([bytes, wire]) : Buffer.from(bytes);
}

interface Outcome {
  code: number;
  details: string;
  trailer: string[];
  /** Response messages (one for a unary call). */
  responses: Buffer[];
  ms: number;
  /** A successful stream we cancelled after STREAM_SAMPLE messages. */
  sampled?: boolean;
}

const identity = (b: Buffer): Buffer => b;
const trailerOf = (metadata: Metadata | undefined): string[] => (metadata?.get('memorize-field') ?? []).map(String);

function call(client: Client, service: ServiceKey, method: string, body: Buffer, deadlineMs = DEADLINE_MS): Promise<Outcome> {
  const def = definitions[service][method];
  if (!def) throw new Error(`no method ${method} on ${service}`);
  const t0 = Date.now();
  const deadline = new Date(Date.now() + deadlineMs);
  return new Promise((resolve) => {
    if (!def.responseStream) {
      client.makeUnaryRequest(def.path, identity, identity, body, new Metadata(), { deadline }, (error: ServiceError | null, response?: Buffer) => {
        if (error)
          resolve({ code: error.code, details: error.details ?? '', trailer: trailerOf(error.metadata), responses: [], ms: Date.now() - t0 });
        else resolve({ code: status.OK, details: '', trailer: [], responses: [response!], ms: Date.now() - t0 });
      });
      return;
    }
    const responses: Buffer[] = [];
    let sampled = false;
    const stream = client.makeServerStreamRequest(def.path, identity, identity, body, new Metadata(), { deadline });
    stream.on('data', (m: Buffer) => {
      responses.push(m);
      if (responses.length >= STREAM_SAMPLE && !sampled) {
        sampled = true;
        stream.cancel();
      }
    });
    stream.on('error', () => {});
    stream.on('status', (s: StatusObject) => {
      const code = sampled && s.code === status.CANCELLED ? status.OK : s.code;
      resolve({ code, details: s.details ?? '', trailer: trailerOf(s.metadata), responses, ms: Date.now() - t0, sampled });
    });
  });
}

const callMessage = (client: Client, service: ServiceKey, method: string, message: Record<string, unknown>, deadlineMs = DEADLINE_MS) =>
  call(client, service, method, encodeRequest(service, method, message), deadlineMs);

function must(outcome: Outcome, what: string): Buffer {
  if (outcome.code !== status.OK) throw new Error(`${what}: ${status[outcome.code]} ${outcome.details}`);
  return outcome.responses[0];
}

// ---- The services: started once each, restarted (and set up again) only if a case broke one ----

interface Running {
  proc: ServiceProcess;
  client: Client;
  /** The known-good answer before the suite. */
  baseline: string;
  restarts: number;
}
const running = {} as Record<ServiceKey, Running>;
const envs: Record<ServiceKey, NodeJS.ProcessEnv> = {
  data: { MEMORIZE_HOME: home, MEMORIZE_DATA_DATA_ROOT: fx.dataRoot },
  modelHost: { MEMORIZE_HOME: home, MEMORIZE_MODEL_HOST_MODEL_ROOT: fx.modelRoot, MEMORIZE_MODEL_HOST_MEMORY_ROOT: fx.memoryRoot },
  trainer: { MEMORIZE_HOME: home },
  evaluator: { MEMORIZE_HOME: home },
};

const corpusRequest = (tokenized: boolean) => ({
  claimsPath: 'claims.jsonl',
  pagesPath: 'pages.jsonl',
  assignmentPath: 'assignment.jsonl',
  topN: 5,
  tokenizerPath: tokenized ? 'tok512.bin' : '',
});

/** Loads what the cases refer to (the corpora; the model, its memory and the memory file) and fills the fixture ids. */
async function setUp(key: ServiceKey, client: Client): Promise<void> {
  if (key === 'data') {
    const loaded = data.LoadCorpusResponse.decode(must(await callMessage(client, key, 'loadCorpus', corpusRequest(true), 60_000), 'LoadCorpus'));
    fx.corpusId = loaded.corpus!.corpusId;
    fx.documents = loaded.corpus!.stats!.pages;
    const plain = data.LoadCorpusResponse.decode(must(await callMessage(client, key, 'loadCorpus', corpusRequest(false), 60_000), 'LoadCorpus'));
    fx.plainCorpusId = plain.corpus!.corpusId;
  } else if (key === 'modelHost') {
    const loaded = modelHost.LoadModelResponse.decode(
      must(
        await callMessage(client, key, 'loadModel', { path: 'stories260K.bin', tokenizerPath: 'tok512.bin', modelId: fx.modelId }, 60_000),
        'LoadModel',
      ),
    );
    fx.vocab = loaded.model!.vocabSize;
    fx.maxLength = loaded.model!.maxLength;
    const config = { kind: 1, layer: 2, entries: 8, seed: 1 };
    must(await callMessage(client, key, 'createMemory', { modelId: fx.modelId, memoryId: fx.memoryId, config }, 30_000), 'CreateMemory');
    must(await callMessage(client, key, 'saveMemory', { memoryId: fx.memoryId, path: 'saved.safetensors', overwrite: true }, 30_000), 'SaveMemory');
    await restoreMemory(client);
  }
}

/** Puts the memory back to its saved weights (after a train step that should never have been accepted). */
async function restoreMemory(client: Client): Promise<void> {
  const request = { modelId: fx.modelId, path: 'saved.safetensors', memoryId: fx.memoryId, replace: true };
  must(await callMessage(client, 'modelHost', 'loadMemory', request, 30_000), 'LoadMemory');
}

/** The known-good request of each service, as a comparable string (code, message and response bytes). */
async function knownGood(key: ServiceKey, client: Client): Promise<string> {
  const show = (o: Outcome) => `${status[o.code]} ${o.details} ${o.responses.map((r) => r.toString('hex')).join(',')}`;
  if (key === 'data') return show(await callMessage(client, key, 'listDocuments', { corpusId: fx.corpusId, pageSize: 5 }));
  if (key === 'modelHost') {
    const items = [
      { context: [1, 403, 407, 261], continuation: [263, 318] },
      { context: [1], continuation: [403, 407] },
    ];
    const plain = await callMessage(client, key, 'score', { modelId: fx.modelId, items });
    const withMemory = await callMessage(client, key, 'score', { modelId: fx.modelId, items, memory: { memoryId: fx.memoryId } });
    return `${show(plain)} | ${show(withMemory)}`;
  }
  if (key === 'trainer') return show(await callMessage(client, key, 'listRuns', {}));
  return show(await callMessage(client, key, 'listEvaluations', {}));
}

async function start(key: ServiceKey): Promise<Running> {
  const proc = await startServiceProcess(processNames[key], envs[key]);
  const client = new Client(proc.address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  await setUp(key, client);
  return { proc, client, baseline: '', restarts: 0 };
}

async function kill(r: Running): Promise<void> {
  r.client.close();
  if (r.proc.child.exitCode === null && r.proc.child.signalCode === null) {
    const exited = new Promise((resolve) => r.proc.child.once('exit', resolve));
    r.proc.child.kill('SIGKILL');
    await exited;
  }
}

async function restart(key: ServiceKey): Promise<void> {
  const old = running[key];
  await kill(old);
  const fresh = await start(key);
  running[key] = { ...fresh, baseline: old.baseline, restarts: old.restarts + 1 };
}

async function health(key: ServiceKey): Promise<string> {
  const r = running[key];
  if (r.proc.child.exitCode !== null || r.proc.child.signalCode !== null) return `exited (${r.proc.child.exitCode ?? r.proc.child.signalCode})`;
  try {
    return await checkHealth(r.proc.address, '', 3_000);
  } catch (error) {
    return `no answer (${(error as Error).message})`;
  }
}

// ---- Running a case ----

type Verdict = 'clear' | 'ok' | 'wrong code' | 'field not named' | 'hang' | 'silent accept' | 'crash';

interface Result {
  index: number;
  label: string;
  group: string;
  verdict: Verdict;
  leak: boolean;
  /** Health not SERVING or the known-good request changed after the case. */
  poisoned: string;
  got: string;
  problems: string[];
}
const results: Result[] = [];

const camel = (snake: string): string => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const clip = (s: string, n = 300): string => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

function classifyRpc(c: RpcCase, o: Outcome): { verdict: Verdict; problems: string[] } {
  const problems: string[] = [];
  const expected = status[c.code];
  if (o.code === status.DEADLINE_EXCEEDED) return { verdict: 'hang', problems: [`no answer within ${DEADLINE_MS} ms (expected ${expected})`] };
  if (c.code === status.OK) {
    if (o.code === status.OK) return { verdict: 'ok', problems };
    return { verdict: 'wrong code', problems: [`expected OK, got ${status[o.code]}`] };
  }
  if (o.code === status.OK) return { verdict: 'silent accept', problems: [`expected ${expected}, got OK`] };
  if (o.code !== c.code) return { verdict: 'wrong code', problems: [`expected ${expected}, got ${status[o.code]}`] };
  const fields = c.field ?? [];
  const trailer = o.trailer[0];
  if (o.trailer.length !== 1 || !fields.includes(trailer))
    problems.push(`memorize-field trailer ${JSON.stringify(o.trailer)}, expected ${fields.join(' or ')}`);
  const named = fields.find((f) => o.details.includes(f));
  if (!named) problems.push(`message does not name ${fields.join(' or ')}`);
  for (const word of c.mentions ?? []) if (!o.details.includes(word)) problems.push(`message does not mention ${word}`);
  for (const f of fields)
    for (const part of f.split(/[.[\]]/))
      if (part && camel(part) !== part && new RegExp(`\\b${camel(part)}\\b`).test(o.details))
        problems.push(`message names the internal field ${camel(part)}`);
  return { verdict: problems.length ? 'field not named' : 'clear', problems };
}

/** Undoes what an accepted request left behind (so later cases see the same service). */
async function cleanUp(c: RpcCase, request: Record<string, unknown>, o: Outcome): Promise<void> {
  if (o.code !== status.OK) return;
  const client = running[c.service].client;
  if (c.method === 'loadModel') {
    const id = modelHost.LoadModelResponse.decode(o.responses[0]).model?.modelId;
    if (id && id !== fx.modelId) await callMessage(client, 'modelHost', 'unloadModel', { modelId: id });
  } else if (c.method === 'createMemory' || (c.method === 'loadMemory' && request.memoryId !== fx.memoryId)) {
    await callMessage(client, 'modelHost', 'deleteMemory', { memoryId: request.memoryId });
  } else if (c.method === 'startRun') await callMessage(client, 'trainer', 'cancelRun', { runId: request.runId });
  else if (c.method === 'startEvaluation') await callMessage(client, 'evaluator', 'cancelEvaluation', { evaluationId: request.evaluationId });
  else if (c.method === 'startSweep') await callMessage(client, 'evaluator', 'cancelSweep', { sweepId: request.sweepId });
}

/** Health and the known-good request after a case; repairs (restores the memory, or restarts) so later cases start clean. */
async function afterCase(key: ServiceKey): Promise<string> {
  const problems: string[] = [];
  const state = await health(key);
  if (state !== 'SERVING') problems.push(`health after the case: ${state}`);
  else {
    let good = await knownGood(key, running[key].client);
    if (good !== running[key].baseline && key === 'modelHost') {
      problems.push('the known-good Score changed after the case');
      await restoreMemory(running[key].client).catch(() => {});
      good = await knownGood(key, running[key].client);
    } else if (good !== running[key].baseline) problems.push(`the known-good request changed: ${clip(good, 200)}`);
    if (good === running[key].baseline) return problems.join('; ');
  }
  await restart(key);
  problems.push('restarted');
  return problems.join('; ');
}

async function runRpc(c: RpcCase): Promise<Omit<Result, 'index' | 'label'>> {
  const group = `${c.service}.${c.method}`;
  const request = c.request(fx);
  const o = await call(running[c.service].client, c.service, c.method, encodeRequest(c.service, c.method, request, c.wire));
  const crashed = running[c.service].proc.child.exitCode !== null || running[c.service].proc.child.signalCode !== null;
  let { verdict, problems } = classifyRpc(c, o);
  if (crashed) {
    verdict = 'crash';
    problems = [`the service exited during the case`, ...problems];
  }
  const got =
    o.code === status.OK
      ? `OK (${o.responses.length} message${o.responses.length === 1 ? '' : 's'}${o.sampled ? ', stream cancelled after the sample' : ''}, ${o.ms} ms)`
      : `${status[o.code]} ${JSON.stringify(clip(o.details))} trailer ${JSON.stringify(o.trailer)} (${o.ms} ms)`;
  const leak = o.details.includes(marker) || o.trailer.some((t) => t.includes(marker)) || o.responses.some((r) => r.includes(marker));
  if (leak) problems.push('the answer contains the planted secret');
  if (!crashed) await cleanUp(c, request, o).catch(() => {});
  const poisoned = await afterCase(c.service);
  if (poisoned) problems.push(poisoned);
  return { group, verdict, leak, poisoned, got, problems };
}

function runCliCase(c: CliCase): Omit<Result, 'index' | 'label'> {
  const t0 = Date.now();
  const r = runCli(c.args(fx), CLI_TIMEOUT_MS);
  const ms = Date.now() - t0;
  const stderr = r.stderr ?? '';
  const stdout = r.stdout ?? '';
  const problems: string[] = [];
  let verdict: Verdict;
  if (r.code === null) {
    verdict = 'hang';
    problems.push(`still running after ${CLI_TIMEOUT_MS} ms`);
  } else if (r.code === 0) {
    verdict = 'silent accept';
    problems.push('exit 0, expected 2');
  } else if (r.code !== 2) {
    verdict = 'wrong code';
    problems.push(`exit ${r.code}, expected 2`);
  } else {
    for (const name of c.names) if (!stderr.includes(name)) problems.push(`stderr does not name ${name}`);
    if (stdout !== '') problems.push('stdout is not empty');
    verdict = problems.length ? 'field not named' : 'clear';
  }
  const leak = stdout.includes(marker) || stderr.includes(marker);
  if (leak) problems.push('the output contains the planted secret');
  const lastLine =
    stderr
      .trim()
      .split('\n')
      .filter((l) => !l.includes('already registered'))
      .pop() ?? '';
  const got = `exit ${r.code ?? 'timeout'} stderr ${JSON.stringify(clip(lastLine))}${stdout ? ` stdout ${JSON.stringify(clip(stdout, 100))}` : ''} (${ms} ms)`;
  return { group: 'cli', verdict, leak, poisoned: '', got, problems };
}

// ---- The suite ----

let outsideBefore: string[] = [];

before(async () => {
  plantFiles();
  outsideBefore = readdirSync(fx.outside).sort();
  const keys: ServiceKey[] = ['data', 'modelHost', 'trainer', 'evaluator'];
  const started = await Promise.all(keys.map((k) => start(k)));
  keys.forEach((k, i) => (running[k] = started[i]));
  for (const k of keys) running[k].baseline = await knownGood(k, running[k].client);
});

after(async () => {
  printSummary();
  if (process.env.MEMORIZE_HOSTILE_REPORT) writeFileSync(process.env.MEMORIZE_HOSTILE_REPORT, JSON.stringify(results, null, 2));
  await Promise.all(Object.values(running).map((r) => kill(r)));
  rmSync(base, { recursive: true, force: true });
});

const label = (c: HostileCase): string => (c.kind === 'cli' ? `cli: ${c.name}` : `${c.service}.${c.method}: ${c.name}`);

// MEMORIZE_HOSTILE_ONLY=<regex> runs only the matching cases (while fixing one group); MEMORIZE_HOSTILE_REPORT=<file>
// writes every result as JSON there.
const only = process.env.MEMORIZE_HOSTILE_ONLY ? new RegExp(process.env.MEMORIZE_HOSTILE_ONLY) : undefined;

hostileCases.forEach((c, index) => {
  test(`#${index + 1} ${label(c)}`, { skip: only !== undefined && !only.test(label(c)) }, async () => {
    const r = c.kind === 'cli' ? runCliCase(c) : await runRpc(c);
    results.push({ index: index + 1, label: label(c), ...r });
    const expected =
      c.kind === 'cli' ? `exit 2 naming ${c.names.join(', ')}` : `${status[c.code]}${c.field ? ` naming ${c.field.join(' or ')}` : ''}`;
    if (r.problems.length) assert.fail(`expected ${expected}; got ${r.got}: ${r.problems.join('; ')}`);
  });
});

test('nothing outside the roots was written or changed, and no planted file was replaced', () => {
  assert.deepEqual(readdirSync(fx.outside).sort(), outsideBefore);
  assert.equal(readFileSync(join(fx.outside, 'victim.txt'), 'utf8'), secret);
  assert.equal(readFileSync(join(fx.memoryRoot, 'notes.txt'), 'utf8'), secret);
  assert.equal(readFileSync(join(base, 'existing.txt'), 'utf8'), secret);
  for (const stray of readdirSync(base)) assert.ok(!stray.endsWith('.safetensors'), `${stray} was written in ${base}`);
});

test('SIGTERM after the suite ends every service within its grace period', async () => {
  const t0 = Date.now();
  const codes = await Promise.all(
    Object.entries(running).map(async ([key, r]) => {
      r.client.close();
      return [key, await r.proc.stop()] as const;
    }),
  );
  assert.deepEqual(Object.fromEntries(codes), { data: 0, modelHost: 0, trainer: 0, evaluator: 0 });
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
});

function printSummary(): void {
  const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  const failing = results.filter((r) => r.problems.length > 0);
  const perService = new Map<string, number>();
  for (const c of hostileCases) {
    const k = c.kind === 'cli' ? 'cli' : c.service;
    perService.set(k, (perService.get(k) ?? 0) + 1);
  }
  const lines = [
    '',
    `hostile-input suite: ${results.length} cases run of ${hostileCases.length} (${[...perService].map(([k, n]) => `${k} ${n}`).join(', ')})`,
    `  clear errors (expected code + field named): ${count('clear')}`,
    `  valid requests answered OK:                 ${count('ok')}`,
    `  wrong codes:                                ${count('wrong code')}`,
    `  right code, field not named:                ${count('field not named')}`,
    `  hangs:                                      ${count('hang')}`,
    `  silent accepts:                             ${count('silent accept')}`,
    `  crashes:                                    ${count('crash')}`,
    `  leaks of the planted secret:                ${results.filter((r) => r.leak).length}`,
    `  service unhealthy or changed afterwards:    ${results.filter((r) => r.poisoned).length}`,
    `  restarts: ${Object.entries(running)
      .map(([k, r]) => `${k} ${r.restarts}`)
      .join(', ')}`,
    `failing cases (${failing.length}):`,
    ...failing.map((r) => `  #${r.index} [${r.verdict}${r.leak ? ', leak' : ''}] ${r.label}: ${r.got} — ${r.problems.join('; ')}`),
    '',
  ];
  process.stderr.write(lines.join('\n'));
}
