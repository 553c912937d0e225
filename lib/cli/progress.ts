/**
 * Live progress while `submit --wait` waits: on a terminal one line redrawn in place (`\r` + clear
 * line), elsewhere a plain line each time the status or the poll count changes. The line functions
 * are pure, so they are tested without a terminal.
 */
import type { TaskStatus } from '../tasks/task.js';

export interface ProgressState {
  jobid: string;
  status: TaskStatus;
  /** The task's `attempts`: polls of the zone so far. */
  attempts: number;
  /** Since the command started. */
  elapsedMs: number;
  /** A passing problem, e.g. `API unreachable, retrying`. */
  note?: string;
}

export interface TtyLineOptions {
  /** Terminal width: the line is cut to fit, as a wrapped line cannot be redrawn with `\r`. */
  columns?: number;
  color?: boolean;
  /** Spinner frame, advanced by the ticker while PENDING. */
  frame?: number;
}

/** `\r` then erase the whole line: the cursor is back at column 0 on an empty line. */
export const REDRAW = '\r\x1b[2K';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const GLYPH: Record<TaskStatus, string> = { PENDING: '', SUCCEEDED: '✔', FAILED: '✖', TIMED_OUT: '⌛' };
const COLOR: Record<TaskStatus, string> = { PENDING: '36', SUCCEEDED: '32', FAILED: '31', TIMED_OUT: '33' };

/** 950 → `0.9s`, 65_000 → `1m05s`, 3_720_000 → `1h02m`. */
export function formatElapsed(ms: number): string {
  const safe = Math.max(0, ms);
  if (safe < 60_000) return `${(Math.floor(safe / 100) / 10).toFixed(1)}s`;
  const seconds = Math.floor(safe / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** A line for logs and pipes: `PENDING polls=1 elapsed=2.0s jobid=Yx3…`. */
export function plainProgressLine(state: ProgressState): string {
  const note = state.note ? ` (${state.note})` : '';
  return `${state.status} polls=${state.attempts} elapsed=${formatElapsed(state.elapsedMs)} jobid=${state.jobid}${note}`;
}

/**
 * The terminal line, starting with {@link REDRAW} and without a newline:
 * `⠋ PENDING  polls 1  2.0s  jobid Yx3…`. Cut to `columns - 1` visible characters; only the status
 * is coloured.
 */
export function ttyProgressLine(state: ProgressState, options: TtyLineOptions = {}): string {
  const glyph =
    state.status === 'PENDING' ? (SPINNER[(options.frame ?? 0) % SPINNER.length] as string) : GLYPH[state.status];
  const pieces: Array<{ text: string; color?: string }> = [
    { text: `${glyph} ` },
    { text: state.status, color: COLOR[state.status] },
    { text: `  polls ${state.attempts}  ${formatElapsed(state.elapsedMs)}  jobid ${state.jobid}` },
  ];
  if (state.note) pieces.push({ text: `  (${state.note})`, color: '33' });
  let room = options.columns && options.columns > 1 ? options.columns - 1 : Number.POSITIVE_INFINITY;
  let out = REDRAW;
  for (const piece of pieces) {
    if (room <= 0) break;
    const chars = Array.from(piece.text);
    const text = chars.length > room ? `${chars.slice(0, Math.max(0, room - 1)).join('')}…` : piece.text;
    room -= Math.min(chars.length, room);
    out += piece.color && options.color ? `\x1b[${piece.color}m${text}\x1b[0m` : text;
  }
  return out;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressReporterOptions {
  /** Redraw one line (a terminal) rather than print plain lines. */
  tty: boolean;
  color: boolean;
  /** How often the terminal line is redrawn between polls (elapsed keeps ticking). */
  tickMs?: number;
}

/** Shows {@link ProgressState}s on a stream; call {@link ProgressReporter.finish} before printing anything else. */
export class ProgressReporter {
  private state: ProgressState | undefined;
  private startedAt = 0;
  private printed = '';
  private frame = 0;
  private ticker: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly options: ProgressReporterOptions,
  ) {}

  update(state: ProgressState): void {
    this.state = state;
    this.startedAt = Date.now() - state.elapsedMs;
    if (this.options.tty) {
      this.draw();
      if (!this.ticker && state.status === 'PENDING') {
        this.ticker = setInterval(() => {
          this.frame++;
          this.draw();
        }, this.options.tickMs ?? 120);
        this.ticker.unref();
      }
      return;
    }
    const key = `${state.status}|${state.attempts}|${state.note ?? ''}`;
    if (key !== this.printed) {
      this.printed = key;
      this.stream.write(`${plainProgressLine(state)}\n`);
    }
  }

  /** Stop redrawing. `keep`: leave the last line on screen (ended by a newline); otherwise erase it. */
  finish(keep = true): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    if (!this.options.tty || !this.drawn) return;
    if (keep) {
      this.draw();
      this.stream.write('\n');
    } else this.stream.write(REDRAW);
    this.drawn = false;
  }

  private draw(): void {
    if (!this.state) return;
    const elapsedMs = this.state.status === 'PENDING' ? Date.now() - this.startedAt : this.state.elapsedMs;
    this.stream.write(
      ttyProgressLine(
        { ...this.state, elapsedMs },
        { columns: this.stream.columns, color: this.options.color, frame: this.frame },
      ),
    );
    this.drawn = true;
  }
}
