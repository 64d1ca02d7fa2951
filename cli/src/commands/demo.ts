/**
 * `memorize demo` (`npm run demo`): the research question in miniature, from a fresh clone. It regenerates the
 * synthetic world the embedded model (models/demo) was pretrained on from the model's recipe.json, starts the local
 * stack (the four services as processes, on free ports, in its own folder), runs the demo sweep (configs/demo/
 * sweep.yaml: B's pages memorized, B's claims scored, every variant against the pretrained model), evaluates the
 * pretrained model on C claims (the parametric-knowledge ceiling) and A-held-out claims, prints the table, the
 * references and where report.html is, and stops the services — also on Ctrl-C, SIGTERM and SIGHUP, and when the
 * process that started it is gone.
 *
 * `--fever DIR --model M` runs the FEVER sweep (configs/demo/fever.yaml) on real FEVER files with a real checkpoint;
 * `--quick` is the smallest run that goes through every stage (tests).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { InvalidArgumentError } from '@memorize/errors';
import { loadSweepConfig, replayFields, sweepFields } from '../eval-config.js';
import { path as pathType, readConfigFile } from '../train-config.js';
import { clock } from '../progress.js';
import type { Out } from '../client.js';
import { runSynth, type SynthCommandOptions } from './data.js';
import { readStack, stackDown, stackUp } from './stack.js';
import { runEval, runSweep, type EvalSummary } from './evals.js';

/** The repository root: the defaults (models/demo, configs/demo, .memorize/demo) are found from here, not the cwd. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const demoModel = join(repoRoot, 'models', 'demo');
export const demoHome = join(repoRoot, '.memorize', 'demo');
export const demoWorld = join(demoHome, 'world');
export const demoSweepConfig = join(repoRoot, 'configs', 'demo', 'sweep.yaml');
export const demoFeverConfig = join(repoRoot, 'configs', 'demo', 'fever.yaml');

/** The FEVER files `--fever DIR` must hold. */
export const feverFileNames = { claims: 'paper_test.jsonl', pages: 'wiki-pages.jsonl', assignment: 'page_assignment.jsonl' } as const;

/** Claims scored per reference evaluation (C, A-held-out) of the pretrained model; --quick: QUICK.limit. */
export const REFERENCE_LIMIT = 300;

/** What --quick keeps: the variants (by name, those the config has), one layer, a few steps and claims. */
export const QUICK = { variants: ['pretrained', 'memory stable'], steps: 6, top: 20, limit: 30, locality: 0 } as const;

export interface DemoOptions {
  /** A folder with FEVER's paper_test.jsonl, wiki-pages.jsonl and page_assignment.jsonl: the real-data sweep. */
  fever?: string;
  /** A model (HF folder or llama2.c .bin) instead of models/demo. */
  model?: string;
  /** The smallest run through every stage: two variants, one layer, a few steps and claims. */
  quick?: boolean;
  /** A sweep config instead of configs/demo/sweep.yaml (configs/demo/fever.yaml with --fever). */
  config?: string;
  /** The stack's folder, memories and generated configs [.memorize/demo]. */
  dir?: string;
  /** The synthetic world [.memorize/demo/world]. */
  world?: string;
  /** The report folder [<dir>/report]. */
  out?: string;
}

/** The world options of models/demo/recipe.json: {"world": {seed, set_a, set_b, set_c, versions, ...}}. */
export interface WorldRecipe {
  seed: number;
  sets: { A: number; B: number; C: number };
  versions: number;
  claimsPerEntity?: SynthCommandOptions['claimsPerEntity'];
  heldoutPerEntity?: SynthCommandOptions['heldoutPerEntity'];
}

/**
 * Reads a model's recipe.json: `world.seed`, `world.set_a`, `world.set_b`, `world.set_c`, `world.versions` (integers;
 * required) and optionally `world.claims_per_entity` and `world.heldout_per_entity` ([S, R, N] claims per entity),
 * the options of `memorize synth` that wrote the world the model was pretrained on.
 */
