/**
 * `npm run bench:eval [-- --quick]`: claims/s of loglik scoring of FEVER 1-shot prompts (stories260K, the shared
 * FEVER slice; three answer candidates " (a)", " (b)", " (c)" per claim, calls of 8 claims = 24 Score items,
 * batch_size 8, the host's 512-token slices) on this machine, no assertions:
 *   naive        each option with its own full forward over prompt + option (libs/lm scoreContinuations: what
 *                Score ran before), in this process;
 *   shared       the efficient path Score runs now (libs/lm scoreShared: one pass per prompt, the options off its
 *                KV cache, the prefix cache across calls, fresh at the start of each round), in this process;
 *   model-host   the same through a real model-host process over gRPC (what the evaluator calls), the prefix cache
 *                on (default budget) and, on a second process, off (MEMORIZE_MODEL_HOST_PREFIX_CACHE_BYTES=0).
 * Rounds alternate naive and shared so drift on a shared machine hits both; the median round counts. Prints a line
 * of machine facts, progress on stderr, a table and one JSON object on its last line (target >= 5x naive).
 */
import { credentials } from '@grpc/grpc-js';
import { modelHost } from '@memorize/contracts';
import { buildPrompt, isLabel } from '@memorize/fever';
import { loadModel, loadTokenizer, PrefixCache, scoreContinuations, scoreShared, type ScoreRequest } from '@memorize/lm';
import { callUnary } from '@memorize/service-kit';
import { initBackend } from '@memorize/tensor';
import { feverFiles, sharedDir, storiesBin, storiesTok } from '@memorize/testing';
import { readFileSync } from 'node:fs';
import { guardChildren } from '../shared/children.js';
import { machineFacts } from '../shared/machine.js';
import { f1, f2, meets, tableLines } from '../shared/report.js';
import { startModelHost } from '../host/processes.js';

