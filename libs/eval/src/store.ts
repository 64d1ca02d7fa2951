/**
 * The evaluator's store: evaluations (spec, state, progress, report with every prediction) and sweeps (spec,
 * state, cells with their run and evaluation ids), in one SQLite database (better-sqlite3, WAL) under the
 * evaluator's data directory; every change one transaction; the schema versioned in code (PRAGMA user_version).
 */
import type Database from 'better-sqlite3';
import { common, evaluator, trainer } from '@memorize/contracts';
import { AlreadyExistsError, NotFoundError } from '@memorize/errors';
import { openDatabase, updateColumns } from '@memorize/runs';

const { JobState } = common;
type JobState = common.JobState;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE evaluations (
     id TEXT PRIMARY KEY,
     spec BLOB NOT NULL,
     state INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     error TEXT NOT NULL DEFAULT '',
     done INTEGER NOT NULL DEFAULT 0,
     total INTEGER NOT NULL DEFAULT 0,
     message TEXT NOT NULL DEFAULT '',
     report BLOB
   );
   CREATE TABLE sweeps (
     id TEXT PRIMARY KEY,
     spec BLOB NOT NULL,
     state INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     error TEXT NOT NULL DEFAULT '',
     table_markdown TEXT NOT NULL DEFAULT '',
     significance TEXT NOT NULL DEFAULT ''
   );
   CREATE TABLE cells (
     sweep_id TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
     ordinal INTEGER NOT NULL,
     variant TEXT NOT NULL,
     layer INTEGER NOT NULL,
     run_id TEXT NOT NULL DEFAULT '',
     evaluation_id TEXT NOT NULL DEFAULT '',
     state INTEGER NOT NULL,
     error TEXT NOT NULL DEFAULT '',
     measures BLOB,
     PRIMARY KEY (sweep_id, ordinal)
   ) WITHOUT ROWID;`,
];

export const EVAL_SCHEMA_VERSION = MIGRATIONS.length;

export const TERMINAL: ReadonlySet<JobState> = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

interface EvaluationRow {
  id: string;
  spec: Buffer;
  state: number;
  created_at: number;
  updated_at: number;
  error: string;
  done: number;
  total: number;
  message: string;
  report: Buffer | null;
}

interface CellRow {
  ordinal: number;
  variant: string;
  layer: number;
  run_id: string;
  evaluation_id: string;
  state: number;
  error: string;
  measures: Buffer | null;
}

const now = (): number => Math.floor(Date.now() / 1000);

/** Measure curves are stored as a trainer.Run holding only them (one encoding for a repeated message). */
const encodeMeasures = (m: readonly trainer.MeasureRecord[]): Buffer =>
  Buffer.from(trainer.Run.encode(trainer.Run.fromPartial({ measures: [...m] })).finish());
const decodeMeasures = (b: Buffer | null): trainer.MeasureRecord[] => (b ? trainer.Run.decode(b).measures : []);

export class EvalStore {
  readonly path: string;
  private readonly db: Database.Database;

  /** Opens (creating and migrating) `<dataDir>/evaluator.sqlite`. */
  constructor(dataDir: string) {
    ({ db: this.db, path: this.path } = openDatabase(dataDir, 'evaluator.sqlite', MIGRATIONS, 'evaluator'));
  }

  close(): void {
    this.db.close();
  }

  // ---- evaluations ----

  createEvaluation(id: string, spec: evaluator.EvaluationSpec): void {
    const t = now();
    this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM evaluations WHERE id = ?').get(id))
        throw new AlreadyExistsError(`evaluation "${id}" exists`, 'evaluation_id');
      this.db
        .prepare('INSERT INTO evaluations (id, spec, state, created_at, updated_at, message) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, Buffer.from(evaluator.EvaluationSpec.encode(spec).finish()), JobState.JOB_STATE_QUEUED, t, t, 'queued');
    })();
  }

  hasEvaluation(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM evaluations WHERE id = ?').get(id) !== undefined;
  }

  private evaluationRow(id: string): EvaluationRow {
    const row = this.db.prepare('SELECT * FROM evaluations WHERE id = ?').get(id) as EvaluationRow | undefined;
    if (!row) throw new NotFoundError(`no evaluation "${id}"`, 'evaluation_id');
    return row;
  }

  setEvaluation(
    id: string,
    fields: { state?: JobState; error?: string; done?: number; total?: number; message?: string; report?: evaluator.EvaluationReport },
  ): void {
    const set: Record<string, unknown> = { updated_at: now() };
    if (fields.state !== undefined) set.state = fields.state;
    if (fields.error !== undefined) set.error = fields.error;
    if (fields.done !== undefined) set.done = fields.done;
    if (fields.total !== undefined) set.total = fields.total;
    if (fields.message !== undefined) set.message = fields.message;
    if (fields.report !== undefined) set.report = Buffer.from(evaluator.EvaluationReport.encode(fields.report).finish());
    updateColumns(this.db, 'evaluations', set, { id });
  }

  /** The evaluation; `predictions` false leaves the per-claim predictions out of its report (listings). */
  evaluation(id: string, predictions = true): evaluator.Evaluation {
    const r = this.evaluationRow(id);
    const report = r.report ? evaluator.EvaluationReport.decode(r.report) : undefined;
    if (report && !predictions) report.predictions = [];
    return {
      evaluationId: r.id,
      spec: evaluator.EvaluationSpec.decode(r.spec),
      state: r.state as JobState,
      progress: { done: BigInt(r.done), total: BigInt(r.total), unit: 'claims', elapsedSeconds: 0, etaSeconds: 0, message: r.message },
      report,
      error: r.error,
    };
  }

  evaluations(limit: number): evaluator.Evaluation[] {
    const rows = this.db.prepare('SELECT id FROM evaluations ORDER BY created_at DESC, id LIMIT ?').all(limit) as Array<{ id: string }>;
    return rows.map((r) => this.evaluation(r.id, false));
  }

  unfinishedEvaluations(): string[] {
    return (
      this.db
        .prepare(`SELECT id FROM evaluations WHERE state IN (?, ?) AND id NOT IN (SELECT evaluation_id FROM cells) ORDER BY created_at`)
        .all(JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING) as Array<{ id: string }>
    ).map((r) => r.id);
  }

  // ---- sweeps ----

  /** A sweep and its cells (in table order), QUEUED. */
  createSweep(id: string, spec: evaluator.SweepSpec, cells: ReadonlyArray<{ variant: string; layer: number }>): void {
    const t = now();
    this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM sweeps WHERE id = ?').get(id)) throw new AlreadyExistsError(`sweep "${id}" exists`, 'sweep_id');
      this.db
        .prepare('INSERT INTO sweeps (id, spec, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, Buffer.from(evaluator.SweepSpec.encode(spec).finish()), JobState.JOB_STATE_QUEUED, t, t);
      const insert = this.db.prepare('INSERT INTO cells (sweep_id, ordinal, variant, layer, state) VALUES (?, ?, ?, ?, ?)');
      cells.forEach((c, i) => insert.run(id, i, c.variant, c.layer, JobState.JOB_STATE_QUEUED));
    })();
  }

  hasSweep(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM sweeps WHERE id = ?').get(id) !== undefined;
  }

  sweepSpec(id: string): evaluator.SweepSpec {
    const row = this.db.prepare('SELECT spec FROM sweeps WHERE id = ?').get(id) as { spec: Buffer } | undefined;
    if (!row) throw new NotFoundError(`no sweep "${id}"`, 'sweep_id');
    return evaluator.SweepSpec.decode(row.spec);
  }

  setSweep(id: string, fields: { state?: JobState; error?: string; tableMarkdown?: string; significance?: string }): void {
    const set: Record<string, unknown> = { updated_at: now() };
    if (fields.state !== undefined) set.state = fields.state;
    if (fields.error !== undefined) set.error = fields.error;
    if (fields.tableMarkdown !== undefined) set.table_markdown = fields.tableMarkdown;
    if (fields.significance !== undefined) set.significance = fields.significance;
    updateColumns(this.db, 'sweeps', set, { id });
  }

  setCell(
    sweepId: string,
    ordinal: number,
    fields: { state?: JobState; error?: string; runId?: string; evaluationId?: string; measures?: readonly trainer.MeasureRecord[] },
  ): void {
    const set: Record<string, unknown> = {};
    if (fields.state !== undefined) set.state = fields.state;
    if (fields.error !== undefined) set.error = fields.error;
    if (fields.runId !== undefined) set.run_id = fields.runId;
    if (fields.evaluationId !== undefined) set.evaluation_id = fields.evaluationId;
    if (fields.measures !== undefined) set.measures = encodeMeasures(fields.measures);
    if (Object.keys(set).length === 0) return;
    this.db.transaction(() => {
      updateColumns(this.db, 'cells', set, { sweep_id: sweepId, ordinal });
      this.db.prepare('UPDATE sweeps SET updated_at = ? WHERE id = ?').run(now(), sweepId);
    })();
  }

  /** The sweep with its cells; `predictions` false leaves the cells' predictions out (listings). */
  sweep(id: string, predictions = true): evaluator.Sweep {
    const row = this.db.prepare('SELECT * FROM sweeps WHERE id = ?').get(id) as
      { id: string; spec: Buffer; state: number; error: string; table_markdown: string; significance: string; created_at: number } | undefined;
    if (!row) throw new NotFoundError(`no sweep "${id}"`, 'sweep_id');
    const cellRows = this.db.prepare('SELECT * FROM cells WHERE sweep_id = ? ORDER BY ordinal').all(id) as CellRow[];
    const cells = cellRows.map((c) => ({
      variant: c.variant,
      layer: c.layer,
      runId: c.run_id,
      evaluationId: c.evaluation_id,
      state: c.state as JobState,
      report: c.evaluation_id && this.hasEvaluation(c.evaluation_id) ? this.evaluation(c.evaluation_id, predictions).report : undefined,
      pValueVsPretrained: 0,
      pHolm: 0,
      significant: false,
      measures: decodeMeasures(c.measures),
      error: c.error,
    }));
    const done = cells.filter((c) => TERMINAL.has(c.state)).length;
    return {
      sweepId: row.id,
      spec: evaluator.SweepSpec.decode(row.spec),
      state: row.state as JobState,
      progress: {
        done: BigInt(done),
        total: BigInt(cells.length),
        unit: 'cells',
        elapsedSeconds: now() - row.created_at,
        etaSeconds: 0,
        message: '',
      },
      cells,
      tableMarkdown: row.table_markdown,
      error: row.error,
      significance: row.significance,
    };
  }

  sweeps(limit: number): evaluator.Sweep[] {
    const rows = this.db.prepare('SELECT id FROM sweeps ORDER BY created_at DESC, id LIMIT ?').all(limit) as Array<{ id: string }>;
    return rows.map((r) => this.sweep(r.id, false));
  }

  unfinishedSweeps(): string[] {
    return (
      this.db
        .prepare('SELECT id FROM sweeps WHERE state IN (?, ?) ORDER BY created_at')
        .all(JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING) as Array<{
        id: string;
      }>
    ).map((r) => r.id);
  }
}
