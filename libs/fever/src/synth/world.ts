/**
 * Synthetic fact worlds in FEVER format: fictional people, places and organisations with attributes.
 * SUPPORTS claims state a fact of the page, REFUTES claims swap an attribute value, NOT ENOUGH INFO
 * claims are about an attribute the page does not state. Either two disjoint entity sets (generateWorld: one
 * to pretrain a base model, one to memorise) or the three of a testbed (generateTestbed: A, pages and claims in
 * pretraining; C, pages only; B, never in pretraining). Pages may come in several paraphrased, sentence-shuffled
 * versions: extra pages of pretraining text stating the same facts, while claims cite the canonical page.
 */
import { InvalidArgumentError } from '@memorize/errors';
import type { PageAssignment } from '../assignment.js';
import type { FeverClaim, Label } from '../claims.js';
import type { WikiPage } from '../pages.js';
import { derivedRandom, randomIndex, shuffled } from '../prng.js';
import { pageIdFromTitle } from '../text.js';
import { PROMPT_HEADER, buildPrompt } from '../prompt.js';
import { ATTRIBUTES, INDUSTRIES, INTRO_TEMPLATES, OCCUPATIONS, introSentence, type AttributeSpec, type EntityKind } from './attributes.js';
import { organisationName, personName, placeName, uniqueName } from './names.js';
import {
  byteLevelTokenizerConfig,
  byteLevelTokenizerJson,
  wordLevelTokenizerConfig,
  wordLevelTokenizerJson,
  type HfTokenizerJson,
  type WordLevelTokenizerJson,
} from './tokenizer.js';

export type WorldSplit = 'pretrain' | 'memorize' | TestbedSplit;
/** A: pages and claims in pretraining; A-heldout: other claims about A; C: pages only; B: never in pretraining. */
export type TestbedSplit = 'A' | 'A-heldout' | 'B' | 'C';

export interface WorldEntity {
  /** FEVER page id (name with _ for spaces). */
  pageId: string;
  name: string;
  kind: EntityKind;
  /** Every attribute's true value, stated on the page or not. */
  facts: Record<string, string>;
  /** Attributes the page states, with the sentence id stating each. */
  stated: Record<string, number>;
}

export interface WorldClaimFact {
  claimId: number;
  pageId: string;
  attribute: string;
  /** The value the claim asserts. */
  value: string;
  label: Label;
}

export interface WorldPart {
  split: WorldSplit;
  entities: WorldEntity[];
  /** The canonical page of each entity (the one claims cite), in entity order. */
  pages: WikiPage[];
  /**
   * Paraphrased, sentence-shuffled versions 1..n-1 of each page (id "<page>_-LRB-v<k>-RRB-"), in entity order:
   * the same facts in other templates and order, pretraining text only. Empty with one version.
   */
  versions: WikiPage[];
  claims: FeverClaim[];
  assignments: PageAssignment[];
  /** What each claim asserts, for checking claims against pages. */
  claimFacts: WorldClaimFact[];
}

export interface World {
  seed: number;
  pretrain: WorldPart;
  memorize: WorldPart;
  /** A byte-level HF tokenizer.json covering any text of the world. */
  tokenizer: HfTokenizerJson;
  /** Its tokenizer_config.json (special tokens, no space clean-up on decode). */
  tokenizerConfig: Record<string, unknown>;
  /** A word-level HF tokenizer.json whose vocabulary holds every word of the world (see worldWords). */
  wordTokenizer: WordLevelTokenizerJson;
  wordTokenizerConfig: Record<string, unknown>;
}

export interface ClaimsPerEntity {
  SUPPORTS: number;
  REFUTES: number;
  'NOT ENOUGH INFO': number;
}

export interface WorldOptions {
  seed: number;
  /** Entities per split (one number for both, or per split). */
  entities: number | { pretrain: number; memorize: number };
  /** Claims generated per entity and label (default 2 SUPPORTS, 2 REFUTES, 2 NOT ENOUGH INFO). */
  claimsPerEntity?: Partial<ClaimsPerEntity>;
  /** Versions of each page: 1 (default) the canonical page only, n adds n-1 paraphrased, shuffled versions. */
  versions?: number;
}

