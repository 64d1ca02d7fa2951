/**
 * The progress display of a followed job, on stderr: a bar redrawn in place on a terminal, plain lines at a modest
 * rate otherwise (a log file, a CI job, a test). Runs show step/total, loss, tokens/s and ETA; evaluations claims
 * done/total, claims/s and ETA; sweeps cells done/total, the running cells, claims/s and ETA.
 */
import { common, evaluator, trainer } from '@memorize/contracts';

/** Seconds as m:ss or h:mm:ss. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A JobState as a word: JOB_STATE_SUCCEEDED -> "succeeded". */
export function stateName(state: common.JobState): string {
  const name = common.JobState[state] as string | undefined;
  return name ? name.replace(/^JOB_STATE_/, '').toLowerCase() : String(state);
}

export function isTerminal(state: common.JobState): boolean {
  return state === common.JobState.JOB_STATE_SUCCEEDED || state === common.JobState.JOB_STATE_FAILED || state === common.JobState.JOB_STATE_CANCELLED;
}

interface Sink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * One job's progress on a stream: a status line redrawn in place on a terminal (at most every 100 ms), plain lines
 * at a modest rate otherwise (the first one at once, the one held back printed before the next permanent line or
 * at the end), and permanent lines (state changes, measures) above the bar.
 */
export class ProgressDisplay {
  private lastDraw = 0;
  private lastLine = 0;
  private drawn = false;
  /** Whether a status line was printed yet (plain lines: the first one is shown at once). */
  private statusShown = false;
  private pendingLine: string | undefined;
  /** The status line on the terminal's last line. */
  private shown: string | undefined;
  readonly tty: boolean;

  constructor(
    private readonly out: Sink,
    /** Minimum interval between plain status lines (not a terminal), ms. */
    private readonly lineEveryMs = 2_000,
  ) {
    this.tty = out.isTTY === true;
  }

  /** Whether a plain line is due (the interval has passed since the last line). */
  due(now = Date.now()): boolean {
    return now - this.lastLine >= this.lineEveryMs;
  }

