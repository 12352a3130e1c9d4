// db.readings: what was recorded, read back in one round trip each.
//   latest(machineId)  get_latest_readings: the machine's last tick, one row per parameter
//   range({...})       get_readings: a chart's worth of points per parameter over a window; the
//                      raw points when the window holds at most maxPoints ticks, else buckets
//                      (aligned to the epoch, a width from a fixed ladder) with their min, max
//                      and mean. Read-only calls, retried after a lost
//                      connection (they change nothing).
import { invalidArgument } from './errors.ts';
import type { RpcClient } from './rpc-client.ts';
import { optionalUuid, requireObject, requireUuid, requireUuidArray } from './validate.ts';

export interface LatestReading {
  parameter_id: string;
  /** Time of the machine's last tick (ISO 8601). */
  ts: string;
  value: number | null;
  set_point: number | null;
  process_id: string | null;
}

export interface ReadingPoint {
  parameter_id: string;
  /** The raw point's time, or the bucket's start (ISO 8601). */
  ts: string;
  min_value: number;
  max_value: number;
  mean_value: number;
  /** Readings in the bucket (1 for a raw point). */
  samples: number;
}

export interface RangeOptions {
  machineId: string;
  parameterIds: readonly string[];
  /** Start of the window, inclusive. */
  from: Date | string;
  /** End of the window, exclusive. */
  to: Date | string;
  /** At most this many points per parameter (1..10000; default 500). */
  maxPoints?: number;
  /** Only the ticks of this run. */
  processId?: string;
}

function timestamp(operation: string, what: string, value: unknown): string {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw invalidArgument(operation, `${what} must be a Date or an ISO 8601 string`, value);
  return typeof value === 'string' ? value : date.toISOString();
}

export class ReadingsApi {
  constructor(private readonly rpc: RpcClient) {}

  /** The machine's last recorded tick: every parameter of its layout with value, setpoint and time. */
  async latest(machineId: string): Promise<LatestReading[]> {
    requireUuid('readings.latest', 'a machine id', machineId);
    return this.rpc.idempotent<LatestReading[]>('get_latest_readings', { machine_id: machineId });
  }

  /** Points per parameter over [from, to), ordered by parameter (as given) then time. */
  async range(options: RangeOptions): Promise<ReadingPoint[]> {
    const o = requireObject('readings.range', options);
    const maxPoints = o.maxPoints ?? 500;
    if (typeof maxPoints !== 'number' || !Number.isInteger(maxPoints) || maxPoints < 1 || maxPoints > 10_000) {
      throw invalidArgument('readings.range', 'maxPoints must be a whole number from 1 to 10000', maxPoints);
    }
    const from = timestamp('readings.range', 'from', o.from);
    const to = timestamp('readings.range', 'to', o.to);
    if (!(new Date(from).getTime() < new Date(to).getTime())) throw invalidArgument('readings.range', 'from must be before to', { from, to });
    return this.rpc.idempotent<ReadingPoint[]>('get_readings', {
      machine_id: requireUuid('readings.range', 'a machineId', o.machineId),
      parameter_ids: requireUuidArray('readings.range', 'parameterIds', o.parameterIds),
      from_ts: from,
      to_ts: to,
      max_points: maxPoints,
      process_id: optionalUuid('readings.range', 'a processId', o.processId),
    });
  }
}
