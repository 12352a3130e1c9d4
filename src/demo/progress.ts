// The demo's live output: one line per step, and on a terminal a progress bar kept on the last
// line. On anything else (a pipe, a file, CI) lines only, without control codes.
import type { ControlRecord, Progress, StepRecord } from './controller.ts';

const BAR_WIDTH = 24;
const REDRAW_MS = 50;

export function formatStep(s: StepRecord): string {
  const width = String(s.total).length;
  const index = `[${String(s.index).padStart(width)}/${s.total}]`;
  const name = s.loopIteration === null ? s.name : `${s.name} #${s.loopIteration}`;
  return `  ${index} ${s.type.padEnd(9)} ${name.padEnd(24)} ${String(s.roundTrips).padStart(2)} round trip${s.roundTrips === 1 ? ' ' : 's'} `
    + `${s.latencyMs.toFixed(1).padStart(7)} ms   t=${(s.simStartMs / 1000).toFixed(1).padStart(6)} s  ${s.detail}`;
}

/** A pause, resume or stop applied between two steps (never matches a step line's [ i/N] prefix). */
export function formatControl(c: ControlRecord): string {
  const verb = { pause_recipe: 'paused', resume_recipe: 'resumed', stop_recipe: 'stopped' }[c.command];
  return `  -- ${verb} by the operator after step ${c.afterStep}/${c.total}: run ${c.processStatus}, machine ${c.machineStatus}; `
    + `${c.roundTrips} controller round trips (claim + apply) ${c.latencyMs.toFixed(1)} ms`;
}

function clock(simMs: number): string {
  const total = Math.floor(simMs / 1000);
  return `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
}

export class ProgressOutput {
  private readonly tty: boolean;
  private bar = '';
  private lastDraw = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.tty = stream.isTTY === true && process.env.TERM !== 'dumb';
  }

  /** A line of output, above the bar. */
  line(text: string): void {
    if (this.tty && this.bar) this.stream.write(`\r\x1b[K${text}\n${this.bar}`);
    else this.stream.write(`${text}\n`);
  }

  progress(p: Progress): void {
    if (!this.tty) return;
    const filled = Math.round((p.done / p.total) * BAR_WIDTH);
    const columns = this.stream.columns || 100;
    const text = `  [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${p.done}/${p.total} sim ${clock(p.simMs)}  ${p.step}: ${p.detail}`;
    // Always the latest state (line() redraws it); written at most every REDRAW_MS.
    this.bar = text.length >= columns ? text.slice(0, columns - 1) : text;
    const now = Date.now();
    if (now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.stream.write(`\r\x1b[K${this.bar}`);
  }

  /** Removes the bar (before the summary, or on the way out). */
  end(): void {
    if (this.tty && this.bar) this.stream.write('\r\x1b[K');
    this.bar = '';
  }
}
