/**
 * Memorization demo on stories260K: for each kind, a memory at layer 3 trained on a handful of short documents
 * (AdamW, cosine schedule with warm-up, clip 10, all documents in every batch); then the documents' mean NLL
 * (nats/token) before and after, and the NLL of text outside the corpus without the memory and with it.
 * The trial, the presets, the texts and the criterion are @memorize/memory's (memorization.ts, presets.ts,
 * demo-texts.ts); this script parses flags, runs the trials and prints the table (or --json).
 *
 * Outside text is scored the way each kind would meet text that is no corpus document (the kind's default
 * mask source):
 *   memory   - the memory is always on (it has no mask);
 *   dlp      - mask source 'none' (the text is no corpus document: no entry on), also reported with 'all';
 *   simset-k - mask source 'context' (the text's own k-shingle set), also reported with 'all'.
 *
 * Run (from the repo root):
 *   npx tsx bench/memory/memorize-demo.ts [--steps=300] [--lr=1e-3] [--kinds=memory,dlp,simset-2]
 *     [--preset=reference|stable] [--layer-norm=0|1] [--gate-init=G] [--zero-init-down=0|1] [--wd=0.05]
 *     [--entries=128] [--set-probability=0] [--simset-entries=M] [--simset-p=P] [--seeds=1,2] [--doc-sets=a,b]
 *     [--every=25] [--preset=anchored] [--up-bias-init=-1.5] [--anchor-weight=4] [--anchor-samples=64] [--anchor-tokens=48]
 *     [--json]
 * Presets: 'reference' = LayerNorm on, gate initialised to 1, m = 128, simset p matched to dlp (DESIGN.md);
 * 'stable' (default) = no LayerNorm, gate initialised to 0 (ReZero), reference W_down init, and for simset
 * m = 512 with p = 0.05; 'anchored' = 'stable' plus, for the unstructured memory only, b_up initialised to
 * -1.5 and the trainer's anchor term (4 x KL to the base model on 64 of its own 48-token samples).
 * Explicit flags override the preset; the --up-bias-init / --anchor-* flags act on the kind memory only.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@memorize/tensor';
import { loadModel, loadTokenizer } from '@memorize/lm';
import {
  DEMO_OUTSIDE_TEXTS,
  PRESETS,
  TRAINING_DEFAULTS,
  demoRows,
  docRatio,
  meetsMemorizationCriterion,
  outsideChange,
  runMemorizationTrial,
  type MemorizationOutcome,
  type MemoryPreset,
  type PresetName,
} from '@memorize/memory';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const stories = join(repo, '..', 'shared', 'models', 'stories260K');

interface DemoOptions {
  preset: MemoryPreset;
  entries: number;
  setProbability: number;
  steps: number;
  lr: number;
  weightDecay: number;
  warmup: number;
  kinds: string[];
  seeds: number[];
  docSets: string[];
  every: number;
  json: boolean;
}

type DemoResult = MemorizationOutcome & { docSet: string };

async function runDemo(o: DemoOptions): Promise<DemoResult[]> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const model = loadModel(join(stories, 'stories260K.bin'));
  const tok = await loadTokenizer(join(stories, 'tok512.bin'), { vocabSize: model.config.vocabSize });
  const results: DemoResult[] = [];
  for (const docSet of o.docSets) {
    const { documents: docs, outside } = demoRows(tok, docSet);
    for (const seed of o.seeds) {
      for (const kind of o.kinds) {
        const r = await runMemorizationTrial(model, docs, outside, {
          kind,
          preset: o.preset,
          layer: 3,
          seed,
          entries: o.entries,
          setProbability: o.setProbability,
          schedule: {
            steps: o.steps,
            learningRate: o.lr,
            weightDecay: o.weightDecay,
            warmupSteps: o.warmup,
            gradClip: TRAINING_DEFAULTS.gradClip,
            batchSize: docs.length,
          },
          evalEvery: o.every,
          onEvaluation: (s, base) =>
            log(
              `${docSet}/${seed} ${kind} step ${s.step} loss ${s.loss.toFixed(4)} grad ${s.gradNorm.toFixed(3)} ` +
                `doc ratio ${(s.evaluation!.memorizationError / base.memorizationError).toFixed(3)} ` +
                `outside ${(((s.evaluation!.outsideNll! - base.outsideNll!) / base.outsideNll!) * 100).toFixed(1)}%`,
            ),
        });
        results.push({ ...r, docSet });
      }
    }
  }
  model.dispose();
  return results;
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/** The results as a fixed-width table (one line per kind x seed x document set). */
function formatTable(results: readonly DemoResult[]): string {
  const lines = [
    'kind       set seed | doc NLL base   init   after  ratio | outside base   init   after  change (source)      | all-on change |  time',
  ];
  for (const r of results) {
    const outside = `${r.outsideNllAfter.toFixed(3).padStart(7)} ${pct(outsideChange(r)).padStart(7)} (${r.outsideSource})`;
    lines.push(
      `${r.kind.padEnd(10)} ${r.docSet.padStart(3)} ${String(r.seed).padStart(4)} | ${r.docNllBase.toFixed(3).padStart(12)} ${r.docNllInit.toFixed(3).padStart(6)} ` +
        `${r.docNllAfter.toFixed(3).padStart(7)} ${docRatio(r).toFixed(3).padStart(6)} | ${r.outsideNllBase.toFixed(3).padStart(12)} ${r.outsideNllInit.toFixed(3).padStart(6)} ` +
        `${outside.padEnd(31)}| ${(r.outsideNllAllAfter === undefined ? '-' : pct(outsideChange(r, r.outsideNllAllAfter))).padStart(13)} | ${r.seconds.toFixed(1).padStart(5)}s`,
    );
  }
  return lines.join('\n');
}

