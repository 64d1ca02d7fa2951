/**
 * `memorize data stats|prompt` and `memorize synth`: the FEVER pipeline run locally (no service), for
 * researchers checking what a corpus holds and the exact prompt a model sees.
 */
import { resolve } from 'node:path';
import { buildCorpus, generateTestbed, generateWorld, selectExamples, buildPrompt, writeTestbed, writeWorld, type Corpus } from '@memorize/fever';
import { loadTokenizer } from '@memorize/lm';
import { existsSync, statSync } from 'node:fs';
import { AlreadyExistsError, InvalidArgumentError, MemorizeError, NotFoundError } from '@memorize/errors';
import { checkRegularFile } from '@memorize/files';
import { FlagError, fromFlag } from '../flags.js';

export interface CorpusCommandOptions {
  claims: string;
  pages: string;
  assignment?: string;
  top?: number;
  seed?: number;
  poolPerPage?: number;
  tokenizer?: string;
  maxLength?: number;
  strict?: boolean;
}

async function corpusFrom(o: CorpusCommandOptions): Promise<Corpus> {
  // Each input file is checked (a regular file that opens) under its flag before any reading starts.
  const files: [flag: string, shown: string | undefined][] = [
    ['--claims', o.claims],
    ['--pages', o.pages],
    ['--assignment', o.assignment],
  ];
  for (const [flag, shown] of files) if (shown !== undefined) checkRegularFile(resolve(shown), flag, { shown });
  const tokenizerPath = o.tokenizer;
  const tokenizer = tokenizerPath ? await fromFlag('--tokenizer', () => loadTokenizer(resolve(tokenizerPath))) : undefined;
  // The fever lib names a file's errors by its path: report them under the flag that gave that path.
  const byPath = new Map(files.filter(([, shown]) => shown !== undefined).map(([flag, shown]) => [resolve(shown!), flag]));
  try {
    return await buildCorpusFrom(o, tokenizer);
  } catch (error) {
    const flag = error instanceof MemorizeError && error.field !== undefined ? byPath.get(resolve(error.field)) : undefined;
    throw flag !== undefined && error instanceof MemorizeError && !(error instanceof FlagError) ? new FlagError(flag, error) : error;
  }
}

function buildCorpusFrom(o: CorpusCommandOptions, tokenizer: Awaited<ReturnType<typeof loadTokenizer>> | undefined): Promise<Corpus> {
  return buildCorpus(
    { claims: resolve(o.claims), pages: resolve(o.pages), assignments: o.assignment ? resolve(o.assignment) : undefined },
    {
      topN: o.top,
      seed: o.seed ?? 0,
      poolPerPage: o.poolPerPage,
      tokenizer,
      tokenizerId: o.tokenizer,
      maxLength: o.maxLength,
      mode: o.strict ? 'strict' : 'lenient',
    },
  );
}

/** The figures `data stats` reports. */
export interface CorpusStatsSummary {
  pages: number;
  claims: { SUPPORTS: number; REFUTES: number; 'NOT ENOUGH INFO': number };
  pool: number;
  eval: number;
  tokens?: number;
  chunks?: number;
  filled: number;
  skipped_lines: number;
  claims_without_page: number;
  corpus_hash: string;
}

