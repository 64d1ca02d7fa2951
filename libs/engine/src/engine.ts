/**
 * The shared engine of a model host: every model-bound call is a job in a bounded queue (one per model), and the
 * jobs run slice by slice (a batch of rows, one train step, one decoded token) on the one compute engine the
 * process has. Between two slices the event loop runs (health checks, ListModels, streams answer) and the next
 * slice goes to the next client in round-robin order (a client is a `client` metadata key or a peer), so a
 * trainer's long run and an evaluator's Score calls both progress. A cancelled or expired job stops at its next
 * slice boundary; a job whose deadline passed while it waited never starts.
 *
 * A job holds "the turn" from the moment it is granted until it asks for its next slice, waits for something
 * that is not compute ({@link Job.outside}: a stream's backpressure, a lock), or ends. Only the turn holder runs
 * model work, so the tfjs engine is never entered by two jobs' slices at once.
 */
import { CancelledError, DeadlineExceededError, ResourceExhaustedError } from '@memorize/errors';
import type { Release, RwLock } from './lock.js';

export interface EngineOptions {
  /** Jobs a queue holds, waiting or running, before new ones are refused (RESOURCE_EXHAUSTED). */
  queueDepth: number;
  /** How the depth setting is named in messages (e.g. "--queue-depth"). */
  depthSetting?: string;
}

/** A lock a job takes before its first slice and keeps to its end. */
export interface LockRequest {
  lock: RwLock;
  mode: 'read' | 'write';
}

export interface JobSpec {
  /** The queue it is counted in (a model id). */
  queue: string;
  /** How the queue is named in messages, e.g. `model "m"` (default: the queue key). */
  queueLabel?: string;
  /** Round-robin key: the `client` metadata key or the peer. */
  client: string;
  /** What the job is, for messages and logs (e.g. "Score from ipv4:127.0.0.1:5000"). */
  label: string;
  /** The call's cancellation (client cancel, deadline as seen by the transport, shutdown). */
  signal?: AbortSignal;
  /** The call's deadline; checked before the job starts and between slices even when no timer has fired yet. */
  deadline?: Date | null;
  /** Requested at admission, in this order (so their place in line is the call's arrival order). */
  locks?: readonly LockRequest[];
}

/** What a running job's work sees: the SliceOptions every lib accepts, plus a way to wait without the turn. */
export interface Job {
  /** Aborted on cancel, deadline or shutdown; the reason is a CancelledError or DeadlineExceededError. */
  readonly signal: AbortSignal;
  /** Gives the turn up and resolves when this job may run its next slice (throws if it was stopped meanwhile). */
  nextSlice: () => Promise<void>;
  /**
   * Waits for `pending` without holding the turn (other jobs run meanwhile), then takes the turn again. When
   * `pending` rejects the job no longer holds the turn: let that error end it.
   */
  outside<T>(pending: Promise<T>): Promise<T>;
}

export interface QueueStats {
  queue: string;
  /** Jobs admitted and not finished (waiting for locks or a turn, or running). */
  jobs: number;
}

export interface EngineStats {
  queues: QueueStats[];
  /** Jobs waiting for a turn, across queues. */
  waiting: number;
  /** The label of the job holding the turn, if any. */
  running?: string;
  /** Slices granted since start. */
  slices: number;
  /** Jobs refused because their queue was full. */
  refused: number;
}

interface JobState {
  seq: number;
  spec: JobSpec;
  controller: AbortController;
  /** Set while the job waits for a turn. */
  wake?: { resolve: () => void; reject: (error: unknown) => void };
}

/** The error a stopped job ends with: a deadline, else the call's own reason, else a generic cancel. */
function stopReason(spec: JobSpec, reason: unknown): Error {
  if (reason instanceof Error) return reason;
  return new CancelledError(`${spec.label} was cancelled`);
}

export class Engine {
  readonly queueDepth: number;
  private readonly depthSetting: string;
  private readonly admitted = new Map<string, Set<JobState>>();
  /** Jobs waiting for a turn, by client; the Map's order is the round-robin order. */
  private readonly waiting = new Map<string, JobState[]>();
  private current: JobState | undefined;
  private dispatchPending = false;
  private seq = 0;
  private slices = 0;
  private refused = 0;

  constructor(options: EngineOptions) {
    if (!Number.isInteger(options.queueDepth) || options.queueDepth < 1) throw new RangeError(`queueDepth must be a positive integer`);
    this.queueDepth = options.queueDepth;
    this.depthSetting = options.depthSetting ?? 'queue depth';
  }

