/**
 * Lets the event loop run. On the cpu and wasm backends `await tensor.data()` settles without yielding, so a
 * long loop of forward passes would otherwise hold a server's event loop (health checks, cancellation,
 * streaming) until it ends.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
