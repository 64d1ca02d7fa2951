/**
 * `memorize eval`, `memorize sweep`, `memorize report`, `evals` and `sweeps` against a real stack (the four
 * services as processes, started by `memorize stack up`): a 1-shot loglik evaluation of stories260K with its
 * predictions file, the example sweep (2 layers x {pretrained, memory, simset-2 token}) with its report files,
 * the same report.json again from `memorize report`, the default evaluator address from the stack, and bad configs
 * refused before anything starts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { feverFiles, freePort, repoRoot, runCli as memorize, sharedDir, storiesHf } from '@memorize/testing';
import { startLocalStack, type LocalStack } from './local-stack.js';

let stack: LocalStack;
const evaluatorFlag = (): string[] => ['--evaluator', stack.evaluatorAddress];

const smallEval = (rel: (p: string) => string, evalSection = 'shots: 1, scoring: loglik, limit: 12, batch_size: 4') => `
corpus: {claims: ${rel(feverFiles.claims)}, pages: ${rel(feverFiles.pages)}, assignment: ${rel(feverFiles.assignments)}, top: 3}
model: {path: ${rel(storiesHf)}}
eval: {${evalSection}}
`;

interface EvalSummary {
  evaluation_id: string;
  state: string;
  scoring: string;
  n: number;
  accuracy: number;
  ci_low: number;
  ci_high: number;
  f1_micro: number;
  f1_macro: number;
  invalid_rate: number;
  per_label: Array<{ label: string; precision: number; recall: number; f1: number; support: number }>;
  confusion: number[][];
  claims_per_s: number;
  memory_path: string | null;
}

const ids = (what: 'evals' | 'sweeps'): string[] => {
  const list = memorize([what, 'list', '--json', ...evaluatorFlag()]);
  assert.equal(list.code, 0, list.stderr);
  return (JSON.parse(list.stdout) as Array<{ evaluation_id?: string; sweep_id?: string }>).map((e) => e.evaluation_id ?? e.sweep_id!);
};

before(async () => {
  stack = await startLocalStack('eval');
});

after(() => stack?.down());

test('eval --json --predictions: one report object (metrics consistent with the predictions file); evals list/show find it', () => {
  const file = stack.config('eval.yaml', (rel) => smallEval(rel));
  const predictions = join(stack.dir, 'out', 'predictions.jsonl');
  const run = memorize(['eval', '--config', file, '--json', '--predictions', predictions, ...evaluatorFlag()]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim().split('\n').length, 1, 'stdout is one JSON object');
  const s = JSON.parse(run.stdout) as EvalSummary;
  assert.equal(s.state, 'succeeded');
  assert.equal(s.scoring, 'loglik');
  assert.equal(s.n, 12);
  assert.ok(s.ci_low <= s.accuracy && s.accuracy <= s.ci_high, `${s.ci_low} <= ${s.accuracy} <= ${s.ci_high}`);
  assert.deepEqual(
    s.per_label.map((l) => l.label),
    ['SUPPORTS', 'REFUTES', 'NOT ENOUGH INFO'],
  );
  assert.equal(
    s.confusion.flat().reduce((a, b) => a + b, 0),
    12,
  );
  assert.ok(s.claims_per_s > 0);
  assert.equal(s.memory_path, null);
  // Progress went to stderr as plain lines.
  assert.match(run.stderr, new RegExp(`evaluation ${s.evaluation_id}: 12/12 claims`));
  assert.match(run.stderr, /succeeded/);

  const lines = readFileSync(predictions, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 12);
  for (const p of lines) {
    assert.deepEqual(Object.keys(p), ['claim_id', 'gold', 'predicted', 'logprobs']);
    assert.equal((p.logprobs as number[]).length, 3);
  }
  const correct = lines.filter((p) => p.gold === p.predicted).length;
  assert.ok(Math.abs(s.accuracy - correct / 12) < 1e-12, 'accuracy agrees with the predictions file');

  assert.ok(ids('evals').includes(s.evaluation_id), 'evals list has it');
  const show = memorize(['evals', 'show', s.evaluation_id, '--json', ...evaluatorFlag()]);
  assert.equal(show.code, 0, show.stderr);
  const shown = JSON.parse(show.stdout) as EvalSummary & { record: { evaluationId: string; report: { predictions: unknown[] } } };
  assert.equal(shown.accuracy, s.accuracy);
  assert.equal(shown.record.report.predictions.length, 12);
  const text = memorize(['evals', 'show', s.evaluation_id, ...evaluatorFlag()]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^evaluation ${s.evaluation_id} succeeded: 12 claims, loglik 1-shot`));
  assert.match(text.stdout, /accuracy +\d\.\d{4} +\(95% CI \d\.\d{4}\.\.\d\.\d{4}\)/);
  assert.match(text.stdout, /confusion \(rows: gold, columns: predicted\)/);
});

test('sweep --config configs/sweep.example.yaml --out DIR --json completes and writes the report; report SWEEP_ID writes the same report.json', () => {
  const out = join(stack.dir, 'report-a');
  const run = memorize(['sweep', '--config', join(repoRoot, 'configs', 'sweep.example.yaml'), '--out', out, '--json', ...evaluatorFlag()], 300_000);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim().split('\n').length, 1, 'stdout is one JSON object');
  const s = JSON.parse(run.stdout) as {
    sweep_id: string;
    state: string;
    cells_done: number;
    cells: Array<{ variant: string; layer: number; accuracy: number; n: number; memorization_error: number | null; p_holm: number }>;
    table_markdown: string;
    significance: string;
    files: string[];
  };
  assert.equal(s.state, 'succeeded');
  assert.equal(s.cells_done, 5);
  assert.deepEqual(
    s.cells.map((c) => [c.variant, c.layer]),
    [
      ['pretrained', -1],
      ['memory', 1],
      ['memory', 3],
      ['simset-2 token', 1],
      ['simset-2 token', 3],
    ],
  );
  for (const c of s.cells) assert.equal(c.n, 30);
  for (const c of s.cells.filter((c) => c.layer >= 0)) assert.ok(c.memorization_error! > 0, `${c.variant} L${c.layer} measured`);
  assert.match(s.table_markdown, /simset-2 token L3/);
  assert.match(s.significance, /McNemar/);
  for (const name of ['report.md', 'report.json', 'report.html']) assert.ok(existsSync(join(out, name)), name);
  assert.equal(s.files.filter((f) => f.includes('predictions')).length, 5);
  assert.match(run.stderr, new RegExp(`sweep ${s.sweep_id}: cell simset-2 token L3 succeeded: accuracy`));
  const reportJson = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { sweep_id: string; cells: unknown[] };
  assert.equal(reportJson.sweep_id, s.sweep_id);
  assert.deepEqual(reportJson.cells, s.cells, '--json carries report.json cells');

  const out2 = join(stack.dir, 'report-b');
  const report = memorize(['report', s.sweep_id, '--out', out2, ...evaluatorFlag()]);
  assert.equal(report.code, 0, report.stderr);
  assert.ok(report.stdout.includes(join(out2, 'report.md')), report.stdout);
  assert.equal(readFileSync(join(out2, 'report.json'), 'utf8'), readFileSync(join(out, 'report.json'), 'utf8'));
  assert.ok(existsSync(join(out2, 'report.html')));

  assert.ok(ids('sweeps').includes(s.sweep_id));
  const show = memorize(['sweeps', 'show', s.sweep_id, ...evaluatorFlag()]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`^sweep ${s.sweep_id} succeeded: 5 cells`));
  assert.ok(show.stdout.includes(s.table_markdown.trim()), 'show prints the table');
});

test("without --evaluator the local stack's evaluator is used (as train finds the trainer)", () => {
  const saved = process.env.MEMORIZE_HOME;
  process.env.MEMORIZE_HOME = stack.dir;
  try {
    const list = memorize(['sweeps', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^SWEEP +STATE +CELLS/);
  } finally {
    if (saved === undefined) delete process.env.MEMORIZE_HOME;
    else process.env.MEMORIZE_HOME = saved;
  }
});

test('bad configs exit 2 naming the file and key, and start nothing', () => {
  const evalsBefore = ids('evals');
  const sweepsBefore = ids('sweeps');
  const unknown = stack.config('unknown.yaml', (rel) => smallEval(rel, 'shot: 1'));
  const a = memorize(['eval', '--config', unknown, '--json', ...evaluatorFlag()]);
  assert.equal(a.code, 2, a.stderr);
  assert.equal(a.stdout, '');
  assert.equal(a.stderr, `memorize: ${unknown}: unknown key "eval.shot"\n`);

  const scoring = stack.config('scoring.yaml', (rel) => smallEval(rel, 'scoring: argmax'));
  const b = memorize(['eval', '--config', scoring, ...evaluatorFlag()]);
  assert.equal(b.code, 2, b.stderr);
  assert.equal(b.stderr, `memorize: ${scoring}: eval.scoring must be one of loglik, generate, got "argmax"\n`);

  // The example sweep in the test's folder (its paths to ../shared made relative to there), one key broken.
  const example = readFileSync(join(repoRoot, 'configs', 'sweep.example.yaml'), 'utf8');
  const sweepFile = (name: string, from: string, to: string): string =>
    stack.config(name, (rel) => example.replaceAll('../../shared', rel(sharedDir)).replace(from, to));
  const kind = sweepFile('kind.yaml', '{ name: memory, memory: { entries: 64 } }', '{ name: memory, memory: { kind: mlp } }');
  const c = memorize(['sweep', '--config', kind, '--out', join(stack.dir, 'never'), ...evaluatorFlag()]);
  assert.equal(c.code, 2, c.stderr);
  assert.equal(c.stdout, '');
  assert.equal(c.stderr, `memorize: ${kind}: variants[1].memory.kind must be one of memory, dlp, simset, random, doc-key, got "mlp"\n`);
  const memory = sweepFile('memory.yaml', 'layers: [1, 3]', 'layers: [1, 3]\nmemory: { kind: memory }');
  const d = memorize(['sweep', '--config', memory, '--out', join(stack.dir, 'never'), ...evaluatorFlag()]);
  assert.equal(d.code, 2, d.stderr);
  assert.match(d.stderr, /memory\.yaml: unknown key "memory" \(a sweep trains one memory per variant and layer/);
  const noOut = memorize(['sweep', '--config', join(repoRoot, 'configs', 'sweep.example.yaml'), ...evaluatorFlag()]);
  assert.equal(noOut.code, 2);
  assert.equal(noOut.stderr, "memorize: --out is required: the folder for the sweep's report (or --detach)\n");
  const missing = memorize(['sweep', '--config', join(stack.dir, 'nope.yaml'), '--out', join(stack.dir, 'never')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^memorize: --config: .*nope\.yaml: no such file\n$/);
  assert.ok(!existsSync(join(stack.dir, 'never')), 'no report folder');
  assert.deepEqual(ids('evals'), evalsBefore, 'no evaluation was started');
  assert.deepEqual(ids('sweeps'), sweepsBefore, 'no sweep was started');
});

test("the evaluator's refusals name the config key; unknown ids and an unreachable evaluator are one-line errors", async () => {
  const noModel = stack.config('nomodel.yaml', (rel) => smallEval(rel).replace(rel(storiesHf), rel(join(storiesHf, 'no-such-model'))));
  const r = memorize(['eval', '--config', noModel, '--json', ...evaluatorFlag()]);
  assert.notEqual(r.code, 0);
  // Refused by StartEvaluation (exit 2) or failed while loading (exit 1): either way the key is named.
  assert.match(r.stderr, /nomodel\.yaml.*model\.path|model\.path.*nomodel\.yaml/);
  const unknown = memorize(['sweeps', 'show', 'no-such-sweep', ...evaluatorFlag()]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^memorize: .*no-such-sweep/);
  const port = await freePort();
  const down = memorize(['evals', 'list', '--evaluator', `127.0.0.1:${port}`]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, new RegExp(`^memorize: the evaluator at 127\\.0\\.0\\.1:${port} does not answer`));
});

test('sweep --detach prints {"sweep_id"} at once; sweeps cancel stops it (its runs cancelled); sweeps show says so', () => {
  const started = memorize(['sweep', '--config', join(repoRoot, 'configs', 'sweep.example.yaml'), '--detach', ...evaluatorFlag()]);
  assert.equal(started.code, 0, started.stderr);
  const { sweep_id, ...rest } = JSON.parse(started.stdout) as { sweep_id: string };
  assert.match(sweep_id, /\S/);
  assert.deepEqual(rest, {});
  const cancel = memorize(['sweeps', 'cancel', sweep_id, '--json', ...evaluatorFlag()]);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.equal((JSON.parse(cancel.stdout) as { state: string }).state, 'cancelled');
  const show = memorize(['sweeps', 'show', sweep_id, '--json', ...evaluatorFlag()]);
  assert.equal(show.code, 0, show.stderr);
  assert.equal((JSON.parse(show.stdout) as { state: string }).state, 'cancelled');
});
