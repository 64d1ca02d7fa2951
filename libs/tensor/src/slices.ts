import { yieldToEventLoop } from './yield.js';

/**
 * How long-running work cooperates with whoever runs it (a server's scheduler, a CLI): the work is cut into
 * slices (a batch of rows, one train step, one decoded token) and calls {@link betweenSlices} between two of them.
 * Every lib that loops over model passes takes these options, so a scheduler can interleave jobs fairly, keep
 * the event loop answering (health, streams), and stop a cancelled or expired call within one slice.
 */
export interface SliceOptions {
  /** Checked between slices: once aborted, the work stops with `signal.reason` (tensors of the slice freed). */
  signal?: AbortSignal;
  /**
   * Awaited between slices. A scheduler hands the engine to other jobs here and resolves when this job may run
   * its next slice. Default: one turn of the event loop ({@link yieldToEventLoop}).
   */
  nextSlice?: () => Promise<void>;
}

/**
 * The pause between two slices: stops (throws `signal.reason`) when the work was cancelled, otherwise lets the
 * event loop or the scheduler run, then checks again (the call may have been cancelled meanwhile).
 */
export async function betweenSlices(options: SliceOptions = {}): Promise<void> {
  options.signal?.throwIfAborted();
  await (options.nextSlice ? options.nextSlice() : yieldToEventLoop());
  options.signal?.throwIfAborted();
}