export function readRecipe(file: string): WorldRecipe {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file (the embedded model and its recipe are models/demo/)' : e.message;
    throw new InvalidArgumentError(`${file}: ${why}`, '--model');
  }
  const world = (raw as { world?: unknown } | null)?.world;
  if (typeof world !== 'object' || world === null) throw new InvalidArgumentError(`${file}: "world" must be an object of synth options`, '--model');
  const w = world as Record<string, unknown>;
  const int = (key: string, min: number, max: number): number => {
    const v = w[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new InvalidArgumentError(`${file}: world.${key} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`, '--model');
    return v;
  };
  const perEntity = (key: string): WorldRecipe['claimsPerEntity'] => {
    const v = w[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((n) => Number.isInteger(n) && n >= 0 && n <= 1000))
      throw new InvalidArgumentError(`${file}: world.${key} must be [S, R, N], three integers in 0..1000, got ${JSON.stringify(v)}`, '--model');
    return { SUPPORTS: v[0] as number, REFUTES: v[1] as number, 'NOT ENOUGH INFO': v[2] as number };
  };
  return {
    seed: int('seed', 0, 2 ** 32 - 1),
    sets: { A: int('set_a', 1, 1_000_000), B: int('set_b', 1, 1_000_000), C: int('set_c', 1, 1_000_000) },
    versions: int('versions', 1, 64),
    claimsPerEntity: perEntity('claims_per_entity'),
    heldoutPerEntity: perEntity('heldout_per_entity'),
  };
}

/** Whether `dir` holds the world of `recipe`: its world.json says these options and every file it lists is there. */
export function worldMatches(dir: string, recipe: WorldRecipe): boolean {
  let manifest: { kind?: string; options?: Record<string, unknown>; files?: Record<string, unknown> };
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'world.json'), 'utf8')) as typeof manifest;
  } catch {
    return false;
  }
  const o = manifest.options ?? {};
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  if (manifest.kind !== 'memorize-synthetic-testbed' || o.seed !== recipe.seed || o.versions !== recipe.versions) return false;
  const sets = o.sets as Record<string, unknown> | undefined;
  if (!sets || sets.A !== recipe.sets.A || sets.B !== recipe.sets.B || sets.C !== recipe.sets.C) return false;
  if (recipe.claimsPerEntity && !same(o.claimsPerEntity, recipe.claimsPerEntity)) return false;
  if (recipe.heldoutPerEntity && !same(o.heldoutPerEntity, recipe.heldoutPerEntity)) return false;
  return Object.keys(manifest.files ?? {}).every((f) => existsSync(join(dir, f)));
}

/**
 * Writes the world of `recipe` into `dir` unless it is there already (worldMatches): generated in a folder beside
 * it, then put in place. Returns whether it was generated.
 */
export async function ensureWorld(dir: string, recipe: WorldRecipe, onTemp: (tmp: string | undefined) => void): Promise<boolean> {
  if (worldMatches(dir, recipe)) return false;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  onTemp(tmp);
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  await runSynth(
    {
      seed: recipe.seed,
      sets: recipe.sets,
      versions: recipe.versions,
      claimsPerEntity: recipe.claimsPerEntity,
      heldoutPerEntity: recipe.heldoutPerEntity,
      out: tmp,
    },
    sink,
  );
  rmSync(dir, { recursive: true, force: true });
  try {
    renameSync(tmp, dir);
  } catch (error) {
    // Another demo put the same world in place meanwhile: keep that one.
    if (!worldMatches(dir, recipe)) throw error;
    rmSync(tmp, { recursive: true, force: true });
  }
  onTemp(undefined);
  return true;
}

const within = (path: string, folder: string): boolean => path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);

