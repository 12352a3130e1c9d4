// Simulated time for the demo, and its pacing against the wall clock.
//
// Simulated time runs `speed` times faster than the wall clock. Every simulated second the
// recorder gets one tick of the PLC's readings, once the wall clock has reached the moment that
// second is due. Ticks are stamped on the wall clock at that moment (anchor + simMs / speed), with
// microseconds, so they lie between the run's start and end in the database and stay strictly
// increasing at any speed the demo allows (at most 100 000: ticks 10 µs apart).
import { performance } from 'node:perf_hooks';
import type { Reading } from '../sdk/recorder-ticks.ts';
import type { SimulatedPlc } from './plc.ts';

export const TICK_MS = 1000;
/** A wait for a condition checks it this often (simulated). */
export const POLL_MS = 100;

/** Ctrl-C (the run's AbortSignal) ended a wait. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

/** Waits `ms` of wall time, or rejects with InterruptedError as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new InterruptedError(String(signal.reason ?? 'interrupted')));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError(String(signal.reason ?? 'interrupted')));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** ISO 8601 with microseconds: two ticks less than a millisecond apart keep distinct keys. */
function isoMicros(epochMs: number): string {
  const micros = Math.round(epochMs * 1000);
  const ms = Math.floor(micros / 1000);
  return new Date(ms).toISOString().replace('Z', `${String(micros - ms * 1000).padStart(3, '0')}Z`);
}

/**
 * Simulated time and its pacing. Every simulated second the recorder gets one tick of the
 * PLC's readings; the wall clock is made to wait until that second is due.
 */
export class SimClock {
  simMs = 0;
  ticks = 0;
  points = 0;
  private nextTickMs = 0;
  private readonly anchorWall = performance.now();
  private readonly anchorEpoch = Date.now();

  constructor(
    private readonly speed: number,
    private readonly signal: AbortSignal,
    private readonly plc: SimulatedPlc,
    private readonly record: (readings: Reading[], ts: string) => void,
  ) {}

  private due(simMs: number): number {
    return this.anchorWall + simMs / this.speed - performance.now();
  }

  /** Runs simulated time forward to `targetMs` (or until `until` holds, checked every POLL_MS). */
  async run(targetMs: number, until?: () => boolean, onPoll?: () => void): Promise<void> {
    while (this.simMs < targetMs || this.nextTickMs === this.simMs) {
      if (this.nextTickMs === this.simMs) {
        await sleep(this.due(this.simMs), this.signal);
        const readings = this.plc.read();
        this.record(readings, isoMicros(this.anchorEpoch + this.simMs / this.speed));
        this.ticks++;
        this.points += readings.length;
        this.nextTickMs += TICK_MS;
        onPoll?.();
      }
      if (this.simMs >= targetMs) break;
      const boundary = Math.min(targetMs, this.nextTickMs, until ? this.simMs + POLL_MS : Infinity);
      this.plc.advance(boundary - this.simMs);
      this.simMs = boundary;
      if (until?.()) break;
    }
    await sleep(this.due(this.simMs), this.signal);
  }
}
