/**
 * The run store: one SQLite database (better-sqlite3, WAL mode) under the trainer's data directory holding run
 * specs, state transitions, the step, measure and checkpoint curves and timings. Every change is one transaction,
 * so a process killed at any point leaves the store as it was before or after a change, never between. Schema
 * migrations are versioned in code (PRAGMA user_version).
 */
import type Database from 'better-sqlite3';
import { common, trainer } from '@memorize/contracts';
import { AlreadyExistsError, NotFoundError } from '@memorize/errors';
import { openDatabase, updateColumns } from './sqlite.js';

const { JobState } = common;
type JobState = common.JobState;

/** Schema versions, in order: migration i brings user_version from i to i + 1. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     spec BLOB NOT NULL,
     state INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     error TEXT NOT NULL DEFAULT '',
     model_host TEXT NOT NULL DEFAULT '',
     corpus_id TEXT NOT NULL DEFAULT '',
     total_steps INTEGER NOT NULL DEFAULT 0,
     steps_done INTEGER NOT NULL DEFAULT 0,
     started_at INTEGER NOT NULL DEFAULT 0,
     finished_at INTEGER NOT NULL DEFAULT 0,
     train_seconds REAL NOT NULL DEFAULT 0,
     eval_seconds REAL NOT NULL DEFAULT 0,
     checkpoint_seconds REAL NOT NULL DEFAULT 0,
     resumes INTEGER NOT NULL DEFAULT 0,
     tokens INTEGER NOT NULL DEFAULT 0,
     output_path TEXT NOT NULL DEFAULT ''
   );
   CREATE INDEX runs_by_created ON runs (created_at DESC, id);
   CREATE TABLE steps (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     step INTEGER NOT NULL,
     epoch INTEGER NOT NULL,
     loss REAL NOT NULL,
     learning_rate REAL NOT NULL,
     grad_norm REAL NOT NULL,
     tokens INTEGER NOT NULL,
     PRIMARY KEY (run_id, step)
   ) WITHOUT ROWID;
   CREATE TABLE measures (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     step INTEGER NOT NULL,
     memorization_error REAL NOT NULL,
     locality REAL,
     PRIMARY KEY (run_id, step)
   ) WITHOUT ROWID;
   CREATE TABLE checkpoints (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     step INTEGER NOT NULL,
     path TEXT NOT NULL,
     written_at INTEGER NOT NULL,
     PRIMARY KEY (run_id, step)
   ) WITHOUT ROWID;
   CREATE TABLE transitions (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     at INTEGER NOT NULL,
     state INTEGER NOT NULL,
     message TEXT NOT NULL
   );
   CREATE INDEX transitions_by_run ON transitions (run_id);`,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set([
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_CANCELLED,
]);

interface RunRow {
  id: string;
  spec: Buffer;
  state: number;
  created_at: number;
  updated_at: number;
  error: string;
  model_host: string;
  corpus_id: string;
  total_steps: number;
  steps_done: number;
  started_at: number;
  finished_at: number;
  train_seconds: number;
  eval_seconds: number;
  checkpoint_seconds: number;
  resumes: number;
  tokens: number;
  output_path: string;
}

/** A measure as stored: locality undefined when the run has no locality pages. */
export interface Measure {
  step: number;
  memorizationError: number;
  locality?: number;
}

export interface StepRow {
  step: number;
  epoch: number;
  loss: number;
  learningRate: number;
  gradNorm: number;
  tokens: number;
}

/** Fields a state transition may set with the state. */
export interface TransitionFields {
  error?: string;
  modelHost?: string;
  corpusId?: string;
  totalSteps?: number;
  outputPath?: string;
  /** Counts one more resume. */
  resumed?: boolean;
}

const now = (): number => Math.floor(Date.now() / 1000);

export class RunStore {
  readonly path: string;
  private readonly db: Database.Database;

