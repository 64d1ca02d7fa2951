/** Entry assignment of the unstructured memory: every document uses every entry. */
export function sharedEntrySet(m: number): Uint32Array {
  return Uint32Array.from({ length: m }, (_, j) => j);
}
