import type { SliceOptions } from '@memorize/tensor';

/**
 * Slice options that abort when the `k`-th pause between slices is reached (with `reason`), counting the pauses:
 * for tests that a call stops within one slice of a cancellation.
 */
export function abortAtPause(k: number): { options: SliceOptions; pauses: () => number; reason: Error } {
  const controller = new AbortController();
  const reason = new Error(`stopped at pause ${k}`);
  let pauses = 0;
  return {
    reason,
    pauses: () => pauses,
    options: {
      signal: controller.signal,
      nextSlice: async () => {
        if (++pauses === k) controller.abort(reason);
      },
    },
  };
}