/** Hard links of a file, or of every file below a folder, at `to` (copies where a link cannot be made). */
function linkTree(from: string, to: string): void {
  if (statSync(from).isDirectory()) {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from)) linkTree(join(from, entry), join(to, entry));
    return;
  }
  if (!statSync(from).isFile()) return;
  mkdirSync(dirname(to), { recursive: true });
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/**
 * The demo's inputs inside its folder `home`, which is the services' model and data root: what lies outside is put
 * in `home/inputs/<source folder's hash>/<name>` as hard links (copies across file systems), so that the services read
 * nothing else and write nothing else (a full fine-tune writes its model into the model root, `home/runs/`). A
 * model file (llama2.c .bin) brings the files beside it (its tokenizer).
 */
export class Inputs {
  private readonly folder: string;
  constructor(private readonly home: string) {
    this.folder = join(home, 'inputs');
    rmSync(this.folder, { recursive: true, force: true }); // links of an earlier run may be to older files
  }

  place(path: string, { withSiblings = false } = {}): string {
    const abs = resolve(path);
    if (within(abs, this.home)) return abs;
    if (!existsSync(abs)) return abs; // the service says it is missing, naming the path
    const source = dirname(abs);
    const at = join(this.folder, createHash('sha256').update(source).digest('hex').slice(0, 12));
    if (withSiblings && statSync(abs).isFile()) {
      for (const entry of readdirSync(source)) if (statSync(join(source, entry)).isFile()) linkTree(join(source, entry), join(at, entry));
    } else if (!existsSync(join(at, basename(abs)))) linkTree(abs, join(at, basename(abs)));
    return join(at, basename(abs));
  }
}

/** `n` distinct ports that were free a moment ago (listened on together, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((ok, fail) => {
          const s = createServer();
          s.once('error', fail);
          s.listen(0, '127.0.0.1', () => ok(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

type Yaml = Record<string, unknown>;
const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);
const section = (doc: Yaml, key: string): Yaml => {
  if (!isMap(doc[key])) doc[key] = {};
  return doc[key] as Yaml;
};
const variantName = (v: unknown): string | undefined => (typeof v === 'string' ? v : isMap(v) && typeof v.name === 'string' ? v.name : undefined);

/** The path keys of a sweep config ("corpus.claims", "model.path", ...), from its schema. */
const sweepPathKeys = sweepFields.filter((f) => f.value === pathType).map((f) => f.key.split('.'));
const replayPathKeys = replayFields.filter((f) => f.value === pathType).map((f) => f.key);

/** Every path of a sweep config (as the YAML has it) replaced by `fix(path)`. */
function mapPaths(doc: Yaml, fix: (path: string, key: string) => string): void {
  const one = (p: unknown, key: string): unknown => (typeof p === 'string' && p !== '' ? fix(p, key) : p);
  for (const [top, key] of sweepPathKeys)
    if (isMap(doc[top]) && key !== undefined) (doc[top] as Yaml)[key] = one((doc[top] as Yaml)[key], `${top}.${key}`);
  if (Array.isArray(doc.variants))
    for (const v of doc.variants)
      if (isMap(v) && isMap(v.replay)) for (const k of replayPathKeys) if (k in v.replay) v.replay[k] = one(v.replay[k], `replay.${k}`);
}

/** The sweep config a demo starts from: --config, else configs/demo/fever.yaml with --fever, else configs/demo/sweep.yaml. */
export const demoConfigFile = (o: Pick<DemoOptions, 'config' | 'fever'>): string => o.config ?? (o.fever ? demoFeverConfig : demoSweepConfig);

export interface DemoPlan {
  /** The sweep config the demo runs (written into the demo folder, paths absolute). */
  sweepConfig: string;
  /** The reference evaluations of the pretrained model (synthetic world only): label and config file. */
  references: Array<{ label: string; config: string }>;
  /** The model and data root of the services: the demo's folder, holding the model, its tokenizer and every data file. */
  root: string;
}