const quick = process.argv.includes('--quick');
const CLAIMS = quick ? 24 : 96;
const CLAIMS_PER_CALL = 8;
const BATCH = 8;
const SLICE_TOKENS = 512;
const ROUNDS = quick ? 1 : 3;
const TARGET = 5;
guardChildren('bench:eval', quick ? 300_000 : 900_000);
const log = (line: string) => process.stderr.write(`bench:eval: ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const facts = machineFacts();
console.log(`machine: ${facts}`);
const backend = await initBackend({ logger: () => {} });
const model = loadModel(storiesBin);
const tokenizer = await loadTokenizer(storiesTok, { vocabSize: model.config.vocabSize });

// ---- workload: claim i with claim i+1 as its shot, the options tokenized as prompt + option minus the prompt ----
const lines = readFileSync(feverFiles.claims, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .slice(0, CLAIMS + CLAIMS_PER_CALL + 1)
  .map((l) => JSON.parse(l) as { claim: string; label: string });
const calls: ScoreRequest[][] = [];
for (let i = 0; i < CLAIMS + CLAIMS_PER_CALL; i++) {
  const [test, shot] = [lines[i], lines[i + 1]];
  if (!isLabel(shot.label)) throw new Error(`bad label ${shot.label}`);
  const text = buildPrompt([{ claim: shot.claim, label: shot.label }], test.claim);
  const context = tokenizer.encode(text, { bos: true });
  const items = [' (a)', ' (b)', ' (c)'].map((o) => {
    const all = tokenizer.encode(text + o, { bos: true });
    let k = 0;
    while (k < context.length && all[k] === context[k]) k++;
    return { context, continuation: all.slice(k) };
  });
  if (i % CLAIMS_PER_CALL === 0) calls.push([]);
  calls[calls.length - 1].push(...items);
}
// One more call of other claims, untimed: warms a process (kernels) and its prefix cache (the shared header) as an
// evaluation's first call does; the timed calls then score claims never seen before.
const warmup = calls.pop()!;
const contextTokens = calls.flat().reduce((a, r) => a + r.context.length, 0) / (3 * CLAIMS);
log(`${CLAIMS} claims (${calls.length} calls of ${CLAIMS_PER_CALL}), mean prompt ${contextTokens.toFixed(0)} tokens, backend ${backend.name}`);

const picks = (lps: number[]) =>
  Array.from({ length: lps.length / 3 }, (_, p) => [0, 1, 2].reduce((b, o) => (lps[3 * p + o] > lps[3 * p + b] ? o : b), 0));

async function naiveRound(): Promise<{ seconds: number; lps: number[] }> {
  const start = performance.now();
  const lps: number[] = [];
  for (const call of calls)
    lps.push(...(await scoreContinuations(model, call, { batchSize: BATCH, sliceTokens: SLICE_TOKENS })).map((r) => r.logprob));
  return { seconds: (performance.now() - start) / 1000, lps };
}

async function sharedRound(): Promise<{ seconds: number; lps: number[]; reused: number }> {
  const cache = new PrefixCache({ budgetBytes: 256 * 2 ** 20 });
  await scoreShared(model, warmup, { batchSize: BATCH, sliceTokens: SLICE_TOKENS, prefixCache: cache, namespaces: warmup.map(() => 'stories') });
  const start = performance.now();
  const lps: number[] = [];
  for (const call of calls) {
    const out = await scoreShared(model, call, {
      batchSize: BATCH,
      sliceTokens: SLICE_TOKENS,
      prefixCache: cache,
      namespaces: call.map(() => 'stories'),
    });
    lps.push(...out.map((r) => r.logprob));
  }
  const seconds = (performance.now() - start) / 1000;
  const reused = cache.stats.hitTokens;
  cache.clear();
  return { seconds, lps, reused };
}

async function hostRound(env: NodeJS.ProcessEnv, label: string): Promise<{ seconds: number[]; lps: number[] }> {
  log(`starting a model-host process (${label})`);
  const host = await startModelHost(64, { MEMORIZE_MODEL_HOST_MODEL_ROOT: sharedDir, ...env });
  try {
    const client = new modelHost.ModelHostClient(host.address, credentials.createInsecure());
    await callUnary(
      client,
      client.loadModel,
      modelHost.LoadModelRequest.fromPartial({ modelId: 'm', path: storiesBin, tokenizerPath: storiesTok }),
      60_000,
    );
    const score = (call: ScoreRequest[]) =>
      callUnary(
        client,
        client.score,
        modelHost.ScoreRequest.fromPartial({
          modelId: 'm',
          items: call.map((r) => modelHost.ScoreItem.fromPartial({ context: [...r.context], continuation: [...r.continuation] })),
          batchSize: BATCH,
        }),
        600_000,
      );
    await score(warmup);
    const seconds: number[] = [];
    let lps: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Round 1 scores claims the host has not seen; later rounds the same claims again (their prompts cached).
      const start = performance.now();
      lps = [];
      for (const call of calls) lps.push(...(await score(call)).scores.map((s) => s.logprob));
      seconds.push((performance.now() - start) / 1000);
      log(`${label} round ${round + 1}: ${(CLAIMS / seconds[round]).toFixed(1)} claims/s`);
    }
    client.close();
    return { seconds, lps };
  } finally {
    await host.stop();
  }
}

// ---- in-process rounds, alternating ----
const naiveS: number[] = [];
const sharedS: number[] = [];
let naiveLps: number[] = [];
let sharedLps: number[] = [];
let reused = 0;
await sharedRound(); // warm-up (kernels, RoPE tables)
for (let round = 0; round < ROUNDS; round++) {
  const n = await naiveRound();
  naiveS.push(n.seconds);
  naiveLps = n.lps;
  log(`naive round ${round + 1}: ${(CLAIMS / n.seconds).toFixed(1)} claims/s`);
  const s = await sharedRound();
  sharedS.push(s.seconds);
  sharedLps = s.lps;
  reused = s.reused;
  log(`shared round ${round + 1}: ${(CLAIMS / s.seconds).toFixed(1)} claims/s`);
}
const hostOn = await hostRound({}, 'model-host, prefix cache on');
const hostOff = await hostRound({ MEMORIZE_MODEL_HOST_PREFIX_CACHE_BYTES: '0' }, 'model-host, prefix cache off');

const naiveRate = CLAIMS / median(naiveS);
const rows: Array<{ path: string; where: string; claimsPerS: number; note: string }> = [
  { path: 'naive (own forward per option)', where: 'in-process', claimsPerS: naiveRate, note: 'scoreContinuations' },
  { path: 'shared + prefix cache', where: 'in-process', claimsPerS: CLAIMS / median(sharedS), note: 'scoreShared, new claims, header cached' },
  { path: 'shared + prefix cache', where: 'model-host gRPC', claimsPerS: CLAIMS / hostOn.seconds[0], note: 'new claims, header cached' },
  ...(ROUNDS > 1
    ? [
        {
          path: 'shared + prefix cache',
          where: 'model-host gRPC',
          claimsPerS: CLAIMS / median(hostOn.seconds.slice(1)),
          note: 'the same claims again',
        },
      ]
    : []),
  { path: 'shared, no prefix cache', where: 'model-host gRPC', claimsPerS: CLAIMS / median(hostOff.seconds), note: 'PREFIX_CACHE_BYTES=0' },
];
const maxDiff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const agree = (a: number[]) => picks(a).filter((p, i) => p === picks(naiveLps)[i]).length;
const speedup = rows[2].claimsPerS / naiveRate;
console.log(
  `stories260K, ${CLAIMS} FEVER 1-shot claims x 3 options, calls of ${CLAIMS_PER_CALL} claims, batch_size ${BATCH}, slices of ${SLICE_TOKENS} tokens, backend ${backend.name}, median of ${ROUNDS} round(s)`,
);
const table = rows.map((r) => [r.path, r.where, f1(r.claimsPerS), f2(r.claimsPerS / naiveRate), r.note]);
for (const l of tableLines(['path', 'where', 'claims/s', 'x naive', 'note'], table)) console.log(l);
console.log(
  `model-host (new claims) vs naive: ${f2(speedup)}x (target >= ${TARGET}x: ${meets(speedup >= TARGET)}); predictions agree with naive: in-process ${agree(sharedLps)}/${CLAIMS}, model-host ${agree(hostOn.lps)}/${CLAIMS}; max |logprob diff| ${maxDiff(sharedLps, naiveLps).toExponential(1)} / ${maxDiff(hostOn.lps, naiveLps).toExponential(1)}`,
);
console.log(
  JSON.stringify({
    bench: 'eval',
    machine: facts,
    backend: backend.name,
    quick,
    claims: CLAIMS,
    claims_per_call: CLAIMS_PER_CALL,
    batch_size: BATCH,
    mean_prompt_tokens: Math.round(contextTokens),
    rounds: ROUNDS,
    naive_claims_per_s: naiveRate,
    shared_inprocess_claims_per_s: rows[1].claimsPerS,
    host_claims_per_s: rows[2].claimsPerS,
    host_warm_claims_per_s: ROUNDS > 1 ? rows[3].claimsPerS : null,
    host_no_prefix_cache_claims_per_s: rows[rows.length - 1].claimsPerS,
    speedup_host_vs_naive: speedup,
    speedup_inprocess_vs_naive: rows[1].claimsPerS / naiveRate,
    target: TARGET,
    meets_target: speedup >= TARGET,
    prefix_tokens_reused_per_round: reused,
    predictions_agree: { inprocess: agree(sharedLps), host: agree(hostOn.lps), of: CLAIMS },
    max_abs_logprob_diff: { inprocess: maxDiff(sharedLps, naiveLps), host: maxDiff(hostOn.lps, naiveLps) },
  }),
);
process.exit(0);
