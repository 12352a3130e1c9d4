// Turning PLC readings into ticks, and ticks into record_readings (machine) or
// record_process_data (process) arguments.
// Pure functions: the buffering and sending policy is in src/recorder.ts.
import { invalidArgument } from './errors.ts';
import { isUuid } from './validate.ts';

/** One reading as an object, for callers that also know the setpoint in force. */
export interface Reading {
  parameterId: string;
  value: number | null;
  setPoint?: number | null;
}

/** Readings of one tick: { [parameterId]: value } or an array of Reading. */
export type Readings = Readonly<Record<string, number | null>> | readonly Reading[];

export interface Tick {
  /** Position in the recorder's sequence, from 1. */
  seq: number;
  /** The timestamp of every row of the tick (part of the idempotency key). */
  ts: string;
  ids: string[];
  values: (number | null)[];
  setPoints: (number | null)[] | null;
}

/**
 * The tick with each parameter once, its first reading kept: what record_process_data stores of a
 * tick that repeats a parameter (record_readings refuses such a tick with 22023).
 */
export function firstOfEach(tick: Tick): Tick {
  if (new Set(tick.ids).size === tick.ids.length) return tick;
  const seen = new Set<string>();
  const keep = tick.ids.map((id) => !seen.has(id) && seen.add(id) !== undefined);
  return {
    ...tick,
    ids: tick.ids.filter((_, i) => keep[i]),
    values: tick.values.filter((_, i) => keep[i]),
    setPoints: tick.setPoints ? tick.setPoints.filter((_, i) => keep[i]) : null,
  };
}

/** The database refuses more rows per call. */
export const MAX_ROWS_PER_RPC = 100_000;

const OPERATION = 'record';

/** NaN and ±Infinity become null (the RPC refuses non-finite numbers); counted by the caller. */
function finiteOrNull(value: unknown, what: string, counter: { nonFinite: number }): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number') throw invalidArgument(OPERATION, `${what} must be a number or null`, value);
  if (Number.isFinite(value)) return value;
  counter.nonFinite++;
  return null;
}

function requireId(id: unknown): string {
  if (!isUuid(id)) throw invalidArgument(OPERATION, 'record must be called with parameter ids that are uuid strings', id);
  return id;
}

/** Validates and converts readings; `counter.nonFinite` counts the values replaced by null. */
export function toTick(readings: Readings, seq: number, ts: string, counter: { nonFinite: number }): Tick {
  const ids: string[] = [];
  const values: (number | null)[] = [];
  let setPoints: (number | null)[] | null = null;
  if (Array.isArray(readings)) {
    readings.forEach((reading: Reading, i: number) => {
      if (typeof reading !== 'object' || reading === null) throw invalidArgument(OPERATION, 'each reading must be an object { parameterId, value, setPoint? }', reading);
      ids.push(requireId(reading.parameterId));
      values.push(finiteOrNull(reading.value, 'value', counter));
      if (reading.setPoint !== undefined) {
        setPoints ??= new Array<number | null>(i).fill(null);
        setPoints.push(finiteOrNull(reading.setPoint, 'setPoint', counter));
      } else if (setPoints) {
        setPoints.push(null);
      }
    });
  } else if (typeof readings === 'object' && readings !== null) {
    for (const [id, value] of Object.entries(readings)) {
      ids.push(requireId(id));
      values.push(finiteOrNull(value, 'value', counter));
    }
  } else {
    throw invalidArgument(OPERATION, 'record must be called with { [parameterId]: value } or an array of { parameterId, value, setPoint? }', readings);
  }
  if (ids.length > MAX_ROWS_PER_RPC) {
    throw invalidArgument(OPERATION, `a tick may hold at most ${MAX_ROWS_PER_RPC} readings`, ids.length);
  }
  return { seq, ts, ids, values, setPoints };
}

/**
 * Timestamps with microseconds, strictly increasing per recorder when the caller gives none:
 * two ticks in the same millisecond must not share a key, or the second would be taken for a
 * retry of the first and silently skipped.
 */
export class TickClock {
  private lastMicros = 0;

  constructor(private readonly nowMs: () => number = Date.now) {}

  next(): string {
    const micros = Math.max(Math.floor(this.nowMs() * 1000), this.lastMicros + 1);
    this.lastMicros = micros;
    const ms = Math.floor(micros / 1000);
    return new Date(ms).toISOString().replace('Z', `${String(micros % 1000).padStart(3, '0')}Z`);
  }
}

/** A caller-given timestamp: a Date, epoch milliseconds, or a string PostgreSQL can read. */
export function timestampOf(ts: Date | number | string): string {
  if (typeof ts === 'string') {
    if (Number.isNaN(Date.parse(ts))) throw invalidArgument(OPERATION, 'ts must be a Date, epoch milliseconds or an ISO 8601 string', ts);
    return ts; // kept as given, microseconds included: it is part of the idempotency key
  }
  const date = ts instanceof Date ? ts : typeof ts === 'number' ? new Date(ts) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw invalidArgument(OPERATION, 'ts must be a Date, epoch milliseconds or an ISO 8601 string', ts);
  return date.toISOString();
}

/**
 * The arguments of one record_process_data call. One tick: one timestamp for the whole call.
 * Several ticks (a backlog): the rows concatenated, with one timestamp per row.
 */
export function toCallArgs(processId: string, ticks: readonly Tick[]): Record<string, unknown> {
  if (ticks.length === 1) {
    const [t] = ticks;
    return { process_id: processId, parameter_ids: t.ids, values: t.values, timestamps: [t.ts], set_points: t.setPoints ?? undefined };
  }
  const withSetPoints = ticks.some((t) => t.setPoints !== null);
  const ids: string[] = [];
  const values: (number | null)[] = [];
  const timestamps: string[] = [];
  const setPoints: (number | null)[] = [];
  for (const t of ticks) {
    for (let i = 0; i < t.ids.length; i++) {
      ids.push(t.ids[i]);
      values.push(t.values[i]);
      timestamps.push(t.ts);
      if (withSetPoints) setPoints.push(t.setPoints ? t.setPoints[i] : null);
    }
  }
  return { process_id: processId, parameter_ids: ids, values, timestamps, set_points: withSetPoints ? setPoints : undefined };
}

/** Whether two ticks carry the same parameters in the same order (one record_readings call). */
export function sameColumns(a: Tick, b: Tick): boolean {
  if (a.ids === b.ids) return true;
  if (a.ids.length !== b.ids.length) return false;
  for (let i = 0; i < a.ids.length; i++) if (a.ids[i] !== b.ids[i]) return false;
  return true;
}

/**
 * The arguments of one record_readings call: ticks that all carry the same parameters in the same
 * order (the recorder batches only those), the values flat, tick by tick, one timestamp per tick.
 */
export function toMachineCallArgs(machineId: string, ticks: readonly Tick[]): Record<string, unknown> {
  const withSetPoints = ticks.some((t) => t.setPoints !== null);
  const values: (number | null)[] = [];
  const setPoints: (number | null)[] = [];
  for (const t of ticks) {
    for (let i = 0; i < t.ids.length; i++) {
      values.push(t.values[i]);
      if (withSetPoints) setPoints.push(t.setPoints ? t.setPoints[i] : null);
    }
  }
  return {
    machine_id: machineId, parameter_ids: ticks[0].ids, values, timestamps: ticks.map((t) => t.ts),
    set_points: withSetPoints ? setPoints : undefined,
  };
}