/**
 * The demo's configs, written into `home/run`: the sweep (its model and corpus replaced as the flags say, cut down
 * by --quick) and, on the synthetic world, one eval config per reference set (C, A-held-out) with the sweep's model
 * and scoring. Every path is absolute and inside `home` (Inputs).
 */
export function planDemo(o: DemoOptions, home: string, world: string | undefined, model: string): DemoPlan {
  const configFile = demoConfigFile(o);
  const { text, baseDir } = readConfigFile(configFile);
  const doc = parse(text) as Yaml;
  // Paths absolute; those inside the default world moved to the same place in `world` (a world elsewhere).
  mapPaths(doc, (p) => {
    const abs = isAbsolute(p) ? resolve(p) : resolve(baseDir, p);
    if (!world || resolve(world) === demoWorld || !within(abs, demoWorld)) return abs;
    return join(resolve(world), relative(demoWorld, abs));
  });
  const corpus = section(doc, 'corpus');
  if (o.fever) {
    corpus.claims = resolve(o.fever, feverFileNames.claims);
    corpus.pages = resolve(o.fever, feverFileNames.pages);
    corpus.assignment = resolve(o.fever, feverFileNames.assignment);
  }
  const modelSection = section(doc, 'model');
  if (o.model) {
    modelSection.path = model;
    delete modelSection.tokenizer;
  }
  const train = section(doc, 'train');
  const evalSection = section(doc, 'eval');
  if (o.quick) {
    const variants = Array.isArray(doc.variants) ? doc.variants : [];
    const kept = variants.filter((v) => (QUICK.variants as readonly string[]).includes(variantName(v) ?? ''));
    doc.variants = kept.length === QUICK.variants.length ? kept : variants.slice(0, 2);
    if (Array.isArray(doc.layers) && doc.layers.length > 0) doc.layers = [doc.layers[doc.layers.length - 1]];
    const top = typeof corpus.top === 'number' && corpus.top > 0 ? Math.min(corpus.top, QUICK.top) : QUICK.top;
    corpus.top = top;
    Object.assign(train, { max_steps: QUICK.steps, eval_every: QUICK.steps, checkpoint_every: QUICK.steps, warmup_steps: 1 });
    section(doc, 'locality').pages = QUICK.locality;
    evalSection.limit = QUICK.limit;
  }
  const inputs = new Inputs(home);
  mapPaths(doc, (p, key) => inputs.place(p, { withSiblings: key === 'model.path' }));
  const runDir = join(home, 'run');
  mkdirSync(runDir, { recursive: true });
  const sweepConfig = join(runDir, 'sweep.yaml');
  writeFileSync(sweepConfig, `# written by memorize demo from ${configFile}\n${stringify(doc)}`);
  loadSweepConfig(sweepConfig);

  const references: DemoPlan['references'] = [];
  if (world) {
    const keep = (keys: string[]) => Object.fromEntries(keys.filter((k) => evalSection[k] !== undefined).map((k) => [k, evalSection[k]]));
    for (const [set, label] of [
      ['C', 'C claims (pages in pretraining, claims never: the parametric-knowledge ceiling)'],
      ['A-heldout', 'A-held-out claims (pretraining pages, other claims than those trained on)'],
    ] as const) {
      const files = {
        claims: inputs.place(join(world, set, 'claims.jsonl')),
        pages: inputs.place(join(world, set, 'wiki-pages.jsonl')),
        assignment: inputs.place(join(world, set, 'page_assignment.jsonl')),
      };
      const config = {
        corpus: {
          ...files,
          ...Object.fromEntries(['pool_per_page', 'split_seed'].filter((k) => corpus[k] !== undefined).map((k) => [k, corpus[k]])),
        },
        model: modelSection,
        eval: {
          ...keep(['shots', 'scoring', 'batch_size', 'seed', 'max_new_tokens']),
          limit: o.quick ? QUICK.limit : REFERENCE_LIMIT,
          name: `pretrained on ${set}`,
        },
      };
      const file = join(runDir, `reference-${set}.yaml`);
      writeFileSync(file, `# written by memorize demo: the pretrained model on set ${set} of ${world}\n${stringify(config)}`);
      references.push({ label, config: file });
    }
  }
  return { sweepConfig, references, root: home };
}

