/**
 * npm run bench:lm — tokens/s of the LM workloads on every available tfjs backend, and of the same
 * workloads in PyTorch (bench/lm/torch_peer.py) where Debian's python3-torch is installed. Prints a table;
 * asserts nothing.
 *
 * Workloads (batch 4 x sequence 256 unless noted):
 *   forward           logits for the whole batch
 *   forward_backward  document loss with gradients only into a residual MLP hook (d->128->d) after the
 *                     middle block: the memory-training workload
 *   generate          greedy KV-cache decoding of 64 tokens, batch 1
 * On wasm, forward and forward_backward also run through ParallelModel (opt-in worker-thread data
 * parallelism: BENCH_WORKERS workers, default 2, each with its own wasm backend and a share of the rows);
 * those rows show as backend "wasm xN".
 * Models: stories260K (../shared) and a randomly initialised Llama (d 256, 4 layers, 8 heads, hidden 688,
 * vocab 512).
 *
 * Each backend runs in its own child process (tfjs's engine is process-global). Env: BENCH_SECONDS (minimum
 * timed seconds per workload, default 2), BENCH_BACKENDS (comma list, default gpu,node,wasm-blas,wasm).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const storiesBin = join(repo, '..', 'shared', 'models', 'stories260K', 'stories260K.bin');
const BATCH = 4;
const SEQ = 256;
const GEN = 64;
const MIN_SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const WORKLOADS = ['forward', 'forward_backward', 'generate'] as const;
type Workload = (typeof WORKLOADS)[number];
type Results = Record<string, Partial<Record<Workload, number>>>;

async function child(): Promise<void> {
  const { initBackend, tf } = await import('@memorize/tensor');
  const lm = await import('@memorize/lm');
  const { createHook } = await import('./mlp-hook.js');
  const hookModule = fileURLToPath(new URL('./mlp-hook.ts', import.meta.url));
  const workers = Number(process.env.BENCH_WORKERS ?? 2);
  let choice: Awaited<ReturnType<typeof initBackend>>;
  try {
    choice = await initBackend({ logger: (l) => process.stderr.write(`${l}\n`) });
  } catch (error) {
    // An unavailable backend is a row of the report ("not available"), not a crash.
    process.stderr.write(`   ${(error as Error).message}\n`);
    process.exit(3);
  }
  const models: [string, InstanceType<typeof lm.TransformerModel>][] = [
    ['stories260K', lm.loadModel(storiesBin)],
    ['llama-d256-L4', lm.randomModel(lm.llamaConfig({ dim: 256, nLayers: 4, nHeads: 8, hiddenDim: 688, vocabSize: 512, maxSeqLen: 512 }))],
  ];
  // Slow backends (plain JS cpu) get one timed run instead of MIN_SECONDS worth.
  const minSeconds = choice.name === 'cpu' ? 0 : MIN_SECONDS;
  const timed = async (fn: () => Promise<void>): Promise<number> => {
    await fn();
    let n = 0;
    const start = performance.now();
    for (;;) {
      await fn();
      n++;
      const el = (performance.now() - start) / 1000;
      if (el >= minSeconds && n >= (minSeconds > 0 ? 2 : 1)) return el / n;
    }
  };
  const rand = lm.mulberry32(2);
  const results: Results = {};
  const parallelResults: Results = {};
  for (const [name, model] of models) {
    const V = model.config.vocabSize;
    const d = model.config.dim;
    const tokens = Array.from({ length: BATCH }, () => Array.from({ length: SEQ }, () => Math.floor(rand() * V)));
    const w1 = tf.variable(tf.randomNormal([d, 128], 0, 0.02));
    const b1 = tf.variable(tf.zeros([128]));
    const w2 = tf.variable(tf.randomNormal([128, d], 0, 0.02));
    const b2 = tf.variable(tf.zeros([d]));
    const layer = Math.floor(model.config.nLayers / 2);
    const hooks = new Map([[layer, createHook({ w1, b1, w2, b2 })]]);
    const r: Partial<Record<Workload, number>> = {};
    r.forward =
      (BATCH * SEQ) /
      (await timed(async () => {
        const out = model.forward(tokens);
        await out.data();
        out.dispose();
      }));
    r.forward_backward =
      (BATCH * (SEQ - 1)) /
      (await timed(async () => {
        const { value, grads } = tf.variableGrads(() => lm.documentLoss(model, tokens, { hooks }).loss, [w1, b1, w2, b2]);
        await value.data();
        tf.dispose([value, ...Object.values(grads)]);
      }));
    r.generate =
      GEN /
      (await timed(async () => {
        await lm.generate(model, [1], { maxNewTokens: GEN, temperature: 0, stopTokens: [] });
      }));
    results[name] = r;
    if (choice.name === 'wasm' && workers > 1) {
      const pm = await lm.ParallelModel.create(model, { workers });
      const spec = {
        module: hookModule,
        layer,
        params: Object.fromEntries(
          Object.entries({ w1, b1, w2, b2 }).map(([k, v]) => [k, { data: v.dataSync() as Float32Array, shape: [...v.shape] }]),
        ),
      };
      const p: Partial<Record<Workload, number>> = {};
      p.forward = (BATCH * SEQ) / (await timed(async () => void (await pm.forward(tokens))));
      p.forward_backward = (BATCH * (SEQ - 1)) / (await timed(async () => void (await pm.documentLossGradients(tokens, spec))));
      await pm.dispose();
      parallelResults[name] = p;
      process.stderr.write(`${choice.name} x${workers} ${name}: ${JSON.stringify(p)}\n`);
    }
    tf.dispose([w1, b1, w2, b2]);
    process.stderr.write(`${choice.name} ${name}: ${JSON.stringify(r)} (tensors alive ${tf.memory().numTensors})\n`);
  }
  const flops = Object.fromEntries(models.map(([name, m]) => [name, flopsPerToken(m.config)]));
  process.stdout.write(
    `${JSON.stringify({ backend: choice.name, flops, results, parallel: Object.keys(parallelResults).length ? { backend: `${choice.name} x${workers}`, results: parallelResults } : undefined })}\n`,
  );
}

function torchAvailable(): boolean {
  if (!existsSync('/usr/bin/python3')) return false;
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function lastJson<T>(stdout: string): T | undefined {
  const line = stdout.trim().split('\n').pop();
  try {
    return line ? (JSON.parse(line) as T) : undefined;
  } catch {
    return undefined;
  }
}

function fmt(x: number | undefined): string {
  return x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

/**
 * Model FLOPs per token of each workload (causal attention counted at its useful half): forward = 2 x the matmul
 * weights + attention; forward_backward ~ 2 x forward (the base is frozen: gradients flow to activations only);
 * generate = one position against a cache of ~GEN/2.
 */