function parseArgs(argv: readonly string[]): DemoOptions {
  const flags = new Map<string, string>();
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unrecognised argument "${a}" (flags are --name=value)`);
    flags.set(m[1], m[2] ?? 'true');
  }
  const base = PRESETS[(flags.get('preset') ?? 'stable') as PresetName];
  if (!base) throw new Error(`--preset must be ${Object.keys(PRESETS).join(', ')}`);
  const bool = (name: string, dflt: boolean) => (flags.has(name) ? flags.get(name) === '1' || flags.get(name) === 'true' : dflt);
  const num = (name: string, dflt: number) => (flags.has(name) ? Number(flags.get(name)) : dflt);
  const list = (name: string, dflt: string) => (flags.get(name) ?? dflt).split(',').filter((s) => s !== '');
  const d = TRAINING_DEFAULTS;
  return {
    preset: {
      layerNorm: bool('layer-norm', base.layerNorm),
      gateInit: num('gate-init', base.gateInit),
      zeroInitDown: bool('zero-init-down', base.zeroInitDown),
      simsetEntries: flags.has('simset-entries') ? num('simset-entries', 0) : base.simsetEntries,
      simsetSetProbability: flags.has('simset-p') ? num('simset-p', 0) : base.simsetSetProbability,
      memoryUpBiasInit: flags.has('up-bias-init') ? num('up-bias-init', 0) : base.memoryUpBiasInit,
      memoryAnchorWeight: num('anchor-weight', base.memoryAnchorWeight ?? 0),
      anchorSamples: num('anchor-samples', base.anchorSamples ?? 16),
      anchorTokens: num('anchor-tokens', base.anchorTokens ?? d.anchorTokens),
    },
    entries: num('entries', d.memoryEntries),
    setProbability: num('set-probability', 0),
    steps: num('steps', 300),
    lr: num('lr', d.learningRate),
    weightDecay: num('wd', d.weightDecay),
    warmup: num('warmup', d.warmupSteps),
    kinds: list('kinds', 'memory,dlp,simset-2'),
    seeds: list('seeds', '1').map(Number),
    docSets: list('doc-sets', 'a'),
    every: num('every', 0),
    json: bool('json', false),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await initBackend({ logger: (s) => process.stderr.write(`${s}\n`) });
  const o = parseArgs(process.argv.slice(2));
  const results = await runDemo(o);
  const p = o.preset;
  if (o.json) {
    console.log(
      JSON.stringify({
        options: o,
        results: results.map((r) => ({
          ...r,
          docRatio: docRatio(r),
          outsideChange: outsideChange(r),
          meetsCriterion: meetsMemorizationCriterion(r),
        })),
      }),
    );
  } else {
    console.log(
      `stories260K, layer 3, ${o.steps} steps, peak lr ${o.lr}, AdamW wd ${o.weightDecay}, warm-up ${o.warmup}, cosine, clip ${TRAINING_DEFAULTS.gradClip}; ` +
        `layerNorm ${p.layerNorm}, gateInit ${p.gateInit}, zeroInitDown ${p.zeroInitDown}, m ${o.entries}` +
        `${p.simsetEntries !== undefined ? ` (simset m ${p.simsetEntries}, p ${p.simsetSetProbability})` : ''}` +
        `${p.memoryUpBiasInit !== undefined ? `; memory b_up init ${p.memoryUpBiasInit}` : ''}` +
        `${(p.memoryAnchorWeight ?? 0) > 0 ? `; memory anchor KL x${p.memoryAnchorWeight} on ${p.anchorSamples} base samples of ${p.anchorTokens} tokens` : ''}; ${DEMO_OUTSIDE_TEXTS.length} outside texts`,
    );
    console.log(formatTable(results));
    const ok = results.filter(meetsMemorizationCriterion).length;
    console.log(`criterion (doc NLL ratio <= 0.5 and |outside change| < 10%): ${ok}/${results.length} runs`);
  }
}
