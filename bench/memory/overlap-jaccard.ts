/**
 * Entry-set overlap vs shingle Jaccard on the 300 FEVER pages. Run: npx tsx bench/memory/overlap-jaccard.ts [m] [p]
 * (default m 128, p chosen to match dlp's mean set size). Pages are tokenized with tok512.bin after restoring
 * the FEVER escapes (-LRB- ...). For every pair of pages: |E_a ∩ E_b| against Jaccard of their k-shingle sets;
 * prints Pearson and Spearman per kind, set-size statistics and the assignment time.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPages, unescapeFever } from '@memorize/fever';
import { loadTokenizer } from '@memorize/lm';
import {
  MEMORY_KINDS,
  overlapJaccardCorrelation,
  pairJaccards,
  resolveMemoryConfig,
  setSizeStats,
  kindLabel,
  type MemoryConfig,
} from '@memorize/memory';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const shared = join(repo, '..', 'shared');

export async function feverPageTokens(): Promise<number[][]> {
  const tok = await loadTokenizer(join(shared, 'models', 'stories260K', 'tok512.bin'), { vocabSize: 512 });
  const docs: number[][] = [];
  for await (const page of readPages(join(shared, 'data', 'fever', 'wiki-pages.jsonl')))
    docs.push(tok.encode(unescapeFever(page.text), { bos: true }));
  return docs;
}

export interface CorrelationRow {
  kind: string;
  jaccardK: number;
  pearson: number;
  spearman: number;
  meanSize: number;
  minSize: number;
  maxSize: number;
  empty: number;
  ms: number;
}

/** Entry sets of a set-based kind without building its MLP. */
export function entrySetsOf(config: MemoryConfig, docs: number[][]): Uint32Array[] {
  const c = resolveMemoryConfig(config);
  const masker = MEMORY_KINDS.get(c.kind)!.createMasker!(
    c,
    docs.map((tokens) => ({ tokens })),
  );
  return masker.entrySets()!;
}

export function correlations(docs: number[][], m: number, p: number, kinds: MemoryConfig[]): CorrelationRow[] {
  const jaccards = new Map<number, Float64Array>();
  const rows: CorrelationRow[] = [];
  for (const kc of kinds) {
    const config: MemoryConfig = { ...kc, entries: m, setProbability: p };
    const c = resolveMemoryConfig(config);
    const t0 = performance.now();
    const sets = entrySetsOf(config, docs);
    const ms = performance.now() - t0;
    const k = c.shingleK;
    if (!jaccards.has(k)) jaccards.set(k, pairJaccards(docs, k));
    const r = overlapJaccardCorrelation(sets, jaccards.get(k)!);
    const s = setSizeStats(sets);
    rows.push({
      kind: kindLabel(c),
      jaccardK: k,
      pearson: r.pearson,
      spearman: r.spearman,
      meanSize: s.mean,
      minSize: s.min,
      maxSize: s.max,
      empty: s.empty,
      ms,
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const m = Number(process.argv[2] ?? 128);
  const p = Number(process.argv[3] ?? 0);
  const docs = await feverPageTokens();
  const tokens = docs.reduce((a, d) => a + d.length, 0);
  console.log(`${docs.length} FEVER pages, ${tokens} tokens (tok512), m ${m}, p ${p || 'matched to dlp'}`);
  const kinds: MemoryConfig[] = [
    { kind: 'simset', shingleK: 1, layer: 0 },
    { kind: 'simset', shingleK: 2, layer: 0 },
    { kind: 'simset', shingleK: 3, layer: 0 },
    { kind: 'random', shingleK: 1, layer: 0 },
    { kind: 'random', shingleK: 2, layer: 0 },
    { kind: 'dlp', shingleK: 1, layer: 0 },
    { kind: 'dlp', shingleK: 2, layer: 0 },
  ];
  console.log('kind       jaccard-k  pearson  spearman  set size mean/min/max  empty  assign ms');
  for (const r of correlations(docs, m, p, kinds)) {
    console.log(
      `${r.kind.padEnd(10)} ${String(r.jaccardK).padStart(9)} ${r.pearson.toFixed(3).padStart(8)} ${r.spearman.toFixed(3).padStart(9)}  ` +
        `${r.meanSize.toFixed(2).padStart(8)} / ${r.minSize} / ${r.maxSize}`.padEnd(24) +
        `${String(r.empty).padStart(6)} ${r.ms.toFixed(0).padStart(10)}`,
    );
  }
}
