/**
 * `memorize demo-model [--recipe models/demo/recipe.json] [--out models/demo] [--work DIR] [--max-steps N]`:
 * pretrains the demo's embedded base model from scratch, as its recipe says, through the project's own services:
 * the synthetic world (`synth`), a random Llama model for its word-level tokenizer (`init-model`), then one
 * full-parameter run on the trainer (the pages of A and C, A's claims as weighted 1-shot rows) on a stack of its
 * own. The result (config.json, model.safetensors, tokenizer) goes to --out with recipe.json and pretrain-log.json
 * (every step's loss, the measures, the timings). The same recipe gives the same weights; an interrupted run
 * resumes when the command is run again (the run id is fixed). --max-steps N stops after N steps and writes
 * nothing but the log to stdout: what the reproduction test compares with the committed log's first losses.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { common, trainer } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import { generateTestbed, writeTestbed } from '@memorize/fever';
import { callUnary, connect } from '@memorize/service-kit';
import { call, type Out } from '../client.js';
import { parseTrainConfig } from '../train-config.js';
import { followRun } from './runs.js';
import { stackDown, stackUp } from './stack.js';
import { writeRandomModel } from './init-model.js';

/** models/demo/recipe.json: the world, the initial model and the training of the embedded base model. */
export interface Recipe {
  world: {
    seed: number;
    set_a: number;
    set_b: number;
    set_c: number;
    versions: number;
    claims_per_entity?: [number, number, number];
    heldout_per_entity?: [number, number, number];
  };
  model: {
    dim: number;
    layers: number;
    heads: number;
    kv_heads?: number;
    hidden: number;
    max_length: number;
    tie_embeddings: boolean;
    seed: number;
    std: number;
  };
  /** Train-config sections besides corpus, model, job, locality and output (train, claim_rows). */
  train: Record<string, unknown>;
}

type Check = (v: unknown) => boolean;
const int: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const positiveInt: Check = (v) => int(v) && (v as number) >= 1;
const triple: Check = (v) => Array.isArray(v) && v.length === 3 && v.every(int);
const RECIPE_KEYS: Record<'world' | 'model', Record<string, { check: Check; optional?: boolean; what: string }>> = {
  world: {
    seed: { check: int, what: 'an integer >= 0' },
    set_a: { check: positiveInt, what: 'an integer >= 1' },
    set_b: { check: positiveInt, what: 'an integer >= 1' },
    set_c: { check: positiveInt, what: 'an integer >= 1' },
    versions: { check: positiveInt, what: 'an integer >= 1' },
    claims_per_entity: { check: triple, optional: true, what: 'three integers [S, R, N]' },
    heldout_per_entity: { check: triple, optional: true, what: 'three integers [S, R, N]' },
  },
  model: {
    dim: { check: positiveInt, what: 'an integer >= 1' },
    layers: { check: positiveInt, what: 'an integer >= 1' },
    heads: { check: positiveInt, what: 'an integer >= 1' },
    kv_heads: { check: positiveInt, optional: true, what: 'an integer >= 1' },
    hidden: { check: positiveInt, what: 'an integer >= 1' },
    max_length: { check: (v) => int(v) && (v as number) >= 2, what: 'an integer >= 2' },
    tie_embeddings: { check: (v) => typeof v === 'boolean', what: 'true or false' },
    seed: { check: int, what: 'an integer >= 0' },
    std: { check: (v) => typeof v === 'number' && v > 0 && v <= 1, what: 'a number in (0, 1]' },
  },
};

/** Checks a parsed recipe: every key known, every value of its kind (the message names the key). */
function checkRecipe(raw: unknown, path: string): Recipe {
  const fail = (key: string, why: string): never => {
    throw new InvalidArgumentError(`--recipe: ${path}: ${key}: ${why}`, '--recipe');
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(raw)) return fail('(top)', 'must be a JSON object');
  for (const key of Object.keys(raw)) if (!['world', 'model', 'train'].includes(key)) fail(key, 'unknown key');
  for (const section of ['world', 'model'] as const) {
    const value = raw[section];
    if (!isObject(value)) return fail(section, 'must be an object');
    const keys = RECIPE_KEYS[section];
    for (const key of Object.keys(value)) if (!(key in keys)) fail(`${section}.${key}`, 'unknown key');
    for (const [key, k] of Object.entries(keys)) {
      if (value[key] === undefined) {
        if (!k.optional) fail(`${section}.${key}`, 'is required');
      } else if (!k.check(value[key])) fail(`${section}.${key}`, `must be ${k.what}`);
    }
  }
  if (!isObject(raw.train)) return fail('train', 'must be an object (train-config sections: train, claim_rows)');
  return raw as unknown as Recipe;
}

export interface DemoModelOptions {
  recipe: string;
  out: string;
  work: string;
  maxSteps?: number;
  /** First port of the stack's four services (data, model-host, trainer, evaluator). */
  portBase: number;
  json?: boolean;
}

const RUN_ID = 'demo-model';
const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

export function readRecipe(path: string): Recipe {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InvalidArgumentError(`--recipe: ${path}: ${(error as Error).message}`, '--recipe');
  }
  return checkRecipe(raw, path);
}

const perLabel = (c: readonly number[] | undefined) => (c ? { SUPPORTS: c[0], REFUTES: c[1], 'NOT ENOUGH INFO': c[2] } : undefined);

