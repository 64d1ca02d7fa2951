import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { evaluator } from '@memorize/contracts';
import {
  predictionFileNames,
  predictionLine,
  resultsTable,
  sweepPlots,
  sweepSignificance,
  writeSweepReport,
  type ReportJson,
} from '@memorize/report';
import puppeteer, { type Browser } from 'puppeteer-core';
import { CLAIMS, makeFixture } from './fixture.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const KEYS = [
  'variant',
  'layer',
  'mode',
  'accuracy',
  'f1_micro',
  'f1_macro',
  'ci_low',
  'ci_high',
  'n',
  'invalid_rate',
  'memorization_error',
  'locality',
  'p_value_vs_pretrained',
  'p_holm',
];

let scratch: string;
let browser: Browser;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'memorize-report-'));
  assert.ok(existsSync(CHROMIUM), `headless Chromium is needed at ${CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM_PATH)`);
  const root = process.getuid?.() === 0;
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...(root ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
});

after(async () => {
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const fixture = makeFixture();

test('report.json has every cell with exactly the listed keys and the fixture values', async () => {
  const out = join(scratch, 'json');
  const written = await writeSweepReport(fixture.sweep, out);
  const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportJson;
  assert.deepEqual(json, written.json);
  assert.deepEqual(Object.keys(json), ['sweep_id', 'model', 'cells']);
  assert.equal(json.sweep_id, 'sweep-fixture');
  assert.equal(json.model, 'stories260K');
  assert.equal(json.cells.length, 5);
  fixture.expected.forEach((e, i) => {
    const c = json.cells[i]!;
    assert.deepEqual(Object.keys(c), KEYS);
    const measures = fixture.cells[i]!.measures;
    const last = measures[measures.length - 1];
    assert.deepEqual(c, {
      variant: e.variant,
      layer: e.layer,
      mode: 'loglik',
      accuracy: e.metrics.accuracy,
      f1_micro: e.metrics.f1Micro,
      f1_macro: e.metrics.f1Macro,
      ci_low: e.ciLow,
      ci_high: e.ciHigh,
      n: CLAIMS,
      invalid_rate: 0,
      // The pretrained cell shows the base model's figures: step 0 of the runs' curves.
      memorization_error: last ? last.memorizationError : 4.2,
      locality: last ? last.locality : 4.5,
      p_value_vs_pretrained: e.pValue,
      p_holm: e.pHolm,
    });
  });
  // The fixture's memory L1 is far better than the pretrained cell, so it is significant after Holm.
  assert.ok(json.cells[1]!.p_holm! < 0.05, `memory L1 p_holm ${json.cells[1]!.p_holm}`);
  assert.ok(json.cells[4]!.p_holm! >= 0.05, `simset-2 token L2 p_holm ${json.cells[4]!.p_holm}`);
  assert.deepEqual(
    readdirSync(out).filter((f) => !f.startsWith('.')),
    ['predictions', 'report.html', 'report.json', 'report.md'],
    'no temp file is left behind',
  );
});

test('report.md has the table rows, the p-values raw and Holm-adjusted, and the significance paragraph', async () => {
  const out = join(scratch, 'md');
  await writeSweepReport(fixture.sweep, out);
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  const lines = md.split('\n');
  assert.ok(lines.includes('| model | metric | pretrained | memory L1 | memory L2 | simset-2 token L1 | simset-2 token L2 |'), md);
  const f = (x: number): string => x.toFixed(3);
  const acc = fixture.expected.map((e) => `${f(e.metrics.accuracy)} [${f(e.ciLow)}, ${f(e.ciHigh)}]`);
  assert.ok(lines.includes(`| stories260K | accuracy [95% CI] | ${acc.join(' | ')} |`), md);
  assert.ok(lines.includes(`|  | F1-micro | ${fixture.expected.map((e) => f(e.metrics.f1Micro)).join(' | ')} |`), md);
  assert.ok(lines.includes(`|  | F1-macro | ${fixture.expected.map((e) => f(e.metrics.f1Macro)).join(' | ')} |`), md);
  const mem = fixture.cells.map((c) => f(c.measures.length ? c.measures[c.measures.length - 1]!.memorizationError : 4.2));
  assert.ok(lines.includes(`|  | memorization error | ${mem.join(' | ')} |`), md);
  assert.ok(
    lines.some((l) => l.startsWith('|  | locality | 4.500 |')),
    md,
  );
  const fmt = (p: number): string => (p >= 0.001 ? p.toFixed(3) : p.toExponential(1));
  for (const e of fixture.expected.slice(1)) {
    const row = lines.find((l) => l.startsWith(`| ${e.variant} L${e.layer} |`));
    assert.ok(row, `significance row of ${e.variant} L${e.layer}`);
    const cells = row.split('|').map((s) => s.trim());
    assert.equal(cells[5], fmt(e.pValue));
    assert.equal(cells[6], fmt(e.pHolm));
    assert.equal(cells[7], e.pHolm < 0.05 ? 'yes' : 'no');
  }
  // Per-label scores and confusion matrices of every cell, from the same metrics.
  const m = fixture.expected[1]!.metrics;
  const s = m.perLabel.SUPPORTS;
  assert.ok(lines.includes(`| memory L1 | SUPPORTS | ${f(s.precision)} | ${f(s.recall)} | ${f(s.f1)} | ${s.support} |`), md);
  assert.ok(lines.includes(`| memory L1 | REFUTES | ${m.confusion[1]!.join(' | ')} |`), md);
  assert.ok(lines.includes('| simset-2 token L2 | succeeded | 60 | 0.000 | 12.5 | run-4 | eval-4 |'), md);
  const paragraph = sweepSignificance(fixture.sweep);
  assert.ok(lines.includes(paragraph));
  assert.match(paragraph, /differs? significantly: memory L1 \(accuracy/);
});

test('predictions/<variant>-L<layer>.jsonl holds every claim of every cell', async () => {
  const out = join(scratch, 'predictions');
  await writeSweepReport(fixture.sweep, out);
  const files = readdirSync(join(out, 'predictions')).sort();
  assert.deepEqual(files, ['memory-L1.jsonl', 'memory-L2.jsonl', 'pretrained.jsonl', 'simset-2-token-L1.jsonl', 'simset-2-token-L2.jsonl']);
  const lines = readFileSync(join(out, 'predictions', 'memory-L1.jsonl'), 'utf8')
    .trimEnd()
    .split('\n');
  assert.equal(lines.length, CLAIMS);
  const first = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(first), ['claim_id', 'gold', 'predicted', 'logprobs']);
  assert.equal(first.claim_id, 100000);
  assert.equal(first.gold, fixture.gold[0]);
  assert.equal(first.predicted, fixture.cells[1]!.predicted[0]);
  assert.equal(first.logprobs.length, 3);
  // Generate mode: the answer text, an invalid answer as null; ids beyond 2^53 as strings.
  const p = evaluator.Prediction.fromPartial({ claimId: 2n ** 60n, gold: 2, predicted: 0, answer: ' maybe' });
  assert.deepEqual(predictionLine(p, evaluator.ScoringMode.SCORING_MODE_GENERATE), {
    claim_id: '1152921504606846976',
    gold: 'REFUTES',
    predicted: null,
    answer: ' maybe',
  });
  assert.deepEqual(
    predictionFileNames([
      { variant: 'a/b', layer: 1 },
      { variant: 'a b', layer: 1 },
      { variant: 'pretrained', layer: -1 },
    ]),
    ['a-b-L1.jsonl', 'a-b-L1-2.jsonl', 'pretrained.jsonl'],
  );
});

interface SvgFacts {
  figure: string | null;
  width: number;
  height: number;
  paths: number;
  /** Paths of data marks (lines, symbols, rects) that draw nothing. */
  emptyMarkPaths: number;
  marks: Record<string, number>;
}

const IN_PAGE = `(() => {
  const svgs = [...document.querySelectorAll('svg')].map((svg) => {
    const box = svg.getBoundingClientRect();
    const paths = [...svg.querySelectorAll('path')];
    const drawn = (p) => (p.getAttribute('d') || '').trim() !== '' && p.getBBox().width + p.getBBox().height > 0;
    const marks = {};
    let emptyMarkPaths = 0;
    for (const g of svg.querySelectorAll('g.role-mark')) {
      for (const p of g.querySelectorAll('path')) if (!drawn(p)) emptyMarkPaths++;
      const kind = [...g.classList].find((c) => c.startsWith('mark-'));
      marks[kind] = (marks[kind] || 0) + g.childElementCount;
    }
    return {
      figure: svg.closest('figure') ? svg.closest('figure').id : null,
      width: box.width,
      height: box.height,
      paths: paths.filter(drawn).length,
      emptyMarkPaths,
      marks,
    };
  });
  return { svgs, scripts: document.querySelectorAll('script').length };
})()`;

async function openReport(path: string): Promise<{ svgs: SvgFacts[]; errors: string[]; requests: string[]; scripts: number }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${String(e)}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  // Runs in the page (a string: this program's types have no DOM).
  const facts = (await page.evaluate(IN_PAGE)) as { svgs: SvgFacts[]; scripts: number };
  await page.close();
  return { ...facts, errors, requests };
}

test('report.html renders every plot in headless Chromium: non-empty SVG marks, no console errors, nothing fetched', async () => {
  const out = join(scratch, 'html');
  await writeSweepReport(fixture.sweep, out);
  const file = join(out, 'report.html');
  const { svgs, errors, requests, scripts } = await openReport(file);
  assert.deepEqual(errors, []);
  assert.deepEqual(requests, [pathToFileURL(file).href], 'the page fetches nothing but itself');
  assert.equal(scripts, 0);
  assert.deepEqual(
    svgs.map((s) => s.figure),
    ['memorization', 'accuracy', 'accuracy-vs-memorization'],
  );
  for (const s of svgs) {
    assert.ok(s.width > 100 && s.height > 100, `${s.figure}: ${s.width}x${s.height}`);
    assert.ok(s.paths > 0, `${s.figure} has drawn paths`);
    assert.equal(s.emptyMarkPaths, 0, `${s.figure}: every mark's path has a non-empty d and a size`);
  }
  const [memorization, accuracy, scatter] = svgs as [SvgFacts, SvgFacts, SvgFacts];
  // One line per variant x layer (4 runs) with a point per measure (4 each).
  assert.equal(memorization.marks['mark-line'], 4, JSON.stringify(memorization.marks));
  assert.equal(memorization.marks['mark-symbol'], 16, JSON.stringify(memorization.marks));
  // Four variant cells: a point and a CI bar each; the pretrained rule, band and label.
  assert.equal(accuracy.marks['mark-symbol'], 4, JSON.stringify(accuracy.marks));
  assert.equal(accuracy.marks['mark-rule'], 5, JSON.stringify(accuracy.marks));
  assert.equal(accuracy.marks['mark-rect'], 1, JSON.stringify(accuracy.marks));
  // Five cells with a memorization error (the pretrained one at the base model's), each with a CI bar.
  assert.equal(scatter.marks['mark-symbol'], 5, JSON.stringify(scatter.marks));
  assert.equal(scatter.marks['mark-rule'], 5, JSON.stringify(scatter.marks));
});

test('a failed cell: nulls in report.json, "failed" in the table, no predictions file, the plots still render', async () => {
  const failed = makeFixture({ failLast: true, scoring: evaluator.ScoringMode.SCORING_MODE_GENERATE });
  const out = join(scratch, 'failed');
  const { json } = await writeSweepReport(failed.sweep, out);
  const last = json.cells[4]!;
  assert.equal(last.mode, 'generate');
  for (const key of ['accuracy', 'f1_micro', 'f1_macro', 'ci_low', 'ci_high', 'n', 'invalid_rate', 'p_value_vs_pretrained', 'p_holm'] as const) {
    assert.equal(last[key], null, key);
  }
  assert.equal(last.memorization_error, failed.cells[4]!.measures[3]!.memorizationError, "the run's curve still gives it");
  assert.equal(json.cells[0]!.invalid_rate, failed.expected[0]!.metrics.invalidRate);
  assert.ok(failed.expected[0]!.metrics.invalidRate > 0);
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  assert.match(md, /\| stories260K \| accuracy \[95% CI\] \| .* \| failed \|\n/);
  assert.match(md, /## Failed cells\n\n- simset-2 token L2: model-host 127\.0\.0\.1:50052 did not come back within 120 s/);
  assert.ok(!existsSync(join(out, 'predictions', 'simset-2-token-L2.jsonl')));
  const line = JSON.parse(readFileSync(join(out, 'predictions', 'pretrained.jsonl'), 'utf8').split('\n')[0]!);
  assert.deepEqual(Object.keys(line), ['claim_id', 'gold', 'predicted', 'answer']);
  const { svgs, errors } = await openReport(join(out, 'report.html'));
  assert.deepEqual(errors, []);
  assert.equal(svgs.length, 3);
  assert.ok(svgs.every((s) => s.paths > 0));
  assert.equal(svgs[1]!.marks['mark-symbol'], 3);
});

test('layers order numerically (L2 before L10) in the table and on the plots', () => {
  const sweep = evaluator.Sweep.fromPartial(makeFixture().sweep);
  for (const cell of sweep.cells) if (cell.layer === 1) cell.layer = 10;
  assert.deepEqual(resultsTable(sweep).header.slice(2), ['pretrained', 'memory L2', 'memory L10', 'simset-2 token L2', 'simset-2 token L10']);
  const [memorization, accuracy] = sweepPlots(sweep);
  assert.deepEqual(JSON.parse(JSON.stringify(memorization!.spec)).facet.column.sort, ['L2', 'L10', 'no layer']);
  const layers = JSON.parse(JSON.stringify(accuracy!.spec)).layer as { encoding: { x?: { sort: string[] } } }[];
  assert.deepEqual(layers.find((l) => l.encoding.x)!.encoding.x!.sort, ['L2', 'L10', 'none']);
});

test('the full control: a cell without a layer that is compared with pretrained, in the tables and on the plots', async () => {
  const full = makeFixture({ full: true });
  // The cells listed full first: the pretrained cell (no memory, not full) still heads the table and is the baseline.
  const sweep = evaluator.Sweep.fromPartial({ ...full.sweep, cells: [full.sweep.cells[1]!, full.sweep.cells[0]!, ...full.sweep.cells.slice(2)] });
  const out = join(scratch, 'full');
  const { json } = await writeSweepReport(sweep, out);
  assert.deepEqual(
    json.cells.map((c) => [c.variant, c.layer]),
    [
      ['pretrained', -1],
      ['full', -1],
      ['memory', 1],
      ['memory', 2],
      ['simset-2 token', 1],
      ['simset-2 token', 2],
    ],
  );
  const e = full.expected[1]!;
  assert.equal(e.variant, 'full');
  assert.deepEqual(json.cells[1], {
    variant: 'full',
    layer: -1,
    mode: 'loglik',
    accuracy: e.metrics.accuracy,
    f1_micro: e.metrics.f1Micro,
    f1_macro: e.metrics.f1Macro,
    ci_low: e.ciLow,
    ci_high: e.ciHigh,
    n: CLAIMS,
    invalid_rate: 0,
    // Its own run's last measure, not the base model's.
    memorization_error: full.cells[1]!.measures[3]!.memorizationError,
    locality: full.cells[1]!.measures[3]!.locality,
    p_value_vs_pretrained: e.pValue,
    p_holm: e.pHolm,
  });
  assert.ok(e.pValue < 1 && e.pHolm < 0.05, `full p ${e.pValue}, Holm ${e.pHolm}`);
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  const lines = md.split('\n');
  assert.ok(lines.includes('| model | metric | pretrained | full | memory L1 | memory L2 | simset-2 token L1 | simset-2 token L2 |'), md);
  const row = lines.find((l) => l.startsWith('| full | 60 |'));
  assert.ok(row, md);
  assert.equal(row.split('|').map((s) => s.trim())[7], 'yes');
  assert.ok(lines.includes('| full | succeeded | 60 | 0.000 | 12.5 | run-1 | eval-1 |'), md);
  assert.match(sweepSignificance(sweep), /Holm's correction across the 5 comparisons/);
  assert.match(sweepSignificance(sweep), /full \(accuracy \d\.\d{3} vs \d\.\d{3}, higher;/);
  assert.ok(existsSync(join(out, 'predictions', 'full.jsonl')));
  const [memorization, accuracy, scatter] = sweepPlots(sweep).map((p) => JSON.stringify(p.spec));
  assert.doesNotMatch(accuracy!, /L-1/);
  assert.match(accuracy!, /"cell":"full","variant":"full","layer":"none"/);
  assert.match(memorization!, /"cell":"full","variant":"full","layer":"no layer"/);
  assert.match(scatter!, /"cell":"full","variant":"full","layer":"none"/);
  const { svgs, errors } = await openReport(join(out, 'report.html'));
  assert.deepEqual(errors, []);
  const [, accuracySvg] = svgs as [SvgFacts, SvgFacts, SvgFacts];
  // Five variant cells (full among them): a point and a CI bar each, and the pretrained rule.
  assert.equal(accuracySvg.marks['mark-symbol'], 5, JSON.stringify(accuracySvg.marks));
  assert.equal(accuracySvg.marks['mark-rule'], 6, JSON.stringify(accuracySvg.marks));
});
