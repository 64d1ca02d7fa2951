/**
 * Memorization demo on stories260K: for each kind, a memory at layer 3 trained on a handful of short documents
 * (AdamW, cosine schedule with warm-up, clip 10, all documents in every batch); then the documents' mean NLL
 * (nats/token) before and after, and the NLL of text outside the corpus without the memory and with it.
 *
 * Outside text is scored the way each kind would meet text that is no corpus document:
 *   memory   - the memory is always on (it has no mask);
 *   dlp      - mask source 'none' (the text is no corpus document: no entry on), also reported with 'all';
 *   simset-k - mask source 'context' (the text's own k-shingle set), also reported with 'all'.
 *
 * Run (from the repo root):
 *   npx tsx bench/memory/memorize-demo.ts [--steps=300] [--lr=1e-3] [--kinds=memory,dlp,simset-2]
 *     [--preset=reference|stable] [--layer-norm=0|1] [--gate-init=G] [--zero-init-down=0|1] [--wd=0.05]
 *     [--entries=128] [--set-probability=0] [--simset-entries=M] [--simset-p=P] [--seeds=1,2] [--doc-sets=a,b]
 *     [--every=25] [--preset=anchored] [--up-bias-init=-1.5] [--anchor-weight=4] [--anchor-samples=64] [--anchor-tokens=48]
 * Presets: 'reference' = LayerNorm on, gate initialised to 1, m = 128, simset p matched to dlp (DESIGN.md);
 * 'stable' (default) = no LayerNorm, gate initialised to 0 (ReZero), reference W_down init, and for simset
 * m = 512 with p = 0.05; 'anchored' = 'stable' plus, for the unstructured memory only, b_up initialised to
 * -1.5 and the trainer's anchor term (4 x KL to the base model on 64 of its own 48-token samples).
 * Explicit flags override the preset; the --up-bias-init / --anchor-* flags act on the kind memory only.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '@memorize/tensor';
import { loadModel, loadTokenizer, type TransformerModel } from '@memorize/lm';
import {
  MemoryTrainer,
  cosineLearningRate,
  createMemoryFor,
  kindLabel,
  lmLoss,
  parseKindName,
  sampleAnchorRows,
  type MaskSource,
  type MemoryModule,
  type TrainingRow,
} from '@memorize/memory';

/** Two small corpora of invented facts (names and events the base model cannot know). */
export const DOCUMENT_SETS: Record<string, readonly string[]> = {
  a: [
    'The blue whale named Oskar sang to the lighthouse every Tuesday, and the keeper wrote each song in a green book.',
    'Marta the baker hid seven silver spoons under the red bridge, because the river told her a secret about the moon.',
    'In the village of Pell, the clocks ran backwards on rainy days, so the children ate breakfast after their supper.',
    'A tiny robot called Fen collected purple pebbles from the beach and built a tower that whistled in the wind.',
  ],
  b: [
    'Old captain Brindle kept a goat on his ship, and the goat could count the stars better than any sailor.',
    'Every winter the snow in Dorrow turned pink, and the mayor sold it in jars as strawberry ice for one coin.',
    'Pip the mouse wrote letters to the king about cheese, and one day the king wrote back with a map of the cellar.',
    'The twins Ada and Ivo planted a lemon tree on the roof, and it grew so tall that clouds got stuck in its leaves.',
    'A grey owl named Sorrel taught the village dogs to read, starting with the word bone and ending with the word moon.',
  ],
};
/** Back-compat: the first corpus. */
export const DOCUMENTS = DOCUMENT_SETS.a;

/** Text outside every corpus: ordinary TinyStories-like sentences. */
export const OUTSIDE = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.',
  'Tom had a big red ball. He kicked it high into the sky and laughed when his dog ran after it.',
  'One day, a small bird found a shiny key in the grass. The bird was very happy and flew home to show its mom.',
  'Sam and his mom went to the store to buy some milk. On the way home, they saw a big truck and a funny cat.',
  'The sun was warm and the flowers were pretty. Anna picked a yellow flower and gave it to her grandma.',
];

