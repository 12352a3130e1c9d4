// Pure parts of the readings function: what a request asks for, the SQL that answers it, and the
// HTTP cache headers. A window that closed long enough ago can no longer change (no tick older
// than the database's max_tick_age is accepted), so its answer is immutable: a strong ETag over
// the body and a year of Cache-Control (private: the content depends on the caller, RLS).
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { z } from 'npm:zod@4.6.7';
import { ARGS } from '../_shared/db.ts';
import { HttpError } from '../_shared/http.ts';
import { parseWith } from '../_shared/validation.ts';

export interface ReadingsQuery {
  machine_id: string;
  parameter_ids: string[];
  from: string;
  to: string;
  max_points: number;
  process_id: string | null;
}

/** Most parameters in one request (get_readings' own limit is 1000). */
export const MAX_PARAMETERS = 200;
const NAMES = ['machine_id', 'parameter_ids', 'from', 'to', 'max_points', 'process_id'] as const;

const uuid = z.guid({ error: 'must be a uuid' });
const instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time');
const schema = z.object({
  machine_id: uuid,
  parameter_ids: z.array(uuid).min(1, 'needs at least one id').max(MAX_PARAMETERS, `at most ${MAX_PARAMETERS} ids`),
  from: instant,
  to: instant,
  max_points: z.coerce.number().int('must be a whole number').min(1).max(10_000).default(500),
  process_id: uuid.nullable().default(null),
}).refine((q) => Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['from'] });

export function parseQuery(params: URLSearchParams): ReadingsQuery {
  const unknown = [...new Set(params.keys())].filter((n) => !(NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new HttpError(400, 'invalid_request', `unknown query parameter ${unknown.join(', ')}; use ${NAMES.join(', ')}`);
  }
  const repeated = NAMES.filter((n) => params.getAll(n).length > 1);
  if (repeated.length > 0) throw new HttpError(400, 'invalid_request', `${repeated.join(', ')} given more than once`);
  const raw: Record<string, unknown> = {
    machine_id: params.get('machine_id') ?? undefined,
    parameter_ids: params.has('parameter_ids')
      ? params.get('parameter_ids')!.split(',').map((s) => s.trim()).filter((s) => s !== '')
      : undefined,
    from: params.get('from') ?? undefined,
    to: params.get('to') ?? undefined,
    max_points: params.get('max_points') ?? undefined,
    process_id: params.get('process_id') ?? undefined,
  };
  const q = parseWith(schema, raw, 'query');
  const ids = q.parameter_ids.map((id) => id.toLowerCase());
  if (new Set(ids).size !== ids.length) throw new HttpError(400, 'invalid_request', 'parameter_ids: a parameter is listed twice');
  return {
    ...q,
    machine_id: q.machine_id.toLowerCase(),
    parameter_ids: ids,
    from: new Date(q.from).toISOString(),
    to: new Date(q.to).toISOString(),
    process_id: q.process_id?.toLowerCase() ?? null,
  };
}

/** The one statement: get_readings as the caller, arguments from the request's settings. */
export const READINGS_STATEMENT = `select r.parameter_id, r.ts, r.min_value, r.max_value, r.mean_value, r.samples
  from public.get_readings((${ARGS} ->> 'machine_id')::uuid, (${ARGS} ->> 'parameter_ids')::uuid[],
                           (${ARGS} ->> 'from')::timestamptz, (${ARGS} ->> 'to')::timestamptz,
                           (${ARGS} ->> 'max_points')::integer, (${ARGS} ->> 'process_id')::uuid) r`;

export function queryArgs(q: ReadingsQuery): Record<string, unknown> {
  return { ...q, parameter_ids: `{${q.parameter_ids.join(',')}}` };
}

/** Whether no tick can be added to the window any more: it ended before now - immutableAfterMs. */
export function isClosed(q: ReadingsQuery, nowMs: number, immutableAfterMs: number): boolean {
  return Date.parse(q.to) <= nowMs - immutableAfterMs;
}

/** Strong ETag: a hash of the exact body bytes. */
export function strongEtag(body: string): string {
  const digest = createHash('sha256').update(body).digest();
  return `"${Buffer.from(digest).subarray(0, 18).toString('base64url')}"`;
}

/** RFC 9110 §13.1.2 If-None-Match: weak comparison against each listed tag, or `*`. */
export function ifNoneMatchHits(header: string | null, tag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => opaque(t) === opaque(tag));
}

export const IMMUTABLE_CACHE_CONTROL = 'private, max-age=31536000, immutable';
export const OPEN_CACHE_CONTROL = 'private, no-cache';
