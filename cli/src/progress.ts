/**
 * The progress display of a followed run, on stderr: a bar redrawn in place on a terminal (step/total, loss,
 * tokens/s, ETA), plain lines at a modest rate otherwise (a log file, a CI job, a test).
 */
import { common, trainer } from '@memorize/contracts';

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

export class RunProgress {
  private lastDraw = 0;
  private lastLine = 0;
  private drawn = false;
  /** Whether a step line was printed yet (plain lines: the first one is shown at once). */
  private stepShown = false;
  private pendingLine: string | undefined;
  /** The step line on the terminal's last line. */
  private shown: string | undefined;
  private readonly tty: boolean;

  constructor(
    private readonly runId: string,
    private readonly out: Sink,
    /** Minimum interval between plain step lines (not a terminal), ms. */
    private readonly lineEveryMs = 2_000,
  ) {
    this.tty = out.isTTY === true;
  }

  /** One WatchRun event. */
  update(event: trainer.WatchRunResponse): void {
    const now = Date.now();
    if (event.step < 0n) {
      // A state change: always shown, after the latest step.
      if (this.pendingLine && !this.tty) {
        this.out.write(this.pendingLine + '\n');
        this.pendingLine = undefined;
      }
      this.note(`run ${this.runId}: ${stateName(event.state)}${event.message ? ` (${event.message})` : ''}`);
      return;
    }
    const line = this.stepLine(event);
    if (event.memorizationError > 0 || event.locality > 0) {
      const parts = [`document NLL ${event.memorizationError.toFixed(4)}`];
      if (event.locality > 0) parts.push(`locality NLL ${event.locality.toFixed(4)}`);
      const measure = `run ${this.runId}: after ${event.step + 1n} steps: ${parts.join(', ')}`;
      if (this.tty || event.step === 0n || now - this.lastLine >= this.lineEveryMs) this.note(measure, now);
    }
    if (this.tty) {
      this.pendingLine = line;
      if (now - this.lastDraw >= 100) this.draw(now);
    } else if (!this.stepShown || now - this.lastLine >= this.lineEveryMs) {
      this.note(line, now);
      this.stepShown = true;
      this.pendingLine = undefined;
    } else {
      this.pendingLine = line;
    }
  }

  /** Shows the latest step (plain lines: the last one held back by the rate limit) and ends the bar. */
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

  private stepLine(event: trainer.WatchRunResponse): string {
    const done = Number(event.progress?.done ?? event.step + 1n);
    const total = Number(event.progress?.total ?? 0n);
    const parts: string[] = [];
    if (this.tty && total > 0) {
      const width = 20;
      const filled = Math.min(width, Math.round((done / total) * width));
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`);
    }
    parts.push(total > 0 ? `${done}/${total} steps` : `${done} steps`);
    parts.push(`epoch ${event.epoch + 1}`);
    parts.push(`loss ${event.loss.toFixed(4)}`);
    if (event.tokensPerSecond > 0) parts.push(`${Math.round(event.tokensPerSecond)} tok/s`);
    const eta = event.progress?.etaSeconds ?? 0;
    if (eta > 0) parts.push(`ETA ${clock(eta)}`);
    return `run ${this.runId}: ${parts.join('  ')}`;
  }

  /** Redraws the bar with the latest step (or the last drawn one, after a permanent line). */
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
  private note(text: string, now = Date.now()): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[2K');
    this.out.write(text + '\n');
    this.lastLine = now;
    if (this.tty && this.drawn) {
      this.drawn = false;
      this.draw(now);
    }
  }
}