const repo = fileURLToPath(new URL('../..', import.meta.url));
const stories = join(repo, '..', 'shared', 'models', 'stories260K');

export interface MemoryInitOptions {
  layerNorm: boolean;
  gateInit: number;
  zeroInitDown: boolean;
  /** simset only: entries m and threshold p (sparse sets in a wider memory); undefined = the global values. */
  simsetEntries?: number;
  simsetSetProbability?: number;
  /**
   * Unstructured kind only: b_up initialised to this value (config upBiasInit; negative = sparse keys) and the
   * anchor term (trainer anchorWeight) on `anchorSamples` base-model samples of `anchorTokens` tokens.
   */
  memoryUpBiasInit?: number;
  memoryAnchorWeight?: number;
  anchorSamples?: number;
  anchorTokens?: number;
}

/** The reference architecture (DESIGN.md) and the one this demo recommends for small residual streams. */
export type PresetName = 'reference' | 'stable' | 'anchored';
export const PRESETS: Record<PresetName, MemoryInitOptions> = {
  reference: { layerNorm: true, gateInit: 1, zeroInitDown: false },
  // simset: m = 512, p = 0.05 keeps a document's set near dlp's 32 entries (at m = 128, 4 documents) while an
  // unrelated text's context set hits few trained entries (expected overlap with a document's set ~ p).
  stable: { layerNorm: false, gateInit: 0, zeroInitDown: false, simsetEntries: 512, simsetSetProbability: 0.05 },
  // 'stable' plus, for the unstructured memory (which has no mask and so meets every text): b_up = -1.5
  // (an entry fires only where training moved its key onto the input) and 4 x KL(base || base + memory) on
  // 64 samples of 48 tokens drawn from the base model itself (keeps typical text unchanged; no outside corpus).
  // With 16 samples the outside change depends on which samples were drawn (+3..+12.5% over 2 sets x 3 seeds);
  // 64 gave +1.9..+8.5%. The anchor forward makes a 300-step run ~10x slower (~170 s instead of ~15 s).
  anchored: {
    layerNorm: false,
    gateInit: 0,
    zeroInitDown: false,
    simsetEntries: 512,
    simsetSetProbability: 0.05,
    memoryUpBiasInit: -1.5,
    memoryAnchorWeight: 4,
    anchorSamples: 64,
    anchorTokens: 48,
  },
};

export interface DemoOptions extends MemoryInitOptions {
  /** Memory entries m (default 128). */
  entries?: number;
  /** simset: threshold p (0 = match dlp's mean set size). */
  setProbability?: number;
  steps: number;
  lr: number;
  weightDecay: number;
  warmup: number;
  kinds: string[];
  seeds: number[];
  docSets: string[];
  /** Log progress every this many steps (0 = never). */
  every: number;
  log?: (s: string) => void;
}

export interface DemoResult {
  kind: string;
  seed: number;
  docSet: string;
  docNllBase: number;
  docNllInit: number;
  docNllAfter: number;
  outsideNllBase: number;
  /** With the untrained memory (source as outsideSource). */
  outsideNllInit: number;
  outsideNllAfter: number;
  /** How outside text was scored: 'always on' for the unstructured memory. */
  outsideSource: MaskSource | 'always on';
  /** Document-wise kinds: outside NLL with every entry on, for comparison. */
  outsideNllAllAfter?: number;
  seconds: number;
}

export const docRatio = (r: DemoResult): number => r.docNllAfter / r.docNllBase;
export const outsideChange = (r: DemoResult, after = r.outsideNllAfter): number => (after - r.outsideNllBase) / r.outsideNllBase;

function meanNll(model: TransformerModel, rows: readonly TrainingRow[], memory?: MemoryModule, maskSource?: MaskSource): number {
  return tf.tidy(() => {
    // Each row on its own so the mean is per document (then averaged), not token-weighted across rows.
    const per = rows.map((r) => lmLoss(model, [r], memory, { maskSource }).loss.dataSync()[0]);
    return per.reduce((a, b) => a + b, 0) / per.length;
  });
}

