/** FEVER claims JSONL: {"id", "verifiable", "label", "claim", "evidence"} in the original format. */
import { isRecord, readJsonl, type ParseResult, type ReadOptions } from './jsonl.js';

export const LABELS = ['SUPPORTS', 'REFUTES', 'NOT ENOUGH INFO'] as const;
export type Label = (typeof LABELS)[number];

export function isLabel(value: unknown): value is Label {
  return value === 'SUPPORTS' || value === 'REFUTES' || value === 'NOT ENOUGH INFO';
}

/** One evidence item: [annotationId, evidenceId, pageId, sentenceId]; NEI items carry nulls. */
export type EvidenceItem = [number, number | null, string | null, number | null];
/** An evidence set: all items needed together; a claim has one or more alternative sets. */
export type EvidenceSet = EvidenceItem[];

export interface FeverClaim {
  id: number;
  verifiable: string;
  label: Label;
  claim: string;
  evidence: EvidenceSet[];
}

function isEvidenceItem(value: unknown): value is EvidenceItem {
  return (
    Array.isArray(value) &&
    value.length === 4 &&
    typeof value[0] === 'number' &&
    (value[1] === null || typeof value[1] === 'number') &&
    (value[2] === null || typeof value[2] === 'string') &&
    (value[3] === null || typeof value[3] === 'number')
  );
}

/** Validates one parsed JSON value as a FEVER claim. */
export function parseClaim(value: unknown): ParseResult<FeverClaim> {
  if (!isRecord(value)) return { ok: false, error: 'not a JSON object' };
  if ('lines' in value && 'text' in value && !('claim' in value)) {
    return { ok: false, error: 'this looks like a wiki-pages record (id/text/lines), not a FEVER claim' };
  }
  const { id, verifiable, label, claim, evidence } = value;
  if (typeof id !== 'number' || !Number.isInteger(id)) return { ok: false, error: "field 'id' must be an integer" };
  if (typeof claim !== 'string') return { ok: false, error: "field 'claim' must be a string" };
  if (!isLabel(label)) {
    return { ok: false, error: `field 'label' must be one of ${LABELS.join(', ')} (got ${JSON.stringify(label)})` };
  }
  if (verifiable !== undefined && typeof verifiable !== 'string') {
    return { ok: false, error: "field 'verifiable' must be a string" };
  }
  if (!Array.isArray(evidence) || !evidence.every((set) => Array.isArray(set) && set.every(isEvidenceItem))) {
    return { ok: false, error: "field 'evidence' must be a list of evidence sets [[annId, evId, page, sentence], ...]" };
  }
  return {
    ok: true,
    value: {
      id,
      verifiable: verifiable ?? (label === 'NOT ENOUGH INFO' ? 'NOT VERIFIABLE' : 'VERIFIABLE'),
      label,
      claim,
      evidence: evidence as EvidenceSet[],
    },
  };
}

/** Streams the claims of a FEVER claims JSONL file. */
export function readClaims(path: string, options: ReadOptions = {}): AsyncGenerator<FeverClaim> {
  return readJsonl(path, parseClaim, options);
}

/** Pages cited by a claim's evidence, in order of first citation. */
export function citedPages(claim: Pick<FeverClaim, 'evidence'>): string[] {
  const seen = new Set<string>();
  for (const set of claim.evidence) for (const item of set) if (item[2] !== null) seen.add(item[2]);
  return [...seen];
}

/**
 * The evidence page of a verifiable claim: the page cited in the most evidence sets, ties going to the
 * page cited first. Undefined for claims without page evidence (NOT ENOUGH INFO).
 */
export function evidencePage(claim: Pick<FeverClaim, 'evidence'>): string | undefined {
  const sets = new Map<string, number>(); // insertion order = order of first citation
  for (const set of claim.evidence) {
    for (const page of new Set(set.map((item) => item[2]))) {
      if (page !== null) sets.set(page, (sets.get(page) ?? 0) + 1);
    }
  }
  let best: string | undefined;
  let bestCount = 0;
  for (const [page, count] of sets) {
    if (count > bestCount) {
      best = page;
      bestCount = count;
    }
  }
  return best;
}

/** Serialises a claim in the original FEVER key order. */
export function formatClaim(claim: FeverClaim): string {
  return JSON.stringify({
    id: claim.id,
    verifiable: claim.verifiable,
    label: claim.label,
    claim: claim.claim,
    evidence: claim.evidence,
  });
}
