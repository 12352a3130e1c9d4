// Pure parts of record-data: the two body shapes and their conversion into the parallel arrays of
// record_process_data (one call for a tick or for a whole buffered backlog).
import { z } from 'npm:zod@4.6.7';
import { HttpError } from '../_shared/http.ts';
import { fromArgs, rpcCall } from '../_shared/rpc-call.ts';

const uuid = z.guid({ error: 'must be a uuid' });
const timestamp = z.iso.datetime({
  offset: true,
  error: 'must be an ISO 8601 timestamp with a time zone, e.g. 2026-01-01T12:00:00Z',
});

const Reading = z.object({
  parameter_id: uuid,
  /** null: the PLC could not provide the reading. */
  value: z.number().nullable(),
  set_point: z.number().nullable().optional(),
}).strict();

const Readings = z.array(Reading).min(1, 'needs at least one reading');

/** One tick: `ts` defaults to the database's now(). */
export const TickBody = z.object({ process_id: uuid, ts: timestamp.optional(), readings: Readings }).strict();

/** Several buffered ticks, each with its own timestamp. */
export const BatchBody = z.object({
  process_id: uuid,
  ticks: z.array(z.object({ ts: timestamp, readings: Readings }).strict()).min(1, 'needs at least one tick'),
}).strict();

export type TickBody = z.infer<typeof TickBody>;
export type BatchBody = z.infer<typeof BatchBody>;

/** Chooses the schema by shape, so that errors speak of the shape the client meant. */
export function schemaFor(body: unknown): z.ZodType<TickBody | BatchBody> {
  return body !== null && typeof body === 'object' && 'ticks' in body ? BatchBody : TickBody;
}

export interface RecordArgs {
  process_id: string;
  parameter_ids: string;
  values: string;
  timestamps: string | null;
  set_points: string | null;
  rows: number;
}

// Postgres array literals of validated values. A JS number prints as a valid float8 literal.
const literal = (items: readonly (string | number | null)[], quote = false) =>
  `{${items.map((v) => (v === null ? 'NULL' : quote ? `"${v}"` : String(v))).join(',')}}`;

/** Flattens either shape into record_process_data's arrays; 413 above maxRows readings. */
export function toRecordArgs(body: TickBody | BatchBody, maxRows: number): RecordArgs {
  const ticks = 'ticks' in body ? body.ticks : [{ ts: body.ts, readings: body.readings }];
  const rows = ticks.reduce((n, t) => n + t.readings.length, 0);
  if (rows > maxRows) {
    throw new HttpError(413, 'payload_too_large', `${rows} readings in one request; the limit is ${maxRows}`, {
      limit_rows: maxRows,
      rows,
    });
  }
  const ids: string[] = [];
  const values: (number | null)[] = [];
  const setPoints: (number | null)[] = [];
  const stamps: string[] = [];
  let anySetPoint = false;
  for (const tick of ticks) {
    // Normalised through Date: the literal then holds only digits, '-', ':', '.', 'T' and 'Z'.
    const ts = tick.ts === undefined ? undefined : new Date(tick.ts).toISOString();
    for (const r of tick.readings) {
      ids.push(r.parameter_id);
      values.push(r.value);
      setPoints.push(r.set_point ?? null);
      anySetPoint ||= r.set_point !== undefined && r.set_point !== null;
      if (ts) stamps.push(ts);
    }
  }
  const single = !('ticks' in body);
  return {
    process_id: body.process_id,
    parameter_ids: literal(ids),
    values: literal(values),
    // One tick: one timestamp for all rows (or none: the server's now()); a batch: one per row.
    timestamps: stamps.length === 0 ? null : literal(single ? [stamps[0]] : stamps, true),
    set_points: anySetPoint ? literal(setPoints) : null,
    rows,
  };
}

export const RECORD_STATEMENT = `select ${
  rpcCall('record_process_data', fromArgs('process_id', 'parameter_ids', 'values', 'timestamps', 'set_points'))
} as inserted`;
