/** UTF-8 helpers shared by the tokenizers. */

const utf8Decoder = new TextDecoder('utf-8');
export const utf8Encoder = new TextEncoder();

/** UTF-8 decoding that replaces invalid/incomplete sequences with U+FFFD (never throws). */
export function utf8Decode(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/**
 * The byte a byte-fallback piece stands for, or -1. Mirrors run.c's `sscanf(piece, "<0x%02hhX>", &byte)`, which
 * accepts one or two hex digits of either case and does not check the closing '>'.
 */
export function byteFallbackValue(piece: Uint8Array): number {
  if (piece.length < 4 || piece[0] !== 0x3c || piece[1] !== 0x30 || piece[2] !== 0x78) return -1;
  let value = -1;
  for (let i = 3; i < Math.min(piece.length, 5); i++) {
    const digit = hexDigit(piece[i]);
    if (digit < 0) break;
    value = value < 0 ? digit : value * 16 + digit;
  }
  return value;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Bytes as a "binary" string (one UTF-16 unit per byte): a cheap exact Map key for byte strings. */
export function bytesToKey(bytes: Uint8Array): string {
  let key = '';
  for (let i = 0; i < bytes.length; i++) key += String.fromCharCode(bytes[i]);
  return key;
}