function flopsPerToken(c: {
  dim: number;
  nLayers: number;
  nKvHeads: number;
  headDim: number;
  hiddenDim: number;
  vocabSize: number;
}): Record<Workload, number> {
  const kv = c.nKvHeads * c.headDim;
  const linear = c.nLayers * (c.dim * (c.dim + 2 * kv) + c.dim * c.dim + 3 * c.dim * c.hiddenDim) + c.dim * c.vocabSize;
  const attention = (length: number): number => c.nLayers * 4 * c.dim * length;
  const forward = 2 * linear + attention(SEQ / 2);
  return { forward, forward_backward: 2 * forward, generate: 2 * linear + attention(GEN / 2) };
}

/** One line of machine facts: CPU model, cores, SIMD flags, BLAS. */
async function machineFacts(): Promise<{ line: string; blas: string }> {
  const { cpus } = await import('node:os');
  const { readFileSync } = await import('node:fs');
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown CPU';
  const flags = /flags\s*:\s*(.*)/.exec(cpuinfo)?.[1].split(' ') ?? [];
  const simd = ['avx512f', 'avx2', 'fma', 'sse4_2'].filter((f) => flags.includes(f)).join('+') || 'none';
  let blas: string;
  try {
    const { loadBlas } = await import('@memorize/tensor');
    const addon = loadBlas();
    blas = `${addon.config().trim()}, ${addon.threads()} threads${process.env.OPENBLAS_CORETYPE ? ` (OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE})` : ''}`;
  } catch (error) {
    blas = `none (${(error as Error).message})`;
  }
  return { line: `${model}, ${cpus().length} cores, ${simd}, BLAS ${blas}`, blas };
}

