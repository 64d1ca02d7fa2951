/**
 * The locks a shared engine needs so that no call ever sees a half-changed or disposed object: a readers-writer
 * lock (a Score reads a memory from its first row to its last; a TrainStep writes it) and a use count (a model is
 * disposed only once the calls using it are gone). Both are FIFO: requests are granted in arrival order, so a
 * writer is never starved by a stream of readers and calls see versions in the order they arrived.
 */

/** Gives a held lock back; calling it twice is harmless. */
export type Release = () => void;

type Mode = 'read' | 'write';

interface Request {
  mode: Mode;
  holder: string;
  grant: () => void;
}

export class RwLock {
  private readonly readers = new Map<symbol, string>();
  private writer: string | undefined;
  private readonly waiting: Request[] = [];

  /** Who holds the lock now, and who waits for it (labels of the calls, for messages). */
  get holders(): { holding: string[]; waiting: string[] } {
    return {
      holding: this.writer !== undefined ? [this.writer] : [...this.readers.values()],
      waiting: this.waiting.map((r) => r.holder),
    };
  }

  /** True when nobody holds or waits for the lock. */
  get idle(): boolean {
    return this.writer === undefined && this.readers.size === 0 && this.waiting.length === 0;
  }

  read(holder: string, signal?: AbortSignal): Promise<Release> {
    return this.acquire('read', holder, signal);
  }

  write(holder: string, signal?: AbortSignal): Promise<Release> {
    return this.acquire('write', holder, signal);
  }

  /**
   * Queues a request at once (its place in line is fixed now) and resolves when it is granted. An abort while
   * waiting removes the request and rejects with `signal.reason`.
   */
  acquire(mode: Mode, holder: string, signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiting.indexOf(request);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal!.reason as Error);
        // A writer leaving the line may let the readers behind it in.
        this.pump();
      };
      const request: Request = {
        mode,
        holder,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.holdAs(mode, holder));
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(request);
      this.pump();
    });
  }

  private holdAs(mode: Mode, holder: string): Release {
    let released = false;
    if (mode === 'write') {
      this.writer = holder;
      return () => {
        if (released) return;
        released = true;
        this.writer = undefined;
        this.pump();
      };
    }
    const key = Symbol(holder);
    this.readers.set(key, holder);
    return () => {
      if (released) return;
      released = true;
      this.readers.delete(key);
      this.pump();
    };
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.writer === undefined) {
      const next = this.waiting[0];
      if (next.mode === 'write' && this.readers.size > 0) return;
      this.waiting.shift();
      next.grant();
      if (next.mode === 'write') return;
    }
  }
}

/** Counts the calls using an object; {@link whenUnused} resolves once none is left. */
export class UseCount {
  private readonly users = new Map<symbol, string>();
  private waiters: Array<() => void> = [];

  get count(): number {
    return this.users.size;
  }

  /** Labels of the calls using it now. */
  get labels(): string[] {
    return [...this.users.values()];
  }

  acquire(label: string): Release {
    const key = Symbol(label);
    this.users.set(key, label);
    return () => {
      if (!this.users.delete(key) || this.users.size > 0) return;
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    };
  }

  whenUnused(): Promise<void> {
    if (this.users.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