export interface TestbedOptions {
  seed: number;
  /** Entities of each set. */
  sets: { A: number; B: number; C: number };
  /** Claims per entity and label of every set (default 1 SUPPORTS, 1 REFUTES, 1 NOT ENOUGH INFO: few, so a claim table cannot be memorised). */
  claimsPerEntity?: Partial<ClaimsPerEntity>;
  /** Further claims per A entity and label, distinct from its training claims, for A-heldout (default 1, 1, 1). */
  heldoutPerEntity?: Partial<ClaimsPerEntity>;
  /** Versions of each page (default 1; see WorldOptions.versions). */
  versions?: number;
}

export interface Testbed {
  seed: number;
  /** The options with defaults filled in. */
  options: Required<Omit<TestbedOptions, 'claimsPerEntity' | 'heldoutPerEntity'>> & {
    claimsPerEntity: ClaimsPerEntity;
    heldoutPerEntity: ClaimsPerEntity;
  };
  A: WorldPart;
  /** The A entities and pages again, with held-out claims (never in pretraining). */
  heldoutA: WorldPart;
  C: WorldPart;
  B: WorldPart;
  tokenizer: HfTokenizerJson;
  tokenizerConfig: Record<string, unknown>;
  wordTokenizer: WordLevelTokenizerJson;
  wordTokenizerConfig: Record<string, unknown>;
}

const KINDS: readonly EntityKind[] = ['person', 'place', 'organisation'];

/** Value pools shared by both splits (the entities differ, the vocabulary of values does not). */
export interface ValuePools {
  country: string[];
  city: string[];
  river: string[];
  founder: string[];
  employer: string[];
}

function values(kind: EntityKind, attribute: string, pools: ValuePools, random: () => number): string {
  switch (attribute) {
    case 'birthYear':
      return String(1700 + randomIndex(random, 300));
    case 'foundedYear':
      return String(1100 + randomIndex(random, 850));
    case 'population':
      return String((1 + randomIndex(random, 990)) * 100);
    case 'occupation':
      return OCCUPATIONS[randomIndex(random, OCCUPATIONS.length)]!;
    case 'industry':
      return INDUSTRIES[randomIndex(random, INDUSTRIES.length)]!;
    case 'country':
      return pools.country[randomIndex(random, pools.country.length)]!;
    case 'headquarters':
      return pools.city[randomIndex(random, pools.city.length)]!;
    case 'river':
      return pools.river[randomIndex(random, pools.river.length)]!;
    case 'founder':
      return pools.founder[randomIndex(random, pools.founder.length)]!;
    case 'employer':
      return pools.employer[randomIndex(random, pools.employer.length)]!;
    default:
      throw new Error(`no values for ${kind}.${attribute}`);
  }
}

/** A value of the attribute different from `not`. */
function otherValue(kind: EntityKind, attribute: string, not: string, pools: ValuePools, random: () => number): string {
  for (let i = 0; i < 1000; i++) {
    const v = values(kind, attribute, pools, random);
    if (v !== not) return v;
  }
  throw new Error(`cannot find a second value for ${attribute}`);
}

function sentenceText(phrase: string): string {
  return `${phrase} .`;
}

const MAX_ENTITIES = 100_000;
const MAX_VERSIONS = 64;