/** A stream that keeps what is written (the JSON a command prints) and passes nothing on. */
function capture(): Out & { text(): string } {
  const chunks: string[] = [];
  return {
    write: (s: string | Uint8Array) => {
      chunks.push(typeof s === 'string' ? s : Buffer.from(s).toString());
      return true;
    },
    text: () => chunks.join(''),
  } as unknown as Out & { text(): string };
}

const accuracyText = (s: EvalSummary): string =>
  s.accuracy === null
    ? `${s.state}${s.error ? `: ${s.error}` : ''}`
    : `${s.accuracy.toFixed(3)} [${s.ci_low!.toFixed(3)}, ${s.ci_high!.toFixed(3)}] (n = ${s.n})`;

/**
 * `err` with the followed jobs' "(Ctrl-C detaches; ...)" said as it is in the demo: Ctrl-C stops the demo and the
 * services (the jobs do not run on).
 */
function demoProgress(err: Out): Out {
  const said = (s: string): string => s.replace(/ \(Ctrl-C detaches;[^)\n]*\)/g, ' (Ctrl-C stops the demo and its services)');
  return {
    write: (s: string | Uint8Array, ...rest: unknown[]) => (err.write as (...a: unknown[]) => boolean)(typeof s === 'string' ? said(s) : s, ...rest),
    get isTTY() {
      return err.isTTY;
    },
    get columns() {
      return err.columns;
    },
  } as unknown as Out;
}

