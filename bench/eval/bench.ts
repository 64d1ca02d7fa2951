/**
 * `npm run bench:eval [-- --quick]`: claims/s of loglik scoring of the evaluator's workload on this machine
 * (stories260K; @memorize/testing's feverPrompts: the shared FEVER slice's top 5 pages, the evaluation claims in
 * corpus order, each 1-shot with an example from its own page's pool as DataService builds items, the options
 * " (a)", " (b)", " (c)" as libs/eval tokenizes them; calls of 8 claims = 24 Score items, batch_size 8, the host's
 * 512-token slices), no assertions:
 *   naive        each option with its own full forward over prompt + option (libs/lm scoreContinuations: what
 *                Score ran before), in this process;
 *   shared       the path Score runs (libs/lm scoreShared: one pass per prompt, the options off its KV cache, the
 *                prefix cache across calls), in this process;
 *   model-host   the same through a real model-host process over gRPC (what the evaluator calls).
 * Every round is one evaluation from a cold prefix cache (in-process a new cache; the host's model unloaded and
 * loaded again, which frees its cached prefixes), and the rounds alternate naive / shared / model-host so drift on
 * a shared machine hits every path; the median round counts. Kernels are warmed on other claims first. Prints a
 * line of machine facts, progress on stderr, a table and one JSON object on its last line (target >= 5x naive).
 */
import { credentials } from '@grpc/grpc-js';
import { modelHost } from '@memorize/contracts';
import { loadModel, loadTokenizer, PrefixCache, scoreContinuations, scoreShared, type SharedScoreStats } from '@memorize/lm';
import { callUnary } from '@memorize/service-kit';
import { initBackend } from '@memorize/tensor';
import { feverPrompts, feverRequests, sharedDir, storiesBin, storiesTok, type FeverPrompt } from '@memorize/testing';
import { guardChildren } from '../shared/children.js';
import { machineFacts } from '../shared/machine.js';
import { f1, f2, meets, tableLines } from '../shared/report.js';
import { startModelHost } from '../host/processes.js';