function checkCount(n: number, field: string, min: number): void {
  if (!Number.isInteger(n) || n < min || n > MAX_ENTITIES) {
    throw new InvalidArgumentError(`${field} must be an integer in [${min}, ${MAX_ENTITIES}] (got ${n})`, field.split('.')[0]!);
  }
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer (got ${seed})`, 'seed');
}

function perEntityOf(field: string, given: Partial<ClaimsPerEntity> | undefined, defaults: ClaimsPerEntity): ClaimsPerEntity {
  const perEntity: ClaimsPerEntity = { ...defaults, ...given };
  for (const [label, n] of Object.entries(perEntity)) {
    if (!Number.isInteger(n) || n < 0 || n > 1000) throw new InvalidArgumentError(`${field}.${label} must be an integer in [0, 1000]`, field);
  }
  return perEntity;
}

function versionsOf(versions: number | undefined): number {
  const n = versions ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_VERSIONS)
    throw new InvalidArgumentError(`versions must be an integer in [1, ${MAX_VERSIONS}] (got ${n})`, 'versions');
  return n;
}

/** Name and value pools shared by every set (the entities differ, the vocabulary of values does not). */
function poolsOf(seed: number, taken: Set<string>): ValuePools {
  const names = derivedRandom(seed, 'names');
  return {
    country: Array.from({ length: 12 }, () => uniqueName(names, taken, placeName)),
    city: Array.from({ length: 16 }, () => uniqueName(names, taken, placeName)),
    river: Array.from({ length: 10 }, () => uniqueName(names, taken, placeName)),
    founder: Array.from({ length: 16 }, () => uniqueName(names, taken, personName)),
    employer: Array.from({ length: 12 }, () => uniqueName(names, taken, organisationName)),
  };
}

export function generateWorld(options: WorldOptions): World {
  const { seed } = options;
  checkSeed(seed);
  const counts = typeof options.entities === 'number' ? { pretrain: options.entities, memorize: options.entities } : options.entities;
  for (const split of ['pretrain', 'memorize'] as const) checkCount(counts[split], `entities.${split}`, 1);
  const perEntity = perEntityOf('claimsPerEntity', options.claimsPerEntity, { SUPPORTS: 2, REFUTES: 2, 'NOT ENOUGH INFO': 2 });
  const versions = versionsOf(options.versions);
  const taken = new Set<string>();
  const pools = poolsOf(seed, taken);
  const ids = { claim: 1, annotation: 100_000, evidence: 500_000 };
  const pretrain = generatePart('pretrain', counts.pretrain, seed, taken, pools, perEntity, ids, versions).part;
  const memorize = generatePart('memorize', counts.memorize, seed, taken, pools, perEntity, ids, versions).part;
  return {
    seed,
    pretrain,
    memorize,
    tokenizer: byteLevelTokenizerJson(),
    tokenizerConfig: byteLevelTokenizerConfig(),
    wordTokenizer: wordLevelTokenizerJson(worldWords([pretrain, memorize], pools)),
    wordTokenizerConfig: wordLevelTokenizerConfig(),
  };
}

/**
 * A testbed of three disjoint entity sets: A (pages and claims for pretraining, plus held-out claims about the
 * same entities), C (pages for pretraining, claims never seen: the ceiling control) and B (never in
 * pretraining: pages to memorise, claims to measure). Many entities with few claims each.
 */
export function generateTestbed(options: TestbedOptions): Testbed {
  const { seed } = options;
  checkSeed(seed);
  if (typeof options.sets !== 'object' || options.sets === null) throw new InvalidArgumentError('sets must give the entities of A, B and C', 'sets');
  for (const set of ['A', 'B', 'C'] as const) checkCount(options.sets[set], `sets.${set}`, 1);
  const claimsPerEntity = perEntityOf('claimsPerEntity', options.claimsPerEntity, { SUPPORTS: 1, REFUTES: 1, 'NOT ENOUGH INFO': 1 });
  const heldoutPerEntity = perEntityOf('heldoutPerEntity', options.heldoutPerEntity, { SUPPORTS: 1, REFUTES: 1, 'NOT ENOUGH INFO': 1 });
  const versions = versionsOf(options.versions);
  const taken = new Set<string>();
  const pools = poolsOf(seed, taken);
  const ids = { claim: 1, annotation: 1_000_000, evidence: 5_000_000 };
  const a = generatePart('A', options.sets.A, seed, taken, pools, claimsPerEntity, ids, versions, heldoutPerEntity);
  const C = generatePart('C', options.sets.C, seed, taken, pools, claimsPerEntity, ids, versions).part;
  const B = generatePart('B', options.sets.B, seed, taken, pools, claimsPerEntity, ids, versions).part;
  const A = a.part;
  const heldoutA = a.heldout!;
  return {
    seed,
    options: { seed, sets: { ...options.sets }, versions, claimsPerEntity, heldoutPerEntity },
    A,
    heldoutA,
    C,
    B,
    tokenizer: byteLevelTokenizerJson(),
    tokenizerConfig: byteLevelTokenizerConfig(),
    wordTokenizer: wordLevelTokenizerJson(worldWords([A, heldoutA, C, B], pools)),
    wordTokenizerConfig: wordLevelTokenizerConfig(),
  };
}

/**
 * Every text the world's word-level tokenizer must cover: its pages (all versions) and claims, every value an
 * attribute can take (so claims drawn later, e.g. fresh ones each epoch, encode without <unk>), every template,
 * and the k-shot prompt scaffolding (header, "Claim:", "A: (a)").
 */
export function* worldWords(parts: readonly WorldPart[], pools: ValuePools): Generator<string> {
  for (const part of parts) {
    for (const page of part.pages) yield page.text;
    for (const page of part.versions) yield page.text;
    for (const claim of part.claims) yield claim.claim;
  }
  for (const pool of Object.values(pools)) yield* pool;
  yield* OCCUPATIONS;
  yield* INDUSTRIES;
  for (let year = 1100; year < 2000; year++) yield String(year);
  for (let p = 1; p <= 990; p++) yield String(p * 100);
  for (const specs of Object.values(ATTRIBUTES)) for (const spec of specs) yield* spec.templates.map((t) => t.replace('{s}', '').replace('{v}', ''));
  for (const kind of KINDS) for (let t = 0; t < 4; t++) yield introSentence('', kind, t);
  yield PROMPT_HEADER;
  yield buildPrompt(
    [
      { claim: 'x.', label: 'SUPPORTS' },
      { claim: 'x.', label: 'REFUTES' },
      { claim: 'x.', label: 'NOT ENOUGH INFO' },
    ],
    'x.',
  );
}

export function versionPageId(pageId: string, version: number): string {
  return `${pageId}_-LRB-v${version}-RRB-`;
}

interface ClaimRow {
  claim: FeverClaim;
  fact: WorldClaimFact;
}

function generatePart(
  split: WorldSplit,
  count: number,
  seed: number,
  taken: Set<string>,
  pools: ValuePools,
  perEntity: ClaimsPerEntity,
  ids: { claim: number; annotation: number; evidence: number },
  versions: number,
  heldoutPerEntity?: ClaimsPerEntity,
): { part: WorldPart; heldout?: WorldPart } {
  const random = derivedRandom(seed, 'entities', split);
  // Versions and held-out claims draw from their own streams: adding them leaves the rest of the world as it was.
  const versionRandom = derivedRandom(seed, 'versions', split);
  const heldoutRandom = derivedRandom(seed, 'heldout', split);
  const part: WorldPart = { split, entities: [], pages: [], versions: [], claims: [], assignments: [], claimFacts: [] };
  const claimRows: ClaimRow[] = [];
  const heldoutRows: ClaimRow[] = [];
  for (let e = 0; e < count; e++) {
    const kind = KINDS[randomIndex(random, KINDS.length)]!;
    const name = uniqueName(random, taken, kind === 'person' ? personName : kind === 'place' ? placeName : organisationName);
    const pageId = pageIdFromTitle(name);
    const specs = ATTRIBUTES[kind];
    const facts: Record<string, string> = {};
    for (const s of specs) facts[s.name] = values(kind, s.name, pools, random);
    // State 2 or 3 of the 4 attributes, so each page has unstated attributes for NEI claims.
    const statedCount = 2 + randomIndex(random, specs.length - 2);
    const statedSpecs = shuffled(specs, random).slice(0, statedCount);
    const sentences = [{ id: 0, text: sentenceText(introSentence(name, kind, 0)), links: [] as string[] }];
    const stated: Record<string, number> = {};
    for (const s of specs) {
      if (!statedSpecs.includes(s)) continue;
      stated[s.name] = sentences.length;
      sentences.push({ id: sentences.length, text: sentenceText(s.phrase(name, facts[s.name]!)), links: [] });
    }
    part.entities.push({ pageId, name, kind, facts, stated });
    part.pages.push({ id: pageId, text: sentences.map((s) => s.text).join(' ') + ' ', sentences });
    if (versions > 1) {
      const stated = specs.filter((s) => statedSpecs.includes(s));
      part.versions.push(...paraphrases(pageId, name, kind, stated, facts, versions, versionRandom));
    }

    const statedNames = statedSpecs.map((s) => s.name);
    const unstatedNames = specs.map((s) => s.name).filter((n) => !(n in stated));
    const seen = new Set<string>();
    const addClaim = (rows: ClaimRow[], label: Label, attribute: string, value: string) => {
      const spec = specs.find((s) => s.name === attribute)!;
      const text = `${spec.phrase(name, value)}.`;
      if (seen.has(text)) return;
      seen.add(text);
      const id = ids.claim++;
      const annotation = ids.annotation++;
      const evidence: FeverClaim['evidence'] =
        label === 'NOT ENOUGH INFO' ? [[[annotation, null, null, null]]] : [[[annotation, ids.evidence++, pageId, stated[attribute]!]]];
      rows.push({
        claim: {
          id,
          verifiable: label === 'NOT ENOUGH INFO' ? 'NOT VERIFIABLE' : 'VERIFIABLE',
          label,
          claim: text,
          evidence,
        },
        fact: { claimId: id, pageId, attribute, value, label },
      });
    };
    // Cycle through the eligible attributes; repeated REFUTES/NEI attributes get fresh values.
    const supports = shuffled(statedNames, random);
    for (let i = 0; i < Math.min(perEntity.SUPPORTS, supports.length); i++) addClaim(claimRows, 'SUPPORTS', supports[i]!, facts[supports[i]!]!);
    const refutes = shuffled(statedNames, random);
    for (let i = 0; i < perEntity.REFUTES; i++) {
      const a = refutes[i % refutes.length]!;
      addClaim(claimRows, 'REFUTES', a, otherValue(kind, a, facts[a]!, pools, random));
    }
    const nei = shuffled(unstatedNames, random);
    for (let i = 0; i < perEntity['NOT ENOUGH INFO'] && nei.length > 0; i++) {
      const a = nei[i % nei.length]!;
      addClaim(claimRows, 'NOT ENOUGH INFO', a, values(kind, a, pools, random));
    }
    if (heldoutPerEntity) {
      // Held-out claims: SUPPORTS on the stated attributes the training claims did not use (while any are
      // left), REFUTES / NEI with values the training claims did not assert (a repeated text is skipped).
      const left = supports.slice(Math.min(perEntity.SUPPORTS, supports.length));
      for (let i = 0; i < Math.min(heldoutPerEntity.SUPPORTS, left.length); i++) addClaim(heldoutRows, 'SUPPORTS', left[i]!, facts[left[i]!]!);
      const r = shuffled(statedNames, heldoutRandom);
      for (let i = 0; i < heldoutPerEntity.REFUTES; i++) {
        const a = r[i % r.length]!;
        addClaim(heldoutRows, 'REFUTES', a, otherValue(kind, a, facts[a]!, pools, heldoutRandom));
      }
      const n = shuffled(unstatedNames, heldoutRandom);
      for (let i = 0; i < heldoutPerEntity['NOT ENOUGH INFO'] && n.length > 0; i++) {
        const a = n[i % n.length]!;
        addClaim(heldoutRows, 'NOT ENOUGH INFO', a, values(kind, a, pools, heldoutRandom));
      }
    }
  }
  addRows(part, claimRows, seed);
  if (!heldoutPerEntity) return { part };
  const heldout: WorldPart = { ...part, split: 'A-heldout', claims: [], assignments: [], claimFacts: [] };
  addRows(heldout, heldoutRows, seed);
  return { part, heldout };
}

/** Versions 1..n-1 of a page: each sentence in a template other than the canonical one, in a shuffled order. */
function paraphrases(
  pageId: string,
  name: string,
  kind: EntityKind,
  stated: readonly AttributeSpec[],
  facts: Record<string, string>,
  versions: number,
  random: () => number,
): WikiPage[] {
  // Sentence j of version k uses template 1 + (start_j + k - 1) mod (T - 1): versions 1..T-1 differ from the
  // canonical page and from each other in every sentence; later versions repeat templates in another order.
  const render: Array<(k: number) => string> = [];
  const introStart = randomIndex(random, INTRO_TEMPLATES.length - 1);
  render.push((k) => introSentence(name, kind, 1 + ((introStart + k - 1) % (INTRO_TEMPLATES.length - 1))));
  for (const s of stated) {
    const start = randomIndex(random, s.templates.length - 1);
    render.push((k) => s.render(name, facts[s.name]!, 1 + ((start + k - 1) % (s.templates.length - 1))));
  }
  const out: WikiPage[] = [];
  for (let k = 1; k < versions; k++) {
    const sentences = shuffled(render, random).map((r, id) => ({ id, text: sentenceText(r(k)), links: [] as string[] }));
    out.push({ id: versionPageId(pageId, k), text: sentences.map((s) => s.text).join(' ') + ' ', sentences });
  }
  return out;
}

function addRows(part: WorldPart, rows: ClaimRow[], seed: number): void {
  // FEVER files are not grouped by page; shuffle the claims (seeded) like the real data.
  for (const row of shuffled(rows, derivedRandom(seed, 'claim-order', part.split))) {
    part.claims.push(row.claim);
    part.claimFacts.push(row.fact);
    part.assignments.push({
      id: row.claim.id,
      split: `synthetic-${part.split}`,
      page: row.fact.pageId,
      rule: row.claim.label === 'NOT ENOUGH INFO' ? 'synthetic' : 'evidence',
    });
  }
}