/** `memorize demo`: world, stack, sweep, references, table, report; the stack stopped whatever happens. */
export async function runDemo(o: DemoOptions, out: Out, stderr: Out): Promise<void> {
  const began = Date.now();
  const err = demoProgress(stderr);
  if (o.fever && !o.model)
    throw new InvalidArgumentError(
      '--fever needs --model: the embedded model knows only the words of its synthetic world (e.g. --model ../shared/models/stories260K/hf)',
      '--fever',
    );
  if (o.fever)
    for (const f of Object.values(feverFileNames))
      if (!existsSync(join(o.fever, f))) throw new InvalidArgumentError(`--fever: ${join(o.fever, f)}: no such file`, '--fever');
  loadSweepConfig(demoConfigFile(o)); // a bad config is refused naming the file the user gave, before anything starts
  const model = resolve(o.model ?? demoModel);
  if (!existsSync(model))
    throw new InvalidArgumentError(
      `--model: ${model}: no such file or folder${o.model ? '' : ' (the embedded model is models/demo/ in the repository)'}`,
      '--model',
    );
  const home = resolve(o.dir ?? demoHome);
  const stackFolder = join(home, 'stack');
  const memories = join(home, 'memories');
  const reportDir = resolve(o.out ?? join(home, 'report'));
  const world = o.fever ? undefined : resolve(o.world ?? demoWorld);

  // Ctrl-C, SIGTERM, SIGHUP, or the process that started the demo gone (npm does not pass its SIGTERM on), from here
  // on: stop the services (and drop a half-written world), then exit.
  let tempWorld: string | undefined;
  let stopping: Promise<never> | undefined;
  let stackStarted = false;
  const exitCodes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  const shutdown = (why: NodeJS.Signals | 'the parent process exited'): Promise<never> => {
    stopping ??= (async () => {
      err.write(`\ndemo: ${why}: stopping the services\n`);
      if (tempWorld) rmSync(tempWorld, { recursive: true, force: true });
      if (stackStarted || readStack(stackFolder)) await stopStack(stackFolder, err);
      process.exit(exitCodes[why] ?? 143);
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => void shutdown(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, onSignal);
  const parent = process.ppid;
  const orphaned = setInterval(() => process.ppid !== parent && void shutdown('the parent process exited'), 1_000);
  orphaned.unref();
  const step = async <T>(what: () => Promise<T>): Promise<T> => {
    try {
      return await what();
    } catch (error) {
      if (stopping) await stopping; // a signal: the rejection is the interrupted call's
      throw error;
    }
  };

  try {
    if (world) {
      const recipeFile = existsSync(join(model, 'recipe.json')) ? join(model, 'recipe.json') : join(demoModel, 'recipe.json');
      const recipe = readRecipe(recipeFile);
      const what = `seed ${recipe.seed}, A ${recipe.sets.A}, B ${recipe.sets.B}, C ${recipe.sets.C} entities, ${recipe.versions} versions`;
      err.write(`demo: world ${world} (${what}, from ${recipeFile})\n`);
      const generated = await step(() => ensureWorld(world, recipe, (tmp) => (tempWorld = tmp)));
      err.write(`demo: world ${generated ? 'generated' : 'up to date'}\n`);
    }
    const plan = planDemo({ ...o, model }, home, world, model);
    err.write(`demo: sweep ${plan.sweepConfig}\n`);

    // A fresh stack: what an earlier demo left (a killed run) is stopped, and its stores and memories are dropped so
    // that the evaluator does not resume an unfinished sweep of it.
    if (readStack(stackFolder)) await stopStack(stackFolder, err);
    for (const d of ['trainer', 'evaluator']) rmSync(join(stackFolder, d), { recursive: true, force: true });
    for (const d of [memories, join(home, 'runs')]) rmSync(d, { recursive: true, force: true });
    const [data, host, trainer, evaluator] = await freePorts(4);
    err.write(`demo: starting the stack in ${stackFolder} (model and data root ${plan.root})\n`);
    stackStarted = true;
    const stack = await step(() =>
      stackUp({
        dir: stackFolder,
        host: '127.0.0.1',
        ports: { data, 'model-host': host, trainer, evaluator },
        roots: { model: plan.root, data: plan.root, memory: memories },
        err,
      }),
    );
    const evaluatorAddress = stack.services.find((s) => s.name === 'evaluator')!.address;

    const references: Array<{ label: string; summary: EvalSummary }> = [];
    for (const r of plan.references) {
      err.write(`demo: reference: the pretrained model on ${r.label}\n`);
      const sink = capture();
      await step(() => runEval({ config: r.config, json: true, evaluator: evaluatorAddress }, sink, err));
      references.push({ label: r.label, summary: JSON.parse(sink.text()) as EvalSummary });
    }

    err.write(`demo: the sweep (progress below; the table follows when every cell is done)\n`);
    await step(() => runSweep({ config: plan.sweepConfig, out: reportDir, evaluator: evaluatorAddress }, out, err));

    if (references.length > 0) {
      out.write('\nReference evaluations of the pretrained model (not sweep cells; 95% bootstrap CIs):\n');
      for (const r of references) out.write(`  ${accuracyText(r.summary)}  ${r.label}\n`);
      mkdirSync(reportDir, { recursive: true });
      writeFileSync(join(reportDir, 'references.json'), JSON.stringify(references, null, 2) + '\n');
    }
    out.write(`\nreport.html: ${join(reportDir, 'report.html')}\n`);
  } finally {
    if (stopping) await stopping;
    if (stackStarted) await stopStack(stackFolder, err);
    clearInterval(orphaned);
    for (const sig of signals) process.off(sig, onSignal);
    err.write(`demo: took ${clock((Date.now() - began) / 1000)}\n`);
  }
}

async function stopStack(dir: string, err: Out): Promise<void> {
  const stopped = await stackDown({ dir });
  if (stopped.length > 0) err.write(`demo: services stopped (${stopped.map((s) => `${s.name} ${s.how}`).join(', ')})\n`);
}