  /** Opens (creating and migrating) `<dataDir>/runs.sqlite`. */
  constructor(dataDir: string) {
    ({ db: this.db, path: this.path } = openDatabase(dataDir, 'runs.sqlite', MIGRATIONS, 'trainer'));
  }

  close(): void {
    this.db.close();
  }

  /** Creates a run in state QUEUED; ALREADY_EXISTS when the id is taken. */
  create(id: string, spec: trainer.RunSpec): void {
    const t = now();
    this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id)) throw new AlreadyExistsError(`run "${id}" exists`, 'run_id');
      this.db
        .prepare('INSERT INTO runs (id, spec, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, Buffer.from(trainer.RunSpec.encode(spec).finish()), JobState.JOB_STATE_QUEUED, t, t);
      this.db.prepare('INSERT INTO transitions (run_id, at, state, message) VALUES (?, ?, ?, ?)').run(id, t, JobState.JOB_STATE_QUEUED, 'queued');
    })();
  }

  has(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id) !== undefined;
  }

  private row(id: string): RunRow {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw new NotFoundError(`no run "${id}"`, 'run_id');
    return row;
  }

  spec(id: string): trainer.RunSpec {
    return trainer.RunSpec.decode(this.row(id).spec);
  }

  state(id: string): JobState {
    return this.row(id).state as JobState;
  }

  stepsDone(id: string): number {
    return this.row(id).steps_done;
  }

  /** Moves a run to `state`, recording the transition (and the fields given) in one transaction. */
  transition(id: string, state: JobState, message: string, fields: TransitionFields = {}): void {
    const t = now();
    this.db.transaction(() => {
      const row = this.row(id);
      const set: Record<string, unknown> = { state, updated_at: t };
      if (fields.error !== undefined) set.error = fields.error;
      if (fields.modelHost !== undefined) set.model_host = fields.modelHost;
      if (fields.corpusId !== undefined) set.corpus_id = fields.corpusId;
      if (fields.totalSteps !== undefined) set.total_steps = fields.totalSteps;
      if (fields.outputPath !== undefined) set.output_path = fields.outputPath;
      if (fields.resumed) set.resumes = row.resumes + 1;
      if (state === JobState.JOB_STATE_RUNNING && row.started_at === 0) set.started_at = t;
      if (TERMINAL_STATES.has(state)) set.finished_at = t;
      updateColumns(this.db, 'runs', set, { id });
      this.db.prepare('INSERT INTO transitions (run_id, at, state, message) VALUES (?, ?, ?, ?)').run(id, t, state, message);
    })();
  }

  /** Records one step (its 0-based index is `steps_done`), with the seconds it took. */
  recordStep(id: string, s: StepRow, seconds: number): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT OR REPLACE INTO steps (run_id, step, epoch, loss, learning_rate, grad_norm, tokens) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, s.step, s.epoch, s.loss, s.learningRate, s.gradNorm, s.tokens);
      this.db
        .prepare('UPDATE runs SET steps_done = ?, train_seconds = train_seconds + ?, tokens = tokens + ?, updated_at = ? WHERE id = ?')
        .run(s.step + 1, seconds, s.tokens, now(), id);
    })();
  }

  recordMeasure(id: string, m: Measure, seconds: number): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT OR REPLACE INTO measures (run_id, step, memorization_error, locality) VALUES (?, ?, ?, ?)')
        .run(id, m.step, m.memorizationError, m.locality ?? null);
      this.db.prepare('UPDATE runs SET eval_seconds = eval_seconds + ?, updated_at = ? WHERE id = ?').run(seconds, now(), id);
    })();
  }

  recordCheckpoint(id: string, step: number, path: string, seconds: number): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO checkpoints (run_id, step, path, written_at) VALUES (?, ?, ?, ?)').run(id, step, path, now());
      this.db.prepare('UPDATE runs SET checkpoint_seconds = checkpoint_seconds + ?, updated_at = ? WHERE id = ?').run(seconds, now(), id);
    })();
  }

  /** The newest checkpoint (undefined before the first). */
  lastCheckpoint(id: string): { step: number; path: string } | undefined {
    return this.db.prepare('SELECT step, path FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1').get(id) as
      { step: number; path: string } | undefined;
  }

  /**
   * Forgets what happened after `steps` steps (the checkpoint a resumed run restarts from): its step records from
   * index `steps` on, measures and checkpoints after it. The time spent stays counted.
   */
  rewind(id: string, steps: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM steps WHERE run_id = ? AND step >= ?').run(id, steps);
      this.db.prepare('DELETE FROM measures WHERE run_id = ? AND step > ?').run(id, steps);
      this.db.prepare('DELETE FROM checkpoints WHERE run_id = ? AND step > ?').run(id, steps);
      this.db
        .prepare(
          'UPDATE runs SET steps_done = ?, tokens = (SELECT COALESCE(SUM(tokens), 0) FROM steps WHERE run_id = ?), updated_at = ? WHERE id = ?',
        )
        .run(steps, id, now(), id);
    })();
  }

  steps(id: string, fromStep = 0): StepRow[] {
    return (
      this.db
        .prepare('SELECT step, epoch, loss, learning_rate, grad_norm, tokens FROM steps WHERE run_id = ? AND step >= ? ORDER BY step')
        .all(id, fromStep) as Array<{ step: number; epoch: number; loss: number; learning_rate: number; grad_norm: number; tokens: number }>
    ).map((r) => ({ step: r.step, epoch: r.epoch, loss: r.loss, learningRate: r.learning_rate, gradNorm: r.grad_norm, tokens: r.tokens }));
  }

  measures(id: string): Measure[] {
    return (
      this.db.prepare('SELECT step, memorization_error, locality FROM measures WHERE run_id = ? ORDER BY step').all(id) as Array<{
        step: number;
        memorization_error: number;
        locality: number | null;
      }>
    ).map((r) => ({ step: r.step, memorizationError: r.memorization_error, locality: r.locality ?? undefined }));
  }

  /** The base measure (step 0) and the last one, without reading the whole curve. */
  private edgeMeasures(id: string): Measure[] {
    const pick = (order: 'ASC' | 'DESC'): Measure[] =>
      (
        this.db.prepare(`SELECT step, memorization_error, locality FROM measures WHERE run_id = ? ORDER BY step ${order} LIMIT 1`).all(id) as Array<{
          step: number;
          memorization_error: number;
          locality: number | null;
        }>
      ).map((r) => ({ step: r.step, memorizationError: r.memorization_error, locality: r.locality ?? undefined }));
    const [first] = pick('ASC');
    const [last] = pick('DESC');
    if (!first) return [];
    return first.step === last.step ? [first] : [first, last];
  }

  checkpoints(id: string): Array<{ step: number; path: string; writtenAt: number }> {
    return (
      this.db.prepare('SELECT step, path, written_at FROM checkpoints WHERE run_id = ? ORDER BY step').all(id) as Array<{
        step: number;
        path: string;
        written_at: number;
      }>
    ).map((r) => ({ step: r.step, path: r.path, writtenAt: r.written_at }));
  }

  transitions(id: string): Array<{ at: number; state: JobState; message: string }> {
    return this.db.prepare('SELECT at, state, message FROM transitions WHERE run_id = ? ORDER BY rowid').all(id) as Array<{
      at: number;
      state: JobState;
      message: string;
    }>;
  }

  /** Ids of runs not in a terminal state (to resume when the trainer starts), oldest first. */
  unfinished(): string[] {
    return (
      this.db
        .prepare('SELECT id FROM runs WHERE state IN (?, ?) ORDER BY created_at, id')
        .all(JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING) as Array<{ id: string }>
    ).map((r) => r.id);
  }

  /**
   * The run as the proto message. `curves` adds every step, measure and checkpoint (GetRun); without it only the
   * last values (ListRuns).
   */
  run(id: string, curves = true): trainer.Run {
    const r = this.row(id);
    const measures = curves ? this.measures(id) : this.edgeMeasures(id);
    const base = measures.find((m) => m.step === 0);
    const last = measures.length > 0 ? measures[measures.length - 1] : undefined;
    const lastStep = this.db.prepare('SELECT loss FROM steps WHERE run_id = ? ORDER BY step DESC LIMIT 1').get(id) as { loss: number } | undefined;
    const tokens = r.tokens;
    const checkpoints = this.checkpoints(id);
    const elapsed = (r.finished_at || now()) - (r.started_at || now());
    const rate = r.steps_done > 0 && elapsed > 0 ? r.steps_done / elapsed : 0;
    return {
      runId: r.id,
      spec: trainer.RunSpec.decode(r.spec),
      state: r.state as JobState,
      progress: {
        done: BigInt(r.steps_done),
        total: BigInt(r.total_steps),
        unit: 'steps',
        elapsedSeconds: r.started_at ? elapsed : 0,
        etaSeconds: rate > 0 && !TERMINAL_STATES.has(r.state as JobState) ? Math.max(0, r.total_steps - r.steps_done) / rate : 0,
        message: this.lastMessage(id),
      },
      lastLoss: lastStep?.loss ?? 0,
      lastMemorizationError: last?.memorizationError ?? 0,
      checkpointPath: checkpoints.length > 0 ? checkpoints[checkpoints.length - 1].path : '',
      error: r.error,
      createdAt: BigInt(r.created_at),
      updatedAt: BigInt(r.updated_at),
      corpusId: r.corpus_id,
      modelHost: r.model_host,
      steps: curves ? this.steps(id).map(stepToProto) : [],
      measures: curves ? measures.map(measureToProto) : [],
      checkpoints: checkpoints.map((c) => ({ step: BigInt(c.step), path: c.path, writtenAt: BigInt(c.writtenAt) })),
      timings: {
        startedAt: BigInt(r.started_at),
        finishedAt: BigInt(r.finished_at),
        trainSeconds: r.train_seconds,
        evalSeconds: r.eval_seconds,
        checkpointSeconds: r.checkpoint_seconds,
        tokens: BigInt(tokens),
        tokensPerSecond: r.train_seconds > 0 ? tokens / r.train_seconds : 0,
        resumes: r.resumes,
      },
      outputPath: r.output_path,
      baseMemorizationError: base?.memorizationError ?? 0,
      baseLocality: base?.locality ?? 0,
      lastLocality: last?.locality ?? 0,
    };
  }

  private lastMessage(id: string): string {
    const row = this.db.prepare('SELECT message FROM transitions WHERE run_id = ? ORDER BY rowid DESC LIMIT 1').get(id) as
      { message: string } | undefined;
    return row?.message ?? '';
  }

  /** Runs newest first, optionally only in one state; without curves. */
  list(state: JobState = JobState.JOB_STATE_UNSPECIFIED, limit = 100): trainer.Run[] {
    const rows = (
      state === JobState.JOB_STATE_UNSPECIFIED
        ? this.db.prepare('SELECT id FROM runs ORDER BY created_at DESC, id LIMIT ?').all(limit)
        : this.db.prepare('SELECT id FROM runs WHERE state = ? ORDER BY created_at DESC, id LIMIT ?').all(state, limit)
    ) as Array<{ id: string }>;
    return rows.map((r) => this.run(r.id, false));
  }
}

export function stepToProto(s: StepRow): trainer.StepRecord {
  return { step: BigInt(s.step), epoch: s.epoch, loss: s.loss, learningRate: s.learningRate, gradNorm: s.gradNorm, tokens: s.tokens };
}

export function measureToProto(m: Measure): trainer.MeasureRecord {
  return { step: BigInt(m.step), memorizationError: m.memorizationError, locality: m.locality ?? 0 };
}