const quick = process.argv.includes('--quick');
const CLAIMS = quick ? 32 : 120;
const WARMUP_CLAIMS = 16;
const CLAIMS_PER_CALL = 8;
const BATCH = 8;
const SLICE_TOKENS = 512;
const ROUNDS = quick ? 1 : 3;
const TARGET = 5;
guardChildren('bench:eval', quick ? 300_000 : 1_200_000);
const log = (line: string) => process.stderr.write(`bench:eval: ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const facts = machineFacts();
console.log(`machine: ${facts}`);
const backend = await initBackend({ logger: () => {} });
const model = loadModel(storiesBin);
const tokenizer = await loadTokenizer(storiesTok, { vocabSize: model.config.vocabSize });

type Call = ReturnType<typeof feverRequests>;
// ---- workload: the evaluator's first CLAIMS claims in calls of CLAIMS_PER_CALL; the warm-up claims after them ----
const callsOf = (prompts: readonly FeverPrompt[]): Call[] =>
  Array.from({ length: Math.ceil(prompts.length / CLAIMS_PER_CALL) }, (_, c) =>
    feverRequests(prompts.slice(c * CLAIMS_PER_CALL, (c + 1) * CLAIMS_PER_CALL)),
  );
const prompts = await feverPrompts(tokenizer, { claims: CLAIMS });
const calls = callsOf(prompts);
const warmup = callsOf(await feverPrompts(tokenizer, { claims: WARMUP_CLAIMS, offset: CLAIMS }));
const promptTokens = prompts.reduce((a, p) => a + p.context.length, 0);
const pages = new Set(prompts.map((p) => p.documentIndex)).size;
log(
  `${CLAIMS} claims of ${pages} pages (${calls.length} calls of ${CLAIMS_PER_CALL}), mean prompt ${(promptTokens / CLAIMS).toFixed(0)} tokens, backend ${backend.name}`,
);

const picks = (lps: number[]) =>
  Array.from({ length: lps.length / 3 }, (_, p) => [0, 1, 2].reduce((b, o) => (lps[3 * p + o] > lps[3 * p + b] ? o : b), 0));

async function naiveRun(work: Call[]): Promise<{ seconds: number; lps: number[] }> {
  const start = performance.now();
  const lps: number[] = [];
  for (const call of work)
    lps.push(...(await scoreContinuations(model, call, { batchSize: BATCH, sliceTokens: SLICE_TOKENS })).map((r) => r.logprob));
  return { seconds: (performance.now() - start) / 1000, lps };
}

/** One evaluation from a new prefix cache; `stats` counts the prompt positions computed and reused. */
async function sharedRun(work: Call[], stats?: SharedScoreStats): Promise<{ seconds: number; lps: number[] }> {
  const cache = new PrefixCache({ budgetBytes: 256 * 2 ** 20 });
  const start = performance.now();
  const lps: number[] = [];
  for (const call of work) {
    const out = await scoreShared(model, call, {
      batchSize: BATCH,
      sliceTokens: SLICE_TOKENS,
      prefixCache: cache,
      namespaces: call.map(() => 'stories'),
      stats,
    });
    lps.push(...out.map((r) => r.logprob));
  }
  const seconds = (performance.now() - start) / 1000;
  cache.clear();
  return { seconds, lps };
}

// ---- the model-host process: one for every round; each round loads the model afresh (a cold prefix cache) ----
log('starting a model-host process');
const host = await startModelHost(64, { MEMORIZE_MODEL_HOST_MODEL_ROOT: sharedDir });
const client = new modelHost.ModelHostClient(host.address, credentials.createInsecure());
async function hostRun(work: Call[]): Promise<{ seconds: number; lps: number[] }> {
  await callUnary(
    client,
    client.loadModel,
    modelHost.LoadModelRequest.fromPartial({ modelId: 'm', path: storiesBin, tokenizerPath: storiesTok }),
    60_000,
  );
  const start = performance.now();
  const lps: number[] = [];
  for (const call of work) {
    const out = await callUnary(
      client,
      client.score,
      modelHost.ScoreRequest.fromPartial({
        modelId: 'm',
        items: call.map((r) =>
          modelHost.ScoreItem.fromPartial({ context: [...r.context], continuation: [...r.continuation], documentIndex: r.documentIndex }),
        ),
        batchSize: BATCH,
      }),
      600_000,
    );
    lps.push(...out.scores.map((s) => s.logprob));
  }
  const seconds = (performance.now() - start) / 1000;
  await callUnary(client, client.unloadModel, modelHost.UnloadModelRequest.fromPartial({ modelId: 'm' }), 60_000);
  return { seconds, lps };
}

const naiveS: number[] = [];
const sharedS: number[] = [];
const hostS: number[] = [];
let naiveLps: number[] = [];
let sharedLps: number[] = [];
let hostLps: number[] = [];
const stats: SharedScoreStats = { groups: 0, computedTokens: 0, reusedTokens: 0, forwards: 0 };
try {
  // Warm-up (kernels, RoPE tables) on other claims, untimed.
  await naiveRun(warmup);
  await sharedRun(warmup);
  await hostRun(warmup);
  for (let round = 0; round < ROUNDS; round++) {
    const n = await naiveRun(calls);
    naiveS.push(n.seconds);
    naiveLps = n.lps;
    log(`round ${round + 1}: naive ${(CLAIMS / n.seconds).toFixed(1)} claims/s`);
    const s = await sharedRun(calls, round === 0 ? stats : undefined);
    sharedS.push(s.seconds);
    sharedLps = s.lps;
    log(`round ${round + 1}: shared in-process ${(CLAIMS / s.seconds).toFixed(1)} claims/s`);
    const h = await hostRun(calls);
    hostS.push(h.seconds);
    hostLps = h.lps;
    log(`round ${round + 1}: model-host ${(CLAIMS / h.seconds).toFixed(1)} claims/s`);
  }
} finally {
  client.close();
  await host.stop();
}

// Prompt positions: those the naive path computes (every option's own pass over its prompt) and, on the shared
// path, those taken from the prefix cache (reused) out of all the prompts' positions.
const reusedShare = stats.reusedTokens / promptTokens;
const naiveRate = CLAIMS / median(naiveS);
const sharedRate = CLAIMS / median(sharedS);
const hostRate = CLAIMS / median(hostS);
const rows = [
  { path: 'naive (own forward per option)', where: 'in-process', rate: naiveRate, note: 'scoreContinuations' },
  { path: 'shared + prefix cache', where: 'in-process', rate: sharedRate, note: 'scoreShared, cold cache each round' },
  { path: 'shared + prefix cache', where: 'model-host gRPC', rate: hostRate, note: 'Score, model loaded afresh each round' },
];
const maxDiff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const agree = (a: number[]) => picks(a).filter((p, i) => p === picks(naiveLps)[i]).length;
const speedup = hostRate / naiveRate;
console.log(
  `stories260K, ${CLAIMS} FEVER 1-shot evaluation claims of ${pages} pages x 3 options in corpus order, calls of ${CLAIMS_PER_CALL} claims, batch_size ${BATCH}, slices of ${SLICE_TOKENS} tokens, backend ${backend.name}, median of ${ROUNDS} round(s)`,
);
for (const l of tableLines(
  ['path', 'where', 'claims/s', 'x naive', 'note'],
  rows.map((r) => [r.path, r.where, f1(r.rate), f2(r.rate / naiveRate), r.note]),
))
  console.log(l);
console.log(
  `prompt tokens served from the prefix cache: ${(100 * reusedShare).toFixed(1)}% (${stats.reusedTokens} of ${promptTokens}; computed ${stats.computedTokens} positions in ${stats.forwards} passes, naive ${calls.flat().reduce((a, r) => a + r.context.length + r.continuation.length, 0)})`,
);
console.log(
  `model-host vs naive: ${f2(speedup)}x (target >= ${TARGET}x: ${meets(speedup >= TARGET)}); predictions agree with naive: in-process ${agree(sharedLps)}/${CLAIMS}, model-host ${agree(hostLps)}/${CLAIMS}; max |logprob diff| ${maxDiff(sharedLps, naiveLps).toExponential(1)} / ${maxDiff(hostLps, naiveLps).toExponential(1)}`,
);
console.log(
  JSON.stringify({
    bench: 'eval',
    machine: facts,
    backend: backend.name,
    quick,
    claims: CLAIMS,
    pages,
    claims_per_call: CLAIMS_PER_CALL,
    batch_size: BATCH,
    mean_prompt_tokens: Math.round(promptTokens / CLAIMS),
    rounds: ROUNDS,
    naive_claims_per_s: naiveRate,
    shared_inprocess_claims_per_s: sharedRate,
    host_claims_per_s: hostRate,
    speedup_host_vs_naive: speedup,
    speedup_inprocess_vs_naive: sharedRate / naiveRate,
    target: TARGET,
    meets_target: speedup >= TARGET,
    prompt_tokens_from_prefix_cache: reusedShare,
    shared_passes: stats.forwards,
    predictions_agree: { inprocess: agree(sharedLps), host: agree(hostLps), of: CLAIMS },
    max_abs_logprob_diff: { inprocess: maxDiff(sharedLps, naiveLps), host: maxDiff(hostLps, naiveLps) },
  }),
);
process.exit(0);
