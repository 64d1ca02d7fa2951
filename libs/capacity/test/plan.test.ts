import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { llamaConfig } from '@memorize/lm';
import { estimateModelBytes } from '@memorize/validation';
import { formatPlan, planCapacity, readModelConfig } from '@memorize/capacity';
import { sharedDir, storiesBin, tempDir } from '@memorize/testing';

const llama7b = join(sharedDir, 'models', 'llama-2-7b-chat');

describe('capacity plan', () => {
  it("counts Llama-2-7B's parameters within 0.1% of the known 6.74 billion, from config.json alone", () => {
    const { config, source } = readModelConfig(llama7b);
    assert.equal(source, join(llama7b, 'config.json'));
    const plan = planCapacity(config);
    assert.ok(Math.abs(plan.parameters - 6.74e9) / 6.74e9 < 0.001, `${plan.parameters}`);
    assert.equal(plan.parameters, 6_738_415_616); // Meta's count for Llama-2-7B (HF's model.num_parameters())
    // tfjs computes in float32: the weights alone are about 27 GB.
    assert.equal(plan.bytes.weights, plan.parameters * 4);
    assert.ok(plan.bytes.weights > 26.9e9 && plan.bytes.weights < 27e9);
    const half = planCapacity(config, { dtype: 'float16' });
    assert.equal(half.bytes.weights, plan.parameters * 2);
    assert.equal(half.kubernetes.modelCacheBytes, plan.kubernetes.modelCacheBytes, 'model-host holds float32 weights');
  });

  it('agrees with the size check model-host runs before loading (one formula)', () => {
    const { config } = readModelConfig(join(llama7b, 'config.json'));
    const plan = planCapacity(config);
    const check = estimateModelBytes(config);
    assert.equal(plan.parameters, check.parameters);
    assert.equal(plan.bytes.rope, check.ropeBytes);
    assert.ok(plan.kubernetes.modelCacheBytes >= check.weightAndRopeBytes);
  });

  it('hand-computed figures for a small Llama', () => {
    const c = llamaConfig({ dim: 8, nLayers: 2, nHeads: 2, nKvHeads: 1, hiddenDim: 16, vocabSize: 10, maxSeqLen: 8 });
    const p = planCapacity(c, { batch: 2, seq: 4, memoryEntries: 3 });
    // embeddings 2*10*8 + per layer (q 64 + k,v 2*8*4 + o 64 + mlp 3*8*16 + norms 16) + final norm 8
    assert.equal(p.parameters, 160 + 2 * (64 + 64 + 64 + 384 + 16) + 8);
    // KV cache: 2 (k, v) x 2 layers x 8 rows x kv 4, plus the generation's logits 2 x batch x vocab
    assert.equal(p.bytes.kvCache, (2 * 2 * 8 * 4 + 2 * 2 * 10) * 4);
    // memory: up 3x8 + 3, down 8x3 + 8, layer norm 2x8, gate 1; x4 tensors (parameter, gradient, m, v) x 4 bytes
    assert.equal(p.memoryParameters, 24 + 3 + 24 + 8 + 16 + 1);
    assert.equal(p.bytes.memoryState, p.memoryParameters * 16);
    const perLayer = 8 * (4 * 8 + 2 * 8 + 2 * 4 + 3 * 16) + 2 * 2 * 4 * 4;
    assert.equal(p.bytes.trainActivations, (2 * perLayer + 3 * 8 * 10 + perLayer + 8 * 3 * 3) * 4);
    assert.equal(
      p.bytes.peak,
      p.bytes.weights + p.bytes.rope + p.bytes.memoryState + Math.max(p.bytes.scoringActivations, p.bytes.trainActivations, p.bytes.kvCache),
    );
  });

  it('activations grow with batch and length; the GPU recommended holds the need', () => {
    const { config } = readModelConfig(llama7b);
    const small = planCapacity(config, { batch: 1, seq: 512 });
    const big = planCapacity(config, { batch: 4, seq: 512 });
    assert.ok(big.bytes.trainActivations > 3.9 * small.bytes.trainActivations);
    for (const p of [small, big]) {
      assert.ok(p.gpu && p.gpu.gib * 2 ** 30 >= p.gpuBytes);
      assert.ok(p.kubernetes.minGpuMemoryMib * 2 ** 20 >= p.gpuBytes);
      assert.equal(p.kubernetes.requests['nvidia.com/gpu'], '1');
    }
    assert.equal(big.gpu?.gib, 80);
    assert.match(formatPlan(big), /parameters +6,738,415,616/);
  });

  it('reads a llama2.c header and refuses bad options and paths', () => {
    const { config } = readModelConfig(storiesBin);
    assert.equal(config.dim, 64);
    assert.throws(() => planCapacity(config, { seq: 10_000 }), /seq must be an integer in 1\.\.512/);
    assert.throws(() => planCapacity(config, { batch: 0 }), /batch must be an integer/);
    assert.throws(() => readModelConfig('/nonexistent/model'), /no such file or folder/);
    const dir = tempDir('capacity-');
    writeFileSync(join(dir, 'config.json'), '{');
    assert.throws(() => readModelConfig(dir), /config\.json: not JSON/);
  });
});