  /** `[#####-----] ` on a terminal when the total is known, else nothing. */
  bar(done: number, total: number): string {
    if (!this.tty || total <= 0) return '';
    const width = 20;
    const filled = Math.max(0, Math.min(width, Math.round((done / total) * width)));
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]  `;
  }

  /** The latest status. */
  status(line: string, now = Date.now()): void {
    if (this.tty) {
      this.pendingLine = line;
      if (now - this.lastDraw >= 100) this.draw(now);
    } else if (!this.statusShown || this.due(now)) {
      this.note(line, now);
      this.statusShown = true;
      this.pendingLine = undefined;
    } else {
      this.pendingLine = line;
    }
  }

  /** A permanent line; on plain output the status line held back goes first. */
  event(text: string): void {
    if (this.pendingLine && !this.tty) {
      this.out.write(this.pendingLine + '\n');
      this.pendingLine = undefined;
    }
    this.note(text);
  }

  /** Shows the latest status (plain lines: the last one held back by the rate limit) and ends the bar. */
  finish(): void {
    if (this.tty) {
      if (this.pendingLine) this.draw(Date.now());
      if (this.drawn) this.out.write('\n');
      this.shown = undefined;
      this.drawn = false;
    } else if (this.pendingLine) {
      this.out.write(this.pendingLine + '\n');
    }
    this.pendingLine = undefined;
  }

  /** Redraws the bar with the latest status (or the last drawn one, after a permanent line). */
  private draw(now: number): void {
    const line = this.pendingLine ?? this.shown;
    if (!line) return;
    const width = this.out.columns || 100;
    this.out.write(`\r\x1b[2K${line.slice(0, Math.max(20, width - 1))}`);
    this.shown = line;
    this.pendingLine = undefined;
    this.drawn = true;
    this.lastDraw = now;
  }

  /** A permanent line (above the bar on a terminal). */
  note(text: string, now = Date.now()): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[2K');
    this.out.write(text + '\n');
    this.lastLine = now;
    if (this.tty && this.drawn) {
      this.drawn = false;
      this.draw(now);
    }
  }
}

/** A training run's progress (WatchRun events): step/total, epoch, loss, tokens/s, ETA; measures and states as lines. */
export class RunProgress {
  private readonly display: ProgressDisplay;

  constructor(
    private readonly runId: string,
    out: Sink,
    /** Minimum interval between plain step lines (not a terminal), ms. */
    lineEveryMs = 2_000,
  ) {
    this.display = new ProgressDisplay(out, lineEveryMs);
  }

  /** One WatchRun event. */
  update(event: trainer.WatchRunResponse): void {
    if (event.step < 0n) {
      // A state change: always shown, after the latest step.
      this.display.event(`run ${this.runId}: ${stateName(event.state)}${event.message ? ` (${event.message})` : ''}`);
      return;
    }
    const now = Date.now();
    const line = this.stepLine(event);
    if (event.memorizationError > 0 || event.locality > 0) {
      const parts = [`document NLL ${event.memorizationError.toFixed(4)}`];
      if (event.locality > 0) parts.push(`locality NLL ${event.locality.toFixed(4)}`);
      const measure = `run ${this.runId}: after ${event.step + 1n} steps: ${parts.join(', ')}`;
      if (this.display.tty || event.step === 0n || this.display.due(now)) this.display.note(measure, now);
    }
    this.display.status(line, now);
  }

  finish(): void {
    this.display.finish();
  }

  private stepLine(event: trainer.WatchRunResponse): string {
    const done = Number(event.progress?.done ?? event.step + 1n);
    const total = Number(event.progress?.total ?? 0n);
    const parts: string[] = [];
    parts.push(total > 0 ? `${done}/${total} steps` : `${done} steps`);
    parts.push(`epoch ${event.epoch + 1}`);
    parts.push(`loss ${event.loss.toFixed(4)}`);
    if (event.tokensPerSecond > 0) parts.push(`${Math.round(event.tokensPerSecond)} tok/s`);
    const eta = event.progress?.etaSeconds ?? 0;
    if (eta > 0) parts.push(`ETA ${clock(eta)}`);
    return `run ${this.runId}: ${this.display.bar(done, total)}${parts.join('  ')}`;
  }
}

/** Claims per second measured from successive (done, time) observations of one evaluation. */
export class Rate {
  private first: { done: number; at: number } | undefined;
  perSecond = 0;

  observe(done: number, now = Date.now()): void {
    if (!this.first || done < this.first.done) this.first = { done, at: now };
    else if (now > this.first.at && done > this.first.done) this.perSecond = ((done - this.first.done) * 1000) / (now - this.first.at);
  }

  /** Seconds for `left` more units at the measured rate; 0 when unknown. */
  eta(left: number): number {
    return this.perSecond > 0 && left > 0 ? left / this.perSecond : 0;
  }
}

/** An evaluation's progress (WatchEvaluation events): claims done/total, claims/s, ETA; state changes as lines. */
export class EvalProgress {
  private readonly display: ProgressDisplay;
  private readonly rate = new Rate();
  private state: common.JobState | undefined;

  constructor(
    private readonly id: string,
    out: Sink,
    lineEveryMs = 2_000,
  ) {
    this.display = new ProgressDisplay(out, lineEveryMs);
  }

  update(e: evaluator.Evaluation, now = Date.now()): void {
    const done = Number(e.progress?.done ?? 0n);
    const total = Number(e.progress?.total ?? 0n);
    if (e.state !== this.state) {
      this.state = e.state;
      const why = e.error || e.progress?.message;
      this.display.event(`evaluation ${this.id}: ${stateName(e.state)}${why && why !== stateName(e.state) ? ` (${why})` : ''}`);
      if (isTerminal(e.state)) return;
    }
    if (total === 0 || e.state !== common.JobState.JOB_STATE_RUNNING) return;
    this.rate.observe(done, now);
    this.display.status(`evaluation ${this.id}: ${this.display.bar(done, total)}${claimsText(done, total, this.rate)}`, now);
  }

  finish(): void {
    this.display.finish();
  }
}

function claimsText(done: number, total: number, rate: Rate, withEta = true): string {
  const parts = [`${done}/${total} claims`];
  if (rate.perSecond > 0) parts.push(`${rate.perSecond.toFixed(1)} claims/s`);
  const eta = withEta ? rate.eta(total - done) : 0;
  if (eta > 0) parts.push(`ETA ${clock(eta)}`);
  return parts.join('  ');
}

/** "memory L3", or the bare variant name for the pretrained cell (layer -1). */
export const cellName = (c: Pick<evaluator.SweepCell, 'variant' | 'layer'>): string => (c.layer < 0 ? c.variant : `${c.variant} L${c.layer}`);

/**
 * A sweep's progress: cells done/total, the running cells (training, or scoring with claims done), claims/s of
 * the cell being scored, ETA of the sweep; every cell's end and the sweep's states as lines.
 */
export class SweepProgress {
  private readonly display: ProgressDisplay;
  private state: common.JobState | undefined;
  private readonly cellStates = new Map<string, common.JobState>();
  private readonly scoring = new Map<string, { done: number; total: number; rate: Rate }>();
  private sweep: evaluator.Sweep | undefined;
  private readonly began = Date.now();

  constructor(
    private readonly id: string,
    out: Sink,
    lineEveryMs = 2_000,
  ) {
    this.display = new ProgressDisplay(out, lineEveryMs);
  }

  /** A WatchSweep event (the sweep after it). */
  update(s: evaluator.Sweep, now = Date.now()): void {
    this.sweep = s;
    // The sweep's first state before its cells, its last one after them.
    const changed = s.state !== this.state;
    if (changed && !isTerminal(s.state)) this.stateLine(s);
    for (const c of s.cells) {
      const name = cellName(c);
      const before = this.cellStates.get(name);
      this.cellStates.set(name, c.state);
      if (before === c.state || !isTerminal(c.state)) continue;
      const m = c.report?.metrics;
      const what = c.state === common.JobState.JOB_STATE_SUCCEEDED && m ? `accuracy ${m.accuracy.toFixed(4)} (${m.count} claims)` : c.error;
      this.display.event(`sweep ${this.id}: cell ${name} ${stateName(c.state)}${what ? `: ${what}` : ''}`);
      this.scoring.delete(name);
    }
    if (changed && isTerminal(s.state)) this.stateLine(s);
    this.state = s.state;
    if (!isTerminal(s.state)) this.redraw(now);
  }

  private stateLine(s: evaluator.Sweep): void {
    this.display.event(`sweep ${this.id}: ${stateName(s.state)}${s.error ? ` (${s.error})` : ''}`);
  }

  /** The progress of a running cell's evaluation (polled while the cell scores). */
  cellEvaluation(cell: Pick<evaluator.SweepCell, 'variant' | 'layer'>, e: evaluator.Evaluation, now = Date.now()): void {
    const name = cellName(cell);
    if (isTerminal(e.state) || this.cellStates.get(name) !== common.JobState.JOB_STATE_RUNNING) return;
    const entry = this.scoring.get(name) ?? { done: 0, total: 0, rate: new Rate() };
    entry.done = Number(e.progress?.done ?? 0n);
    entry.total = Number(e.progress?.total ?? 0n);
    entry.rate.observe(entry.done, now);
    this.scoring.set(name, entry);
    this.redraw(now);
  }

  private redraw(now: number): void {
    const s = this.sweep;
    if (!s || isTerminal(s.state)) return;
    const done = Number(s.progress?.done ?? 0n);
    const total = Number(s.progress?.total ?? BigInt(s.cells.length));
    const parts = [`${done}/${total} cells`];
    const running = s.cells.filter((c) => c.state === common.JobState.JOB_STATE_RUNNING);
    for (const c of running) {
      const scored = this.scoring.get(cellName(c));
      const what = scored && scored.total > 0 ? claimsText(scored.done, scored.total, scored.rate, false) : c.runId ? 'training' : 'starting';
      parts.push(`${cellName(c)}: ${what}`);
    }
    const elapsed = (now - this.began) / 1000;
    // The sweep's ETA: the mean time of a finished cell so far, for the cells left (once one has finished here).
    const finishedHere = [...this.cellStates.values()].filter(isTerminal).length;
    if (done > 0 && finishedHere > 0 && done < total) parts.push(`ETA ${clock(((s.progress?.elapsedSeconds || elapsed) / done) * (total - done))}`);
    this.display.status(`sweep ${this.id}: ${this.display.bar(done, total)}${parts.join('  ')}`, now);
  }

  finish(): void {
    this.display.finish();
  }
}
