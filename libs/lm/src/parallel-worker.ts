/**
 * Worker side of ParallelModel: one tfjs engine and model copy per thread, serving forward / loss+gradient /
 * scoring requests for a shard of rows.
 */
import { parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { initBackend, tf, type BackendName } from '@memorize/tensor';
import type { LayerHook, TransformerModel } from './model.js';
import { modelFromSnapshot, type ArrayTensor, type HookSpec, type ModelSnapshot } from './parallel.js';
import { documentLoss, scoreContinuations, type ScoreRequest } from './scoring.js';

type CreateHook = (params: Record<string, tf.Tensor>) => LayerHook;

let model: TransformerModel | undefined;
const hookModules = new Map<string, Promise<CreateHook>>();

function loadHookFactory(spec: string): Promise<CreateHook> {
  let p = hookModules.get(spec);
  if (!p) {
    const url = isAbsolute(spec) ? pathToFileURL(spec).href : spec;
    p = import(url).then((m: { createHook?: CreateHook }) => {
      if (typeof m.createHook !== 'function') throw new Error(`${spec} does not export createHook`);
      return m.createHook;
    });
    hookModules.set(spec, p);
  }
  return p;
}

function toArray(t: tf.Tensor): ArrayTensor {
  return { data: t.dataSync() as Float32Array, shape: [...t.shape] };
}

async function loss(req: { tokens: number[][]; attentionMask?: number[][]; targetMask?: number[][]; hook?: HookSpec }) {
  const m = model!;
  const { tokens, attentionMask, targetMask, hook } = req;
  // Same counting rule as documentLoss; a shard without targets contributes zeros.
  const mask = attentionMask ?? tokens.map((r) => r.map(() => 1));
  const counts = tokens.map((row, r) =>
    row.slice(1).reduce((a, _, j) => a + (mask[r][j] && mask[r][j + 1] && (targetMask?.[r][j + 1] ?? 1) ? 1 : 0), 0),
  );
  const total = counts.reduce((a, b) => a + b, 0);
  const names = Object.keys(hook?.params ?? {});
  if (total === 0) {
    const grads = Object.fromEntries(names.map((n) => [n, { data: new Float32Array(hook!.params[n].data.length), shape: hook!.params[n].shape }]));
    return { lossSum: 0, perRow: tokens.map(() => 0), tokenCounts: counts, grads };
  }
  if (!hook) {
    const out = tf.tidy(() => {
      const r = documentLoss(m, tokens, { attentionMask, targetMask });
      return [tf.mul(r.loss, total), r.perRow];
    });
    const [lossSum, perRow] = await Promise.all(out.map((t) => t.data()));
    tf.dispose(out);
    return { lossSum: lossSum[0], perRow: [...perRow], tokenCounts: counts, grads: {} };
  }
  const createHook = await loadHookFactory(hook.module);
  const params = names.map((n) => tf.tensor(hook.params[n].data, hook.params[n].shape));
  let perRow: tf.Tensor | undefined;
  const f = (...xs: tf.Tensor[]) => {
    const h = createHook(Object.fromEntries(names.map((n, i) => [n, xs[i]])));
    const r = documentLoss(m, tokens, { attentionMask, targetMask, hooks: new Map([[hook.layer, h]]) });
    perRow = tf.keep(r.perRow);
    // Gradient of the shard's summed loss: the caller divides by the batch's total target count.
    return tf.mul(r.loss, total) as tf.Scalar;
  };
  const { value, grads } = tf.valueAndGrads(f)(params);
  const result = {
    lossSum: (await value.data())[0],
    perRow: [...(await perRow!.data())],
    tokenCounts: counts,
    grads: Object.fromEntries(names.map((n, i) => [n, toArray(grads[i])])),
  };
  tf.dispose([value, ...grads, ...params, perRow!]);
  return result;
}

async function handle(req: { op: string } & Record<string, unknown>): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  switch (req.op) {
    case 'init': {
      await initBackend({ prefer: req.backend as BackendName, logger: () => {} });
      model = modelFromSnapshot(req.snapshot as ModelSnapshot);
      return { result: true, transfer: [] };
    }
    case 'forward': {
      const logits = model!.forward(req.tokens as number[][], { attentionMask: req.attentionMask as number[][] | undefined });
      const data = (await logits.data()) as Float32Array;
      const shape = [...logits.shape];
      logits.dispose();
      return { result: { data, shape }, transfer: [data.buffer as ArrayBuffer] };
    }
    case 'loss': {
      const r = await loss(req as unknown as Parameters<typeof loss>[0]);
      return { result: r, transfer: Object.values(r.grads).map((g) => g.data.buffer as ArrayBuffer) };
    }
    case 'score': {
      const r = await scoreContinuations(model!, req.requests as ScoreRequest[], {
        batchSize: req.batchSize as number | undefined,
        padId: req.padId as number | undefined,
      });
      return { result: r, transfer: [] };
    }
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

parentPort!.on('message', (m: { id: number; req: { op: string } & Record<string, unknown> }) => {
  handle(m.req).then(
    ({ result, transfer }) => parentPort!.postMessage({ id: m.id, ok: true, result }, transfer),
    (e: unknown) => parentPort!.postMessage({ id: m.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