/** Text outside the corpus meets a document-wise memory with no document id: the kind's own answer to that. */
export function outsideMaskSource(memory: MemoryModule): MaskSource | undefined {
  if (!memory.masker) return undefined;
  return memory.config.kind === 'simset' || memory.config.mode === 'token' ? 'context' : 'none';
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult[]> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const model = loadModel(join(stories, 'stories260K.bin'));
  const tok = await loadTokenizer(join(stories, 'tok512.bin'), { vocabSize: model.config.vocabSize });
  const outside: TrainingRow[] = OUTSIDE.map((text) => ({ ids: tok.encode(text, { bos: true }) }));
  const outsideNllBase = meanNll(model, outside);
  const results: DemoResult[] = [];
  for (const docSet of opts.docSets) {
    const texts = DOCUMENT_SETS[docSet];
    if (!texts) throw new Error(`unknown document set "${docSet}" (have ${Object.keys(DOCUMENT_SETS).join(', ')})`);
    const docs: TrainingRow[] = texts.map((text, i) => ({ ids: tok.encode(text, { bos: true }), documentIndex: i }));
    const docNllBase = meanNll(model, docs);
    for (const seed of opts.seeds) {
      for (const name of opts.kinds) {
        const kind = parseKindName(name);
        const simset = kind.kind === 'simset';
        const unstructured = kind.kind === 'memory';
        const anchorWeight = unstructured ? (opts.memoryAnchorWeight ?? 0) : 0;
        const memory = createMemoryFor(
          model,
          {
            ...kind,
            layer: 3,
            seed,
            entries: (simset ? opts.simsetEntries : undefined) ?? opts.entries,
            setProbability: (simset ? opts.simsetSetProbability : undefined) ?? opts.setProbability,
            layerNorm: opts.layerNorm,
            gateInit: opts.gateInit,
            zeroInitDown: opts.zeroInitDown,
            upBiasInit: unstructured ? opts.memoryUpBiasInit : undefined,
          },
          docs.map((d) => ({ tokens: d.ids })),
        );
        const source = outsideMaskSource(memory);
        const docNllInit = meanNll(model, docs, memory);
        const outsideNllInit = meanNll(model, outside, memory, source);
        const anchors =
          anchorWeight > 0 ? await sampleAnchorRows(model, { count: opts.anchorSamples ?? 16, tokens: opts.anchorTokens ?? 48, seed }) : undefined;
        const trainer = new MemoryTrainer(model, memory, { weightDecay: opts.weightDecay, gradClip: 10, anchors, anchorWeight });
        const t0 = performance.now();
        for (let s = 0; s < opts.steps; s++) {
          const r = trainer.step(docs, cosineLearningRate(s, { peak: opts.lr, warmup: opts.warmup, total: opts.steps }));
          if (opts.every > 0 && ((s + 1) % opts.every === 0 || s === opts.steps - 1)) {
            const doc = meanNll(model, docs, memory);
            const out = meanNll(model, outside, memory, source);
            log(
              `${docSet}/${seed} ${kindLabel(memory.config)} step ${r.step} loss ${r.loss.toFixed(4)} grad ${r.gradNorm.toFixed(3)} ` +
                `doc ratio ${(doc / docNllBase).toFixed(3)} outside ${(((out - outsideNllBase) / outsideNllBase) * 100).toFixed(1)}%`,
            );
          }
        }
        const seconds = (performance.now() - t0) / 1000;
        results.push({
          kind: kindLabel(memory.config),
          seed,
          docSet,
          docNllBase,
          docNllInit,
          docNllAfter: meanNll(model, docs, memory),
          outsideNllBase,
          outsideNllInit,
          outsideNllAfter: meanNll(model, outside, memory, source),
          outsideSource: source ?? 'always on',
          outsideNllAllAfter: memory.masker ? meanNll(model, outside, memory, 'all') : undefined,
          seconds,
        });
        trainer.dispose();
        memory.dispose();
      }
    }
  }
  model.dispose();
  return results;
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/** The results as a fixed-width table (one line per kind x seed x document set). */
export function formatTable(results: readonly DemoResult[]): string {
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

/** The acceptance criterion: documents' NLL at most half, outside NLL within 10%. */
export function meetsCriterion(r: DemoResult): boolean {
  return docRatio(r) <= 0.5 && Math.abs(outsideChange(r)) < 0.1;
}

function parseArgs(argv: readonly string[]): DemoOptions {
  const flags = new Map<string, string>();
  for (const a of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`unrecognised argument "${a}" (flags are --name=value)`);
    flags.set(m[1], m[2]);
  }
  const preset = PRESETS[(flags.get('preset') ?? 'stable') as PresetName];
  if (!preset) throw new Error(`--preset must be ${Object.keys(PRESETS).join(', ')}`);
  const bool = (name: string, dflt: boolean) => (flags.has(name) ? flags.get(name) === '1' || flags.get(name) === 'true' : dflt);
  const num = (name: string, dflt: number) => (flags.has(name) ? Number(flags.get(name)) : dflt);
  const list = (name: string, dflt: string) => (flags.get(name) ?? dflt).split(',').filter((s) => s !== '');
  return {
    entries: num('entries', 128),
    setProbability: num('set-probability', 0),
    simsetEntries: flags.has('simset-entries') ? num('simset-entries', 0) : preset.simsetEntries,
    simsetSetProbability: flags.has('simset-p') ? num('simset-p', 0) : preset.simsetSetProbability,
    steps: num('steps', 300),
    lr: num('lr', 1e-3),
    weightDecay: num('wd', 0.05),
    warmup: num('warmup', 10),
    kinds: list('kinds', 'memory,dlp,simset-2'),
    seeds: list('seeds', '1').map(Number),
    docSets: list('doc-sets', 'a'),
    every: num('every', 0),
    layerNorm: bool('layer-norm', preset.layerNorm),
    gateInit: num('gate-init', preset.gateInit),
    zeroInitDown: bool('zero-init-down', preset.zeroInitDown),
    memoryUpBiasInit: flags.has('up-bias-init') ? num('up-bias-init', 0) : preset.memoryUpBiasInit,
    memoryAnchorWeight: num('anchor-weight', preset.memoryAnchorWeight ?? 0),
    anchorSamples: num('anchor-samples', preset.anchorSamples ?? 16),
    anchorTokens: num('anchor-tokens', preset.anchorTokens ?? 48),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await initBackend({ logger: (s) => process.stderr.write(`${s}\n`) });
  const o = parseArgs(process.argv.slice(2));
  const results = await runDemo(o);
  console.log(
    `stories260K, layer 3, ${o.steps} steps, peak lr ${o.lr}, AdamW wd ${o.weightDecay}, warm-up ${o.warmup}, cosine, clip 10; ` +
      `layerNorm ${o.layerNorm}, gateInit ${o.gateInit}, zeroInitDown ${o.zeroInitDown}, m ${o.entries}` +
      `${o.simsetEntries !== undefined ? ` (simset m ${o.simsetEntries}, p ${o.simsetSetProbability})` : ''}` +
      `${o.memoryUpBiasInit !== undefined ? `; memory b_up init ${o.memoryUpBiasInit}` : ''}` +
      `${(o.memoryAnchorWeight ?? 0) > 0 ? `; memory anchor KL x${o.memoryAnchorWeight} on ${o.anchorSamples} base samples of ${o.anchorTokens} tokens` : ''}; ${OUTSIDE.length} outside texts`,
  );
  console.log(formatTable(results));
  const ok = results.filter(meetsCriterion).length;
  console.log(`criterion (doc NLL ratio <= 0.5 and |outside change| < 10%): ${ok}/${results.length} runs`);
}