  /**
   * Runs `work` as a job of `spec.queue`: refused at once with ResourceExhaustedError when the queue is full,
   * DeadlineExceededError when the deadline has already passed. Otherwise the job takes its locks (in arrival
   * order), waits for its first turn, and `work` runs holding it. The locks and the turn are given back however
   * the job ends.
   */
  async run<T>(spec: JobSpec, work: (job: Job) => Promise<T>): Promise<T> {
    const queue = this.admitted.get(spec.queue) ?? new Set<JobState>();
    const label = spec.queueLabel ?? spec.queue;
    if (queue.size >= this.queueDepth) {
      this.refused++;
      throw new ResourceExhaustedError(
        `${label} is busy: ${queue.size} calls queued or running (${this.depthSetting} ${this.queueDepth}); retry later`,
        'queue',
      );
    }
    const state: JobState = { seq: this.seq++, spec, controller: new AbortController() };
    const stop = this.watch(state);
    queue.add(state);
    this.admitted.set(spec.queue, queue);
    const releases: Release[] = [];
    try {
      state.controller.signal.throwIfAborted();
      // Every lock is requested now, in order, so the call's place in each line is its arrival.
      const granted = (spec.locks ?? []).map((l) => l.lock.acquire(l.mode, spec.label, state.controller.signal));
      // Keep the releases of those granted even if a later one fails, so none is left held.
      const settled = await Promise.allSettled(granted);
      for (const s of settled) if (s.status === 'fulfilled') releases.push(s.value);
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      await this.turn(state);
      const job: Job = {
        signal: state.controller.signal,
        nextSlice: () => this.nextSlice(state),
        outside: (pending) => this.outside(state, pending),
      };
      return await work(job);
    } finally {
      this.leave(state);
      for (const release of releases.reverse()) release();
      stop();
      queue.delete(state);
      if (queue.size === 0 && this.admitted.get(spec.queue) === queue) this.admitted.delete(spec.queue);
    }
  }

  stats(): EngineStats {
    let waiting = 0;
    for (const jobs of this.waiting.values()) waiting += jobs.length;
    return {
      queues: [...this.admitted].map(([queue, jobs]) => ({ queue, jobs: jobs.size })),
      waiting,
      running: this.current?.spec.label,
      slices: this.slices,
      refused: this.refused,
    };
  }

  /** Jobs admitted to `queue` and not finished. */
  queueLength(queue: string): number {
    return this.admitted.get(queue)?.size ?? 0;
  }

  /** Links the call's signal and deadline to the job's controller; returns the cleanup. */
  private watch(state: JobState): () => void {
    const { spec, controller } = state;
    const abort = (reason: unknown): void => {
      if (controller.signal.aborted) return;
      controller.abort(reason);
      // A job waiting for its turn stops waiting now (a running one stops at its next slice boundary).
      if (state.wake) {
        this.unqueue(state);
        state.wake.reject(stopReason(spec, reason));
        state.wake = undefined;
      }
    };
    const onAbort = (): void => abort(stopReason(spec, spec.signal?.reason));
    let timer: NodeJS.Timeout | undefined;
    if (spec.deadline) {
      const expired = (): DeadlineExceededError => new DeadlineExceededError(`${spec.label}: the deadline passed before the work was done`);
      const left = spec.deadline.getTime() - Date.now();
      if (left <= 0) abort(expired());
      else timer = setTimeout(() => abort(expired()), left);
    }
    if (spec.signal?.aborted) onAbort();
    else spec.signal?.addEventListener('abort', onAbort, { once: true });
    return () => {
      if (timer) clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
    };
  }

  /** Resolves when `state` holds the turn. */
  private turn(state: JobState): Promise<void> {
    state.controller.signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      state.wake = { resolve, reject };
      const list = this.waiting.get(state.spec.client);
      if (list) list.push(state);
      else this.waiting.set(state.spec.client, [state]);
      this.scheduleDispatch();
    });
  }

  private async nextSlice(state: JobState): Promise<void> {
    this.leave(state);
    await this.turn(state);
  }

  private async outside<T>(state: JobState, pending: Promise<T>): Promise<T> {
    this.leave(state);
    const value = await pending;
    await this.turn(state);
    return value;
  }

  /** Gives the turn up if `state` holds it. */
  private leave(state: JobState): void {
    if (this.current !== state) return;
    this.current = undefined;
    this.scheduleDispatch();
  }

  private unqueue(state: JobState): void {
    const list = this.waiting.get(state.spec.client);
    if (!list) return;
    const at = list.indexOf(state);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.waiting.delete(state.spec.client);
  }

  /** The next turn is granted from setImmediate: the event loop polls I/O between any two slices. */
  private scheduleDispatch(): void {
    if (this.dispatchPending) return;
    this.dispatchPending = true;
    setImmediate(() => {
      this.dispatchPending = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (!this.current) {
      const next = this.pick();
      if (!next) return;
      const wake = next.wake!;
      next.wake = undefined;
      // A deadline that passed while the job waited (its timer may not have fired yet): it never runs.
      const deadline = next.spec.deadline;
      if (deadline && deadline.getTime() <= Date.now() && !next.controller.signal.aborted) {
        next.controller.abort(new DeadlineExceededError(`${next.spec.label}: the deadline passed while the call was queued`));
      }
      if (next.controller.signal.aborted) {
        wake.reject(stopReason(next.spec, next.controller.signal.reason));
        continue;
      }
      this.current = next;
      this.slices++;
      wake.resolve();
    }
  }

  /** Round-robin over clients (the Map's order), earliest-admitted job first within a client. */
  private pick(): JobState | undefined {
    for (const [client, list] of this.waiting) {
      this.waiting.delete(client);
      let best = 0;
      for (let i = 1; i < list.length; i++) if (list[i].seq < list[best].seq) best = i;
      const [chosen] = list.splice(best, 1);
      // The client goes to the back of the line, with whatever else it has waiting.
      if (list.length > 0) this.waiting.set(client, list);
      return chosen;
    }
    return undefined;
  }
}