/** The machine's matmul peak: a 512 x 512 sgemm through the BLAS addon (all its threads), GFLOP/s. */
async function matmulPeak(): Promise<number | undefined> {
  try {
    const { loadBlas } = await import('@memorize/tensor');
    const addon = loadBlas();
    const n = 512;
    const heap = new Float32Array(3 * n * n).map((_, i) => Math.sin(i));
    const once = (): void => addon.sgemmBatched(heap, 1, 0, 0, n, n, n, 0, 0, n * n, 0, 2 * n * n, -1);
    for (let i = 0; i < 5; i++) once();
    let calls = 0;
    const start = performance.now();
    while (performance.now() - start < 1000) {
      once();
      calls++;
    }
    return (calls * 2 * n ** 3) / ((performance.now() - start) / 1000) / 1e9;
  } catch {
    return undefined;
  }
}

async function parent(): Promise<void> {
  const facts = await machineFacts();
  const peak = await matmulPeak();
  const backends = (process.env.BENCH_BACKENDS ?? 'gpu,node,wasm-blas,wasm').split(',');
  const rows: { backend: string; results: Results }[] = [];
  let flops: Record<string, Record<Workload, number>> = {};
  for (const backend of backends) {
    process.stderr.write(`== ${backend}\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      cwd: repo,
      env: { ...process.env, MEMORIZE_BACKEND: backend, BENCH_LM_CHILD: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    const parsed = lastJson<{
      backend: string;
      flops: Record<string, Record<Workload, number>>;
      results: Results;
      parallel?: { backend: string; results: Results };
    }>(r.stdout);
    if (r.status === 0 && parsed) {
      rows.push(parsed);
      if (parsed.parallel) rows.push(parsed.parallel);
      flops = parsed.flops;
    } else process.stderr.write(`   ${backend}: not available\n`);
  }
  let torch: { torch: string; results: Record<string, Record<Workload, { tokens_per_s: number; threads: number }>> } | undefined;
  if (torchAvailable()) {
    process.stderr.write('== pytorch (bench/lm/torch_peer.py)\n');
    const r = spawnSync(
      '/usr/bin/python3',
      [join(repo, 'bench/lm/torch_peer.py'), storiesBin, String(BATCH), String(SEQ), String(GEN), String(MIN_SECONDS)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    torch = lastJson(r.stdout);
  } else {
    process.stderr.write('PyTorch not found (/usr/bin/python3 -c "import torch"): no peer column\n');
  }

  const header = ['model', 'workload', 'backend', 'tokens/s', 'GFLOP/s', 'of peak', ...(torch ? [`pytorch ${torch.torch}`, 'ratio'] : [])];
  const table: string[][] = [];
  const json: Array<Record<string, unknown>> = [];
  for (const row of rows) {
    for (const [model, res] of Object.entries(row.results)) {
      for (const w of WORKLOADS) {
        const ours = res[w];
        if (ours === undefined) continue;
        const peer = torch?.results[model]?.[w];
        const gflops = flops[model] ? (ours * flops[model][w]) / 1e9 : undefined;
        json.push({
          model,
          workload: w,
          backend: row.backend,
          tokensPerSecond: ours,
          gflops,
          ofPeak: gflops !== undefined && peak ? gflops / peak : undefined,
          pytorchTokensPerSecond: peer?.tokens_per_s,
          ratio: peer ? ours / peer.tokens_per_s : undefined,
        });
        table.push([
          model,
          w,
          row.backend,
          fmt(ours),
          gflops !== undefined ? gflops.toFixed(1) : '-',
          gflops !== undefined && peak ? `${((100 * gflops) / peak).toFixed(1)}%` : '-',
          ...(torch
            ? [peer ? `${fmt(peer.tokens_per_s)} (${peer.threads}t)` : '-', peer && ours ? `${(ours / peer.tokens_per_s).toFixed(2)}x` : '-']
            : []),
        ]);
      }
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`machine: ${facts.line}`);
  console.log(`matmul peak (512x512 sgemm, BLAS addon): ${peak ? `${peak.toFixed(1)} GFLOP/s` : 'not measured (no BLAS addon)'}`);
  console.log(`batch ${BATCH} x seq ${SEQ} (forward, forward_backward), ${GEN}-token greedy KV-cache generation (batch 1)`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of table) console.log(line(r));
  console.log(JSON.stringify({ bench: 'lm', machine: facts.line, matmulPeakGflops: peak, batch: BATCH, seq: SEQ, generateTokens: GEN, rows: json }));
}

if (process.env.BENCH_LM_CHILD) await child();
else await parent();