/** The recipe's world, written into `dir` (the same recipe gives the same bytes); returns its manifest's sha256. */
export async function writeRecipeWorld(
  recipe: Recipe,
  dir: string,
): Promise<{ manifestSha256: string; paths: Awaited<ReturnType<typeof writeTestbed>> }> {
  const w = recipe.world;
  const paths = await writeTestbed(
    dir,
    generateTestbed({
      seed: w.seed,
      sets: { A: w.set_a, B: w.set_b, C: w.set_c },
      versions: w.versions,
      claimsPerEntity: perLabel(w.claims_per_entity),
      heldoutPerEntity: perLabel(w.heldout_per_entity),
    }),
  );
  return { manifestSha256: createHash('sha256').update(readFileSync(paths.manifest)).digest('hex'), paths };
}

export async function runDemoModel(o: DemoModelOptions, out: Out, err: Out): Promise<void> {
  const recipe = readRecipe(o.recipe);
  const work = resolve(o.work);
  mkdirSync(work, { recursive: true });
  err.write(`world: writing ${join(work, 'world')}\n`);
  const world = await writeRecipeWorld(recipe, join(work, 'world'));
  const init = join(work, 'init');
  if (!existsSync(join(init, 'model.safetensors'))) {
    rmSync(init, { recursive: true, force: true });
    const m = recipe.model;
    const s = await writeRandomModel({
      tokenizer: world.paths.wordTokenizer,
      out: init,
      dim: m.dim,
      layers: m.layers,
      heads: m.heads,
      kvHeads: m.kv_heads,
      hidden: m.hidden,
      maxLength: m.max_length,
      tieEmbeddings: m.tie_embeddings,
      seed: m.seed,
      std: m.std,
    });
    err.write(`model: ${s.parameters} parameters, random (seed ${m.seed}) in ${init}\n`);
  }
  // The whole training config, written beside the work (what ran, readable): JSON is YAML.
  const maxSteps = o.maxSteps;
  const trainSection = { ...((recipe.train.train as Record<string, unknown> | undefined) ?? {}), ...(maxSteps ? { max_steps: maxSteps } : {}) };
  const config = {
    ...recipe.train,
    train: trainSection,
    corpus: { claims: world.paths.pretrain.claims, pages: world.paths.pretrain.pages, assignment: world.paths.pretrain.assignments, all_pages: true },
    model: { path: init },
    job: 'full',
    locality: { pages: 0 },
    output: `runs/${maxSteps ? `${RUN_ID}-${maxSteps}-steps` : RUN_ID}/model`,
  };
  const configPath = join(work, maxSteps ? `pretrain-${maxSteps}-steps.yaml` : 'pretrain.yaml');
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const { spec } = parseTrainConfig(readFileSync(configPath, 'utf8'), configPath, work);

  const stackDir = join(work, maxSteps ? `stack-${maxSteps}-steps` : 'stack');
  const ports = { data: o.portBase, 'model-host': o.portBase + 1, trainer: o.portBase + 2, evaluator: o.portBase + 3 };
  const stopStack = () => stackDown({ dir: stackDir }).catch(() => undefined);
  const onSignal = () => void stopStack().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const stack = await stackUp({ dir: stackDir, ports, roots: { model: work, memory: work, data: work }, err });
    const address = stack.services.find((s) => s.name === 'trainer')!.address;
    const client = connect(trainer.TrainerClient, address);
    try {
      // A fixed run id: running the command again resumes an interrupted run from its last checkpoint.
      const runId = maxSteps ? `${RUN_ID}-${maxSteps}-steps-${Date.now()}` : RUN_ID;
      const started = await call('trainer', address, () => callUnary(client, client.startRun, { runId, spec }, 60_000));
      err.write(`run ${runId} ${started.resumed ? 'resumed' : 'started'}: ${configPath}\n`);
      const run = await followRun(client, address, runId, err);
      if (run.state !== common.JobState.JOB_STATE_SUCCEEDED)
        throw new InvalidArgumentError(`pretraining run ${runId} ended ${common.JobState[run.state]}: ${run.error}`, 'run');
      const log = {
        run_id: runId,
        world_manifest_sha256: world.manifestSha256,
        steps: run.steps.map((s) => ({ step: Number(s.step), epoch: s.epoch, loss: s.loss, learning_rate: s.learningRate, tokens: s.tokens })),
        measures: run.measures.map((m) => ({ step: Number(m.step), memorization_error: m.memorizationError })),
        timings: {
          train_seconds: run.timings?.trainSeconds ?? 0,
          tokens: Number(run.timings?.tokens ?? 0),
          tokens_per_second: run.timings?.tokensPerSecond ?? 0,
        },
      };
      if (maxSteps) {
        out.write(`${JSON.stringify(log)}\n`);
        return;
      }
      const target = resolve(o.out);
      const tmp = `${target}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      for (const f of MODEL_FILES) copyFileSync(join(work, run.outputPath, f), join(tmp, f));
      writeFileSync(join(tmp, 'recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`);
      writeFileSync(join(tmp, 'pretrain-log.json'), `${JSON.stringify(log)}\n`);
      // The folder appears whole: the old one goes only once the new one is complete.
      rmSync(`${target}.old`, { recursive: true, force: true });
      if (existsSync(target)) renameSync(target, `${target}.old`);
      renameSync(tmp, target);
      rmSync(`${target}.old`, { recursive: true, force: true });
      const summary = { out: target, steps: log.steps.length, final_loss: log.steps.at(-1)?.loss ?? null, ...log.timings };
      out.write(
        o.json
          ? `${JSON.stringify(summary)}\n`
          : `wrote ${target}: ${summary.steps} steps, final loss ${summary.final_loss?.toFixed(4)}, ${Math.round(summary.tokens_per_second)} tokens/s\n`,
      );
    } finally {
      client.close();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopStack();
  }
}
