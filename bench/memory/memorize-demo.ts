/**
 * Memorization demo on stories260K. Run: npx tsx bench/memory/memorize-demo.ts [steps] [lr] [kinds]
 * (defaults 300 steps, lr 1e-2, kinds memory,dlp,simset-2). For each kind: a memory at layer 3 trained on a
 * handful of short documents (AdamW, wd 0.05, cosine with 10 warm-up steps, clip 10, all documents in every
 * batch), then the documents' mean NLL (nats/token) before and after, and the NLL of text outside the corpus
 * without the memory and with it (mask source: all entries for dlp, the text's own shingles for simset).
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
  type MaskSource,
  type MemoryModule,
  type TrainingRow,
} from '@memorize/memory';

export const DOCUMENTS = [
  'The blue whale named Oskar sang to the lighthouse every Tuesday, and the keeper wrote each song in a green book.',
  'Marta the baker hid seven silver spoons under the red bridge, because the river told her a secret about the moon.',
  'In the village of Pell, the clocks ran backwards on rainy days, so the children ate breakfast after their supper.',
  'A tiny robot called Fen collected purple pebbles from the beach and built a tower that whistled in the wind.',
];

export const OUTSIDE = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.',
  'Tom had a big red ball. He kicked it high into the sky and laughed when his dog ran after it.',
  'One day, a small bird found a shiny key in the grass. The bird was very happy and flew home to show its mom.',
];

const repo = fileURLToPath(new URL('../..', import.meta.url));
const stories = join(repo, '..', 'shared', 'models', 'stories260K');

export interface DemoResult {
  kind: string;
  docNllBase: number;
  docNllInit: number;
  docNllAfter: number;
  outsideNllBase: number;
  outsideNllAfter: number;
  outsideSource: MaskSource;
  seconds: number;
}

function meanNll(model: TransformerModel, rows: TrainingRow[], memory?: MemoryModule, maskSource?: MaskSource): number {
  return tf.tidy(() => {
    // Each row on its own so the mean is per document (then averaged), not token-weighted across rows.
    const per = rows.map((r) => lmLoss(model, [r], memory, { maskSource }).loss.dataSync()[0]);
    return per.reduce((a, b) => a + b, 0) / per.length;
  });
}

export async function runDemo(opts: { steps: number; lr: number; kinds: string[]; log?: (s: string) => void }): Promise<DemoResult[]> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const model = loadModel(join(stories, 'stories260K.bin'));
  const tok = await loadTokenizer(join(stories, 'tok512.bin'), { vocabSize: model.config.vocabSize });
  const docs: TrainingRow[] = DOCUMENTS.map((text, i) => ({ ids: tok.encode(text, { bos: true }), documentIndex: i }));
  const outside: TrainingRow[] = OUTSIDE.map((text) => ({ ids: tok.encode(text, { bos: true }) }));
  const results: DemoResult[] = [];
  for (const name of opts.kinds) {
    const memory = createMemoryFor(model, { ...parseKindName(name), layer: 3, seed: 1, layerNorm: process.env.MEMORY_LN !== '0' }, docs.map((d) => ({ tokens: d.ids })));
    const outsideSource: MaskSource = memory.config.kind === 'simset' ? 'context' : 'all';
    const docNllBase = meanNll(model, docs);
    const docNllInit = meanNll(model, docs, memory);
    const outsideNllBase = meanNll(model, outside);
    const trainer = new MemoryTrainer(model, memory, { weightDecay: 0.05, gradClip: 10 });
    const t0 = performance.now();
    for (let s = 0; s < opts.steps; s++) {
      const r = trainer.step(docs, cosineLearningRate(s, { peak: opts.lr, warmup: 10, total: opts.steps }));
      if ((s + 1) % 25 === 0 || s === opts.steps - 1) {
        const doc = meanNll(model, docs, memory);
        const out = meanNll(model, outside, memory, outsideSource);
        log(`${kindLabel(memory.config)} step ${r.step} loss ${r.loss.toFixed(4)} grad ${r.gradNorm.toFixed(3)} doc ratio ${(doc / docNllBase).toFixed(3)} outside ${(((out - outsideNllBase) / outsideNllBase) * 100).toFixed(1)}%`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    results.push({
      kind: kindLabel(memory.config),
      docNllBase,
      docNllInit,
      docNllAfter: meanNll(model, docs, memory),
      outsideNllBase,
      outsideNllAfter: meanNll(model, outside, memory, outsideSource),
      outsideSource,
      seconds,
    });
    trainer.dispose();
    memory.dispose();
  }
  model.dispose();
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await initBackend({ logger: (s) => process.stderr.write(`${s}\n`) });
  const steps = Number(process.argv[2] ?? 300);
  const lr = Number(process.argv[3] ?? 1e-2);
  const kinds = (process.argv[4] ?? 'memory,dlp,simset-2').split(',');
  const results = await runDemo({ steps, lr, kinds });
  console.log(`stories260K, layer 3, ${DOCUMENTS.length} documents, ${steps} steps, peak lr ${lr}, AdamW wd 0.05, warm-up 10, clip 10`);
  console.log('kind       doc NLL base  init     after    ratio   | outside base  after    change  (source)  time');
  for (const r of results) {
    console.log(
      `${r.kind.padEnd(10)} ${r.docNllBase.toFixed(4).padStart(8)} ${r.docNllInit.toFixed(4).padStart(8)} ${r.docNllAfter.toFixed(4).padStart(8)} ` +
        `${(r.docNllAfter / r.docNllBase).toFixed(3).padStart(7)}   | ${r.outsideNllBase.toFixed(4).padStart(8)} ${r.outsideNllAfter.toFixed(4).padStart(8)} ` +
        `${(((r.outsideNllAfter - r.outsideNllBase) / r.outsideNllBase) * 100).toFixed(1).padStart(6)}%  (${r.outsideSource})  ${r.seconds.toFixed(1)}s`,
    );
  }
}
