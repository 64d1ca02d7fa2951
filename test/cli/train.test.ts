/**
 * `memorize train` and `memorize runs` against a real stack (the four services as processes, started by
 * `memorize stack up`): a small memorization run of stories260K on FEVER pages, its summary, the run store
 * through `runs list|show|wait|cancel`, --detach, Ctrl-C while following, and bad configs refused before any run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cliEntry, feverFiles, freePort, repoRoot, runCli as memorize, storiesHf } from '@memorize/testing';
import { startLocalStack, type LocalStack } from './local-stack.js';

let stack: LocalStack;

interface Summary {
  run_id: string;
  state: string;
  steps: number;
  final_loss: number | null;
  document_nll_before: number | null;
  document_nll_after: number | null;
  locality_nll_before: number | null;
  locality_nll_after: number | null;
  tokens_per_s: number | null;
  memory_path: string | null;
}
const summaryKeys = [
  'run_id',
  'state',
  'steps',
  'final_loss',
  'document_nll_before',
  'document_nll_after',
  'locality_nll_before',
  'locality_nll_after',
  'tokens_per_s',
  'memory_path',
];

const small = (
  rel: (p: string) => string,
  train = 'max_steps: 20, batch_size: 4, lr: 1.0e-2, warmup_steps: 2, eval_every: 10, checkpoint_every: 10',
) => `
corpus: {claims: ${rel(feverFiles.claims)}, pages: ${rel(feverFiles.pages)}, assignment: ${rel(feverFiles.assignments)}, top: 3}
model: {path: ${rel(storiesHf)}}
memory: {kind: memory, layer: 3, entries: 64}
train: {${train}, max_length: 128}
locality: {pages: 2}
`;

const trainer = (): string[] => ['--trainer', stack.trainerAddress];
const runIds = (): string[] => {
  const list = memorize(['runs', 'list', '--json', ...trainer()]);
  assert.equal(list.code, 0, list.stderr);
  return (JSON.parse(list.stdout) as Summary[]).map((r) => r.run_id);
};

before(async () => {
  stack = await startLocalStack('train');
});

after(() => stack?.down());

test('train --json memorizes 3 FEVER pages into stories260K: one summary object, document NLL lowered; runs list and show find the run', () => {
  const file = stack.config('small.yaml', (rel) => small(rel));
  const run = memorize(['train', '--config', file, '--json', ...trainer()]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim().split('\n').length, 1, 'stdout is one JSON object');
  const s = JSON.parse(run.stdout) as Summary;
  assert.deepEqual(Object.keys(s), summaryKeys);
  assert.equal(s.state, 'succeeded');
  assert.equal(s.steps, 20);
  assert.ok(s.final_loss !== null && Number.isFinite(s.final_loss));
  assert.ok(s.document_nll_before !== null && s.document_nll_after !== null);
  assert.ok(s.document_nll_after < s.document_nll_before, `document NLL ${s.document_nll_before} -> ${s.document_nll_after}`);
  assert.ok(s.locality_nll_before !== null && s.locality_nll_after !== null, 'the locality figures are reported');
  assert.ok(s.tokens_per_s !== null && s.tokens_per_s > 0);
  assert.ok(s.memory_path?.endsWith('.safetensors'), String(s.memory_path));
  // Progress and messages went to stderr: plain lines (stderr is not a terminal), the last step among them.
  assert.match(run.stderr, new RegExp(`run ${s.run_id}: 20/20 steps .*loss \\d`));
  assert.match(run.stderr, /succeeded/);

  const list = memorize(['runs', 'list', '--json', ...trainer()]);
  assert.equal(list.code, 0, list.stderr);
  const listed = (JSON.parse(list.stdout) as Array<Summary & { total_steps: number }>).find((r) => r.run_id === s.run_id);
  assert.ok(listed, 'runs list has the run');
  assert.equal(listed.state, 'succeeded');
  assert.equal(listed.steps, 20);
  assert.equal(listed.document_nll_before, s.document_nll_before);

  const show = memorize(['runs', 'show', s.run_id, '--json', ...trainer()]);
  assert.equal(show.code, 0, show.stderr);
  const shown = JSON.parse(show.stdout) as Summary & {
    record: { runId: string; steps: unknown[]; measures: Array<{ step?: string }>; spec: { topN: number } };
  };
  assert.deepEqual(
    summaryKeys.map((k) => shown[k as keyof Summary]),
    summaryKeys.map((k) => s[k as keyof Summary]),
    'show carries the same summary as train',
  );
  assert.equal(shown.record.runId, s.run_id);
  assert.equal(shown.record.steps.length, 20);
  assert.equal(shown.record.spec.topN, 3);
  assert.ok(shown.record.measures.length >= 2, 'the base model and at least one measure with the memory');
  const text = memorize(['runs', 'show', s.run_id, ...trainer()]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^run ${s.run_id} succeeded: 20 steps`));
  assert.match(text.stdout, /document NLL +\d+\.\d+ -> \d+\.\d+/);
  assert.match(text.stdout, /measures +step +document NLL +locality NLL/);
});

test('--detach prints {"run_id"} at once; runs wait follows it and prints the same summary', () => {
  const file = stack.config('detach.yaml', (rel) => small(rel));
  const detached = memorize(['train', '--config', file, '--detach', ...trainer()]);
  assert.equal(detached.code, 0, detached.stderr);
  const { run_id, ...rest } = JSON.parse(detached.stdout) as { run_id: string };
  assert.match(run_id, /\S/);
  assert.deepEqual(rest, {});
  const wait = memorize(['runs', 'wait', run_id, '--json', ...trainer()]);
  assert.equal(wait.code, 0, wait.stderr);
  const s = JSON.parse(wait.stdout) as Summary;
  assert.deepEqual(Object.keys(s), summaryKeys);
  assert.equal(s.run_id, run_id);
  assert.equal(s.state, 'succeeded');
  assert.equal(s.steps, 20);
  assert.ok(s.document_nll_after! < s.document_nll_before!);
  const text = memorize(['runs', 'wait', run_id, ...trainer()]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^run ${run_id} succeeded: 20 steps, final loss \\d`));
});

test('Ctrl-C while following leaves the run running and says how to reattach; runs cancel stops it; wait then exits 1', async () => {
  const file = stack.config('long.yaml', (rel) =>
    small(rel, 'max_steps: 100000, batch_size: 4, lr: 1.0e-3, eval_every: 100000, checkpoint_every: 100000'),
  );
  const child = spawn(process.execPath, [cliEntry, 'train', '--config', file, '--json', ...trainer()], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Wait until the run is training (a state line naming it has been printed), then interrupt.
  const runId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no run started:\n${stderr}`)), 60_000);
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /run (\S+): running/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, new RegExp(`stopped following run ${runId}; it keeps running on the trainer\\. Reattach with: memorize runs wait ${runId}`));
  assert.equal(stdout, '', 'no summary for a run still going');

  const show = memorize(['runs', 'show', runId, '--json', ...trainer()]);
  assert.equal(show.code, 0, show.stderr);
  assert.ok(['queued', 'running'].includes((JSON.parse(show.stdout) as Summary).state), 'the run is still going');

  const cancel = memorize(['runs', 'cancel', runId, '--json', ...trainer()]);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.equal((JSON.parse(cancel.stdout) as Summary).run_id, runId);
  const wait = memorize(['runs', 'wait', runId, '--json', ...trainer()]);
  assert.equal(wait.code, 1, 'a cancelled run is not a success');
  assert.equal((JSON.parse(wait.stdout) as Summary).state, 'cancelled');
  assert.match(wait.stderr, new RegExp(`memorize: run ${runId} cancelled`));
});

test('bad configs exit 2 naming the file and key, and start no run', () => {
  const before = runIds();
  const unknown = stack.config('unknown.yaml', (rel) => small(rel).replace('lr: 1.0e-2', 'lerning_rate: 1.0e-2'));
  const a = memorize(['train', '--config', unknown, '--json', ...trainer()]);
  assert.equal(a.code, 2, a.stderr);
  assert.equal(a.stdout, '');
  assert.equal(a.stderr, `memorize: ${unknown}: unknown key "train.lerning_rate"\n`);

  const epochs = stack.config('epochs.yaml', (rel) => small(rel, 'epochs: 0'));
  const b = memorize(['train', '--config', epochs, ...trainer()]);
  assert.equal(b.code, 2, b.stderr);
  assert.equal(b.stdout, '');
  assert.equal(b.stderr, `memorize: ${epochs}: train.epochs must be an integer >= 1, got 0\n`);

  const lr = stack.config('lr.yaml', (rel) => small(rel).replace('lr: 1.0e-2', 'lr: -1'));
  const c = memorize(['train', '--config', lr, '--detach', ...trainer()]);
  assert.equal(c.code, 2, c.stderr);
  assert.match(c.stderr, /lr\.yaml: train\.lr must be a number in \(0, 10\], got -1/);

  const kind = stack.config('kind.yaml', (rel) => small(rel).replace('kind: memory', 'kind: mlp'));
  const d = memorize(['train', '--config', kind, ...trainer()]);
  assert.equal(d.code, 2, d.stderr);
  assert.match(d.stderr, /kind\.yaml: memory\.kind must be one of memory, dlp, simset, random, doc-key, got "mlp"/);

  const missing = memorize(['train', '--config', join(stack.dir, 'configs', 'nope.yaml'), ...trainer()]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^memorize: --config: .*nope\.yaml: no such file\n$/);
  assert.deepEqual(runIds(), before, 'no run was started');
});

test("the trainer's refusals name the config key: a layer the model does not have fails the run, exit 1", () => {
  const layer = stack.config('layer.yaml', (rel) => small(rel).replace('layer: 3', 'layer: 7'));
  const r = memorize(['train', '--config', layer, '--json', ...trainer()]);
  assert.notEqual(r.code, 0);
  if (r.code === 1) {
    // Marked failed with the reason (the run record says why), the key named after it.
    assert.equal((JSON.parse(r.stdout) as Summary).state, 'failed');
    assert.match(r.stderr, /failed: .*layer.*\(the model has 5 layers\).*\(.*layer\.yaml: memory\.layer\)\n$/);
  } else {
    // Or refused by StartRun: bad input, exit 2, naming the key.
    assert.equal(r.code, 2);
    assert.match(r.stderr, /layer\.yaml: memory\.layer/);
  }
});

test('runs show/wait/cancel of an unknown run and an unreachable trainer are one-line errors', async () => {
  const unknown = memorize(['runs', 'show', 'no-such-run', ...trainer()]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^memorize: .*no-such-run/);
  const port = await freePort();
  const down = memorize(['runs', 'list', '--trainer', `127.0.0.1:${port}`]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, new RegExp(`^memorize: the trainer at 127\\.0\\.0\\.1:${port} does not answer`));
  const bad = memorize(['runs', 'list', '--trainer', 'nowhere']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--trainer must be host:port, got "nowhere"/);
});
