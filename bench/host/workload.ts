/**
 * The bench:host workloads, built from the shared FEVER slice with stories260K's tokenizer:
 *   - Score items as the evaluator sends them: a 1-shot FEVER prompt (libs/fever's buildPrompt, the claim's
 *     neighbour as the shot) as context and each answer candidate " (a)", " (b)", " (c)" as a short continuation;
 *   - TrainStep rows as a trainer sends them: windows of the evidence pages (BOS first), the reference batch size.
 */
import { readFileSync } from 'node:fs';
import { buildPrompt, isLabel, type Label } from '@memorize/fever';
import type { Tokenizer } from '@memorize/lm';
import { feverFiles, jsonlPageTexts } from '@memorize/testing';

export interface ScoreItemIds {
  context: number[];
  continuation: number[];
}

interface ClaimLine {
  claim: string;
  label: Label;
}

function readClaimLines(path: string, limit: number): ClaimLine[] {
  const out: ClaimLine[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (out.length >= limit) break;
    if (line.trim() === '') continue;
    const parsed = JSON.parse(line) as { claim?: unknown; label?: unknown };
    if (typeof parsed.claim === 'string' && parsed.claim.trim() !== '' && isLabel(parsed.label))
      out.push({ claim: parsed.claim, label: parsed.label });
  }
  return out;
}

/**
 * `claims` 1-shot prompts x 3 answer candidates = 3 * claims Score items, in claim order (items 3i..3i+2 share a
 * context). Contexts are cut to at most `maxContext` tokens (the newest kept, as the service would).
 */
export function feverScoreItems(tokenizer: Tokenizer, claims: number, maxContext: number): ScoreItemIds[] {
  const lines = readClaimLines(feverFiles.claims, claims + 1);
  if (lines.length < 2) throw new Error(`${feverFiles.claims}: fewer than 2 usable claims`);
  const candidates = [' (a)', ' (b)', ' (c)'].map((c) => tokenizer.encode(c, { bos: false }));
  const items: ScoreItemIds[] = [];
  for (let i = 0; i < claims; i++) {
    const test = lines[i % lines.length];
    const shot = lines[(i + 1) % lines.length];
    const ids = tokenizer.encode(buildPrompt([shot], test.claim), { bos: true });
    const context = ids.length > maxContext ? [ids[0], ...ids.slice(ids.length - maxContext + 1)] : ids;
    for (const continuation of candidates) items.push({ context, continuation });
  }
  return items;
}

/** `rows` windows of `length` tokens (BOS first) from the FEVER evidence pages. */
export function pageTrainRows(tokenizer: Tokenizer, rows: number, length: number): number[][] {
  const out: number[][] = [];
  for (const text of jsonlPageTexts(feverFiles.pages)) {
    const ids = tokenizer.encode(text, { bos: true });
    if (ids.length >= length) out.push(ids.slice(0, length));
    if (out.length === rows) return out;
  }
  throw new Error(`${feverFiles.pages}: fewer than ${rows} pages of ${length} tokens`);
}

export const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : NaN);

/** Nearest-rank percentile (p in 0..100); NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
