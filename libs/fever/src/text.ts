/**
 * FEVER text conventions. The FEVER wiki dump is PTB-tokenised: brackets and colons are written as
 * -LRB- -RRB- -LSB- -RSB- -LCB- -RCB- -COLON-, quotes as `` and '', and page ids use _ for spaces.
 * Models should see the original characters, so these helpers restore them.
 */

const ESCAPES: ReadonlyArray<readonly [RegExp, string]> = [
  [/-LRB-/g, '('],
  [/-RRB-/g, ')'],
  [/-LSB-/g, '['],
  [/-RSB-/g, ']'],
  [/-LCB-/g, '{'],
  [/-RCB-/g, '}'],
  [/-COLON-/g, ':'],
];

/** Restores the bracket/colon escapes of the FEVER dump (nothing else changes). */
export function unescapeFever(text: string): string {
  let out = text;
  for (const [pattern, replacement] of ESCAPES) out = out.replace(pattern, replacement);
  return out;
}

/**
 * Undoes PTB tokenisation spacing as well as the escapes: "( born X , 1596 -RRB- ." -> "(born X, 1596).",
 * `` x '' -> "x". Used for model input when a natural-looking text is wanted.
 */
export function detokenizeFever(text: string): string {
  return unescapeFever(text)
    .replace(/``\s*/g, '"')
    .replace(/\s*''/g, '"')
    .replace(/([([{])\s+/g, '$1')
    .replace(/\s+([)\]},.;:!?%])/g, '$1')
    .replace(/\s+(n't|'s|'re|'ve|'m|'ll|'d)\b/gi, '$1')
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}

/** Page id -> human title: "Grease_-LRB-film-RRB-" -> "Grease (film)". */
export function pageTitle(pageId: string): string {
  return unescapeFever(pageId.replace(/_/g, ' '));
}

/** Human title -> page id (inverse of pageTitle for titles made of ordinary characters). */
export function pageIdFromTitle(title: string): string {
  return title
    .replace(/ /g, '_')
    .replace(/\(/g, '-LRB-')
    .replace(/\)/g, '-RRB-')
    .replace(/\[/g, '-LSB-')
    .replace(/\]/g, '-RSB-')
    .replace(/\{/g, '-LCB-')
    .replace(/\}/g, '-RCB-')
    .replace(/:/g, '-COLON-');
}

/** How page text is presented to the model. */
export type TextStyle = 'raw' | 'unescaped' | 'detokenized';

export function styleText(text: string, style: TextStyle): string {
  if (style === 'raw') return text;
  if (style === 'unescaped') return unescapeFever(text);
  return detokenizeFever(text);
}
