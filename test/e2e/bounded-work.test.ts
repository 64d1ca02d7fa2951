import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { modelHost } from '@memorize/contracts';
import { loadTokenizer } from '@memorize/lm';
import { callUnary, checkHealth, connect, status } from '@memorize/service-kit';
import { feverFiles, healthDuring, sharedRootsEnv, startServiceProcess, storiesDir, storiesTok, type ServiceProcess } from '@memorize/testing';

/** Bounded work (issue 9): long requests run in slices, caches stay within their byte budgets, unloading frees memory. */

const MiB = 2 ** 20;
const natural = (() => {
  const pages = readFileSync(feverFiles.pages, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { text: string }).text)
    .join(' ');
  let text = pages;
  while (Buffer.byteLength(text) < MiB) text += ' ' + pages;
  return Buffer.from(text)
    .subarray(0, MiB - 4096)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
})();
const unbroken = 'xyzq'.repeat((MiB - 4096) / 4);

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

let host: ServiceProcess;
let client: InstanceType<typeof modelHost.ModelHostClient>;

before(async () => {
  host = await startServiceProcess('model-host', sharedRootsEnv());
  client = connect(modelHost.ModelHostClient, host.address);
  for (const [modelId, extra] of [
    ['bin', { tokenizerPath: storiesTok }],
    ['hf', {}],
  ] as const) {
    const path = modelId === 'bin' ? `${storiesDir}/stories260K.bin` : `${storiesDir}/hf`;
    await callUnary(client, client.loadModel, modelHost.LoadModelRequest.fromPartial({ path, modelId, ...extra }), 60_000);
  }
  // Warm the connection, the handlers and the (de)serialisers.
  for (const modelId of ['bin', 'hf'])
    await callUnary(client, client.tokenize, { modelId, texts: [natural.slice(0, 200_000)], addBos: true }, 30_000);
  await checkHealth(host.address);
});

after(async () => {
  client?.close();
  assert.equal(await host.stop(), 0);
});

test('a 1 MiB Tokenize runs in slices: health answers within ~100 ms throughout, and the ids are those of encode', async () => {
  const local = await loadTokenizer(storiesTok);
  for (const [modelId, text] of [
    ['bin', natural],
    ['hf', natural],
    ['hf', unbroken],
  ] as const) {
    const t0 = performance.now();
    const { result, worstMs, answered } = await healthDuring(host.address, () =>
      callUnary(client, client.tokenize, { modelId, texts: [text], addBos: true }, 120_000),
    );
    const seconds = (performance.now() - t0) / 1000;
    const ids = result.rows[0].ids;
    assert.deepEqual(ids, local.encode(text, { bos: true }), `${modelId}: same ids as encode`);
    process.stderr.write(
      `# Tokenize ${modelId} ${text === natural ? 'natural' : 'whitespace-free'} ${(Buffer.byteLength(text) / MiB).toFixed(2)} MiB: ` +
        `${ids.length} ids in ${seconds.toFixed(2)} s; ${answered} health checks, slowest ${worstMs.toFixed(0)} ms; RSS ${rssMiB(host.child.pid!).toFixed(0)} MiB\n`,
    );
    assert.ok(answered >= 3, `${answered} health checks during the call`);
    assert.ok(worstMs < 150, `slowest health answer ${worstMs.toFixed(0)} ms`);
  }
});

test('a Tokenize past its deadline stops (DEADLINE_EXCEEDED) and the service serves on', async () => {
  const texts = [unbroken];
  await assert.rejects(
    callUnary(client, client.tokenize, { modelId: 'hf', texts, addBos: false }, 50),
    (e: ServiceError) => e.code === status.DEADLINE_EXCEEDED,
  );
  assert.equal(await checkHealth(host.address), 'SERVING');
  const ok = await callUnary(client, client.tokenize, { modelId: 'bin', texts: ['Once upon a time'], addBos: true }, 10_000);
  assert.deepEqual(ok.rows[0].ids, (await loadTokenizer(storiesTok)).encode('Once upon a time', { bos: true }));
});

/** A llama2.c checkpoint of random weights, about `mib` MiB, with tok512's vocabulary. */
function writeRandomModel(path: string, dim: number, layers: number): number {
  const [hidden, heads, vocab, seqLen] = [dim * 2, 8, 512, 256];
  const header = Int32Array.of(dim, hidden, layers, heads, heads, vocab, seqLen);
  const headDim = dim / heads;
  const params = vocab * dim + layers * (2 * dim + 4 * dim * dim + 3 * dim * hidden) + dim + seqLen * headDim;
  const weights = new Float32Array(params);
  for (let i = 0; i < params; i++) weights[i] = Math.sin(i) * 0.02;
  writeFileSync(path, Buffer.concat([Buffer.from(header.buffer), Buffer.from(weights.buffer)]));
  return params * 4;
}

test('UnloadModel returns the memory for reuse: 5 load/unload cycles of a ~100 MB model do not grow RSS; the budget evicts LRU', async () => {
  const root = mkdtempSync(join(tmpdir(), 'memorize-bounded-'));
  const bytes = writeRandomModel(join(root, 'big.bin'), 512, 8);
  copyFileSync(storiesTok, join(root, 'tok512.bin'));
  // Room for one big model and a half: loading a second evicts the first.
  const budget = Math.floor(bytes * 1.6);
  const big = await startServiceProcess('model-host', {
    MEMORIZE_MODEL_HOST_MODEL_ROOT: root,
    MEMORIZE_MODEL_HOST_MODEL_CACHE_BYTES: String(budget),
  });
  const c = connect(modelHost.ModelHostClient, big.address);
  try {
    const load = (modelId: string) =>
      callUnary(c, c.loadModel, modelHost.LoadModelRequest.fromPartial({ path: 'big.bin', tokenizerPath: 'tok512.bin', modelId }), 120_000);
    const rss: number[] = [rssMiB(big.child.pid!)];
    for (let cycle = 0; cycle < 5; cycle++) {
      await load('big');
      const loaded = rssMiB(big.child.pid!);
      await callUnary(c, c.unloadModel, { modelId: 'big' }, 30_000);
      rss.push(rssMiB(big.child.pid!));
      process.stderr.write(`# cycle ${cycle + 1}: loaded RSS ${loaded.toFixed(0)} MiB, after UnloadModel ${rss[rss.length - 1].toFixed(0)} MiB\n`);
    }
    const modelMiB = bytes / MiB;
    process.stderr.write(
      `# model ${modelMiB.toFixed(0)} MiB; RSS before ${rss[0].toFixed(0)}, after each unload ${rss
        .slice(1)
        .map((r) => r.toFixed(0))
        .join(', ')} MiB\n`,
    );
    assert.ok(rss[5] - rss[1] < modelMiB, `RSS grew ${(rss[5] - rss[1]).toFixed(0)} MiB over 4 more cycles of a ${modelMiB.toFixed(0)} MiB model`);
    // Past the budget: the least recently used model goes.
    await load('first');
    await load('second');
    const models = (await callUnary(c, c.listModels, {}, 10_000)).models.map((m) => m.modelId);
    assert.deepEqual(models, ['second']);
    await assert.rejects(
      callUnary(c, c.getModelInfo, { modelId: 'first' }, 10_000),
      (e: ServiceError) => e.code === status.NOT_FOUND && /evicted/.test(e.details),
    );
  } finally {
    c.close();
    assert.equal(await big.stop(), 0);
    rmSync(root, { recursive: true, force: true });
  }
});
