/**
 * Synthetic fact worlds in FEVER format: fictional people, places and organisations with attributes.
 * SUPPORTS claims state a fact of the page, REFUTES claims swap an attribute value, NOT ENOUGH INFO
 * claims are about an attribute the page does not state. Two disjoint entity sets: one to pretrain a
 * base model, one to memorise.
 */
import { InvalidArgumentError } from '@memorize/errors';
import type { PageAssignment } from '../assignment.js';
import type { FeverClaim, Label } from '../claims.js';
import type { WikiPage } from '../pages.js';
import { derivedRandom, randomIndex, shuffled } from '../prng.js';
import { pageIdFromTitle } from '../text.js';
import { ATTRIBUTES, INDUSTRIES, KIND_NOUN, OCCUPATIONS, type EntityKind } from './attributes.js';
import { organisationName, personName, placeName, uniqueName } from './names.js';
import { byteLevelTokenizerConfig, byteLevelTokenizerJson, type HfTokenizerJson } from './tokenizer.js';

export type WorldSplit = 'pretrain' | 'memorize';

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
  pages: WikiPage[];
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
}

const KINDS: readonly EntityKind[] = ['person', 'place', 'organisation'];

/** Value pools shared by both splits (the entities differ, the vocabulary of values does not). */
interface ValuePools {
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

export function generateWorld(options: WorldOptions): World {
  const { seed } = options;
  if (!Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer (got ${seed})`, 'seed');
  const counts = typeof options.entities === 'number' ? { pretrain: options.entities, memorize: options.entities } : options.entities;
  for (const split of ['pretrain', 'memorize'] as const) {
    const n = counts[split];
    if (!Number.isInteger(n) || n < 1 || n > 100_000) {
      throw new InvalidArgumentError(`entities.${split} must be an integer in [1, 100000] (got ${n})`, 'entities');
    }
  }
  const perEntity: ClaimsPerEntity = { SUPPORTS: 2, REFUTES: 2, 'NOT ENOUGH INFO': 2, ...options.claimsPerEntity };
  for (const [label, n] of Object.entries(perEntity)) {
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`claimsPerEntity.${label} must be a non-negative integer`, 'claimsPerEntity');
  }

  const taken = new Set<string>();
  const names = derivedRandom(seed, 'names');
  const pools: ValuePools = {
    country: Array.from({ length: 12 }, () => uniqueName(names, taken, placeName)),
    city: Array.from({ length: 16 }, () => uniqueName(names, taken, placeName)),
    river: Array.from({ length: 10 }, () => uniqueName(names, taken, placeName)),
    founder: Array.from({ length: 16 }, () => uniqueName(names, taken, personName)),
    employer: Array.from({ length: 12 }, () => uniqueName(names, taken, organisationName)),
  };
  const ids = { claim: 1, annotation: 100_000, evidence: 500_000 };
  const pretrain = generatePart('pretrain', counts.pretrain, seed, taken, pools, perEntity, ids);
  const memorize = generatePart('memorize', counts.memorize, seed, taken, pools, perEntity, ids);
  return { seed, pretrain, memorize, tokenizer: byteLevelTokenizerJson(), tokenizerConfig: byteLevelTokenizerConfig() };
}

function generatePart(
  split: WorldSplit,
  count: number,
  seed: number,
  taken: Set<string>,
  pools: ValuePools,
  perEntity: ClaimsPerEntity,
  ids: { claim: number; annotation: number; evidence: number },
): WorldPart {
  const random = derivedRandom(seed, 'entities', split);
  const part: WorldPart = { split, entities: [], pages: [], claims: [], assignments: [], claimFacts: [] };
  const claimRows: Array<{ claim: FeverClaim; fact: WorldClaimFact }> = [];
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
    const sentences = [{ id: 0, text: sentenceText(`${name} is ${KIND_NOUN[kind]}`), links: [] as string[] }];
    const stated: Record<string, number> = {};
    for (const s of specs) {
      if (!statedSpecs.includes(s)) continue;
      stated[s.name] = sentences.length;
      sentences.push({ id: sentences.length, text: sentenceText(s.phrase(name, facts[s.name]!)), links: [] });
    }
    part.entities.push({ pageId, name, kind, facts, stated });
    part.pages.push({ id: pageId, text: sentences.map((s) => s.text).join(' ') + ' ', sentences });

    const statedNames = statedSpecs.map((s) => s.name);
    const unstatedNames = specs.map((s) => s.name).filter((n) => !(n in stated));
    const seen = new Set<string>();
    const addClaim = (label: Label, attribute: string, value: string) => {
      const spec = specs.find((s) => s.name === attribute)!;
      const text = `${spec.phrase(name, value)}.`;
      if (seen.has(text)) return;
      seen.add(text);
      const id = ids.claim++;
      const annotation = ids.annotation++;
      const evidence: FeverClaim['evidence'] =
        label === 'NOT ENOUGH INFO' ? [[[annotation, null, null, null]]] : [[[annotation, ids.evidence++, pageId, stated[attribute]!]]];
      claimRows.push({
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
    for (let i = 0; i < Math.min(perEntity.SUPPORTS, supports.length); i++) addClaim('SUPPORTS', supports[i]!, facts[supports[i]!]!);
    const refutes = shuffled(statedNames, random);
    for (let i = 0; i < perEntity.REFUTES; i++) {
      const a = refutes[i % refutes.length]!;
      addClaim('REFUTES', a, otherValue(kind, a, facts[a]!, pools, random));
    }
    const nei = shuffled(unstatedNames, random);
    for (let i = 0; i < perEntity['NOT ENOUGH INFO'] && nei.length > 0; i++) {
      const a = nei[i % nei.length]!;
      addClaim('NOT ENOUGH INFO', a, values(kind, a, pools, random));
    }
  }
  // FEVER files are not grouped by page; shuffle the claims (seeded) like the real data.
  for (const row of shuffled(claimRows, derivedRandom(seed, 'claim-order', split))) {
    part.claims.push(row.claim);
    part.claimFacts.push(row.fact);
    part.assignments.push({
      id: row.claim.id,
      split: `synthetic-${split}`,
      page: row.fact.pageId,
      rule: row.claim.label === 'NOT ENOUGH INFO' ? 'synthetic' : 'evidence',
    });
  }
  return part;
}