export async function runDataStats(o: CorpusCommandOptions & { json?: boolean }, out: NodeJS.WritableStream): Promise<CorpusStatsSummary> {
  const t0 = performance.now();
  const corpus = await corpusFrom(o);
  const s = corpus.stats;
  const summary: CorpusStatsSummary = {
    pages: s.pages,
    claims: { SUPPORTS: s.claims.SUPPORTS, REFUTES: s.claims.REFUTES, 'NOT ENOUGH INFO': s.claims['NOT ENOUGH INFO'] },
    pool: s.pool,
    eval: s.eval,
    ...(s.tokens !== undefined ? { tokens: s.tokens, chunks: s.chunks } : {}),
    filled: s.filled,
    skipped_lines: s.malformed.count,
    claims_without_page: s.missingPage.count,
    corpus_hash: corpus.hash,
  };
  process.stderr.write(`built corpus in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  if (s.malformed.count > 0) for (const m of s.malformed.first) process.stderr.write(`skipped ${m.location}: ${m.message}\n`);
  if (o.json) out.write(JSON.stringify(summary) + '\n');
  else {
    const total = summary.claims.SUPPORTS + summary.claims.REFUTES + summary.claims['NOT ENOUGH INFO'];
    out.write(
      `pages   ${summary.pages}\nclaims  ${total} (SUPPORTS ${summary.claims.SUPPORTS}, REFUTES ${summary.claims.REFUTES}, NOT ENOUGH INFO ${summary.claims['NOT ENOUGH INFO']})\n`,
    );
    out.write(`pool    ${summary.pool} (${summary.filled} filled from other pages)\neval    ${summary.eval}\n`);
    if (summary.tokens !== undefined) out.write(`tokens  ${summary.tokens} in ${summary.chunks} chunks\n`);
  }
  return summary;
}

export async function runDataPrompt(
  o: CorpusCommandOptions & { claimId: number; shots: number; json?: boolean },
  out: NodeJS.WritableStream,
): Promise<void> {
  if (!Number.isInteger(o.shots) || o.shots < 0) throw new InvalidArgumentError('--shots must be a non-negative integer', '--shots');
  const corpus = await corpusFrom(o);
  for (const page of corpus.pages) {
    const claim = [...page.eval, ...page.pool].find((c) => c.id === o.claimId);
    if (!claim) continue;
    const examples = selectExamples(page, o.shots, { seed: corpus.options.seed, claimId: claim.id });
    const prompt = buildPrompt(examples, claim.claim);
    if (o.json)
      out.write(JSON.stringify({ claim_id: claim.id, page: page.id, label: claim.label, example_ids: examples.map((e) => e.id), prompt }) + '\n');
    else out.write(prompt + '\n');
    return;
  }
  throw new NotFoundError(
    `claim ${o.claimId} is not in the selected corpus (not in the claims file, or its page is not among the top pages)`,
    '--claim-id',
  );
}

type PerEntity = { SUPPORTS: number; REFUTES: number; 'NOT ENOUGH INFO': number };

export interface SynthCommandOptions {
  seed: number;
  /** Two-split world: entities of each of pretrain and memorize. */
  entities?: number;
  /** Testbed: entities of A, B and C (all three, instead of `entities`). */
  sets?: { A?: number; B?: number; C?: number };
  versions?: number;
  claimsPerEntity?: PerEntity;
  heldoutPerEntity?: PerEntity;
  out: string;
  json?: boolean;
}

export async function runSynth(o: SynthCommandOptions, out: NodeJS.WritableStream): Promise<void> {
  const given = (['A', 'B', 'C'] as const).filter((s) => o.sets?.[s] !== undefined);
  const flag = (s: 'A' | 'B' | 'C') => `--set-${s.toLowerCase()}`;
  if (given.length > 0 && given.length < 3) {
    const missing = (['A', 'B', 'C'] as const).filter((s) => !given.includes(s)).map(flag);
    throw new InvalidArgumentError(`a testbed needs --set-a, --set-b and --set-c (missing ${missing.join(', ')})`, missing[0]);
  }
  const testbed = given.length === 3;
  if (testbed && o.entities !== undefined) throw new InvalidArgumentError('give --entities or --set-a/--set-b/--set-c, not both', '--entities');
  if (!testbed && o.entities === undefined)
    throw new InvalidArgumentError('give --entities (two-split world) or --set-a, --set-b and --set-c (testbed)', '--entities');
  if (!testbed && o.heldoutPerEntity !== undefined)
    throw new InvalidArgumentError('--heldout-per-entity is for a testbed (--set-a/--set-b/--set-c)', '--heldout-per-entity');
  if (o.entities !== undefined && (!Number.isInteger(o.entities) || o.entities < 1)) {
    throw new InvalidArgumentError('--entities must be a positive integer', '--entities');
  }
  for (const s of given) {
    const n = o.sets![s]!;
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag(s)} must be a positive integer`, flag(s));
  }
  const target = resolve(o.out);
  if (existsSync(target) && !statSync(target).isDirectory()) throw new AlreadyExistsError(`--out ${o.out} exists and is not a folder`, '--out');
  const common = { seed: o.seed, versions: o.versions, claimsPerEntity: o.claimsPerEntity };
  const paths = testbed
    ? await fromFlag('--out', () =>
        writeTestbed(
          target,
          generateTestbed({ ...common, sets: { A: o.sets!.A!, B: o.sets!.B!, C: o.sets!.C! }, heldoutPerEntity: o.heldoutPerEntity }),
        ),
      )
    : await fromFlag('--out', () => writeWorld(target, generateWorld({ ...common, entities: o.entities! })));
  if (o.json) out.write(JSON.stringify(paths) + '\n');
  else out.write(`${resolve(o.out)}\n`);
}
