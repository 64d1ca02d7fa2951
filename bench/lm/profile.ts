/**
 * Profiles one workload of bench:lm: wall and CPU time per iteration, per-kernel times with `prof`.
 * Run: node --import tsx bench/lm/profile.ts d256|stories fwd|bwd [prof]
 */
import { fileURLToPath } from 'node:url';
import { initBackend, tf, matMul2d } from '@memorize/tensor';
import * as lm from '@memorize/lm';
const storiesBin = fileURLToPath(new URL('../../../shared/models/stories260K/stories260K.bin', import.meta.url));
await initBackend({ prefer: 'wasm', logger: () => {} });
const which = process.argv[2] ?? 'd256';
const mode = process.argv[3] ?? 'fwd';
const model =
  which === 'd256'
    ? lm.randomModel(lm.llamaConfig({ dim: 256, nLayers: 4, nHeads: 8, hiddenDim: 688, vocabSize: 512, maxSeqLen: 512 }))
    : lm.loadModel(storiesBin);
const rand = lm.mulberry32(2);
const V = model.config.vocabSize,
  d = model.config.dim;
const tokens = Array.from({ length: 4 }, () => Array.from({ length: 256 }, () => Math.floor(rand() * V)));
const w1 = tf.variable(tf.randomNormal([d, 128], 0, 0.02));
const b1 = tf.variable(tf.zeros([128]));
const w2 = tf.variable(tf.randomNormal([128, d], 0, 0.02));
const b2 = tf.variable(tf.zeros([d]));
const hook = (h: tf.Tensor3D) => {
  const [b, t] = h.shape;
  const x = tf.reshape(h, [b * t, d]) as tf.Tensor2D;
  const mid = lm.gelu(tf.add(matMul2d(x, w1 as tf.Tensor2D), b1)) as tf.Tensor2D;
  return tf.add(h, tf.reshape(tf.add(matMul2d(mid, w2 as tf.Tensor2D), b2), [b, t, d])) as tf.Tensor3D;
};
const hooks = new Map([[Math.floor(model.config.nLayers / 2), hook]]);
const run = () => {
  if (mode === 'fwd') {
    const o = model.forward(tokens);
    o.dataSync();
    o.dispose();
  } else {
    const { value, grads } = tf.variableGrads(() => lm.documentLoss(model, tokens, { hooks }).loss, [w1, b1, w2, b2]);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  }
};
run();
run();
for (let r = 0; r < 3; r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) run();
  console.log('ms/iter', ((performance.now() - t0) / 3).toFixed(1), 'cpu ms/iter', (process.cpuUsage(c0).user / 3000).toFixed(1));
}
if (process.argv[4] === 'prof') {
  const p = await tf.profile(() => run());
  const agg = new Map<string, { ms: number; n: number }>();
  for (const k of p.kernels) {
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    const a = agg.get(key) ?? { ms: 0, n: 0 };
    a.ms += Number(k.kernelTimeMs);
    a.n++;
    agg.set(key, a);
  }
  const rows = [...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40);
  let tot = 0;
  for (const [, a] of agg) tot += a.ms;
  console.log('total kernel ms', tot.toFixed(1), 'kernels', p.kernels.length);
  for (const [k, a] of rows) console.log(a.ms.toFixed(2).padStart(8), String(a.n).padStart(4), k);
}
