// Pure parts of the parameters function: what a request asks for, the SQL that answers it, and
// the HTTP cache headers (ETag, If-None-Match, Cache-Status).
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { z } from 'npm:zod@4.6.7';
import { ARGS } from '../_shared/db.ts';
import { HttpError } from '../_shared/http.ts';
import { PARAMETER_COLUMNS, type ParameterRow } from '../_shared/parameter-row.ts';
import { rpcCall } from '../_shared/rpc-call.ts';
import { parseWith } from '../_shared/validation.ts';

export type QueryKind = 'machine' | 'components' | 'ids';

export interface ParameterQuery {
  kind: QueryKind;
  /** Sorted and without duplicates, so equal questions share one cache entry. */
  ids: string[];
}

/** Most ids in one request; a URL with 1000 uuids is already ~37 kB. */
export const MAX_IDS = 1000;

const QUERY_PARAMS = { machine_id: 'machine', component_ids: 'components', ids: 'ids' } as const;

const idList = z.array(z.guid({ error: 'must be a uuid' })).min(1, 'needs at least one id').max(
  MAX_IDS,
  `at most ${MAX_IDS} ids`,
);

/** Exactly one of ?machine_id= | ?component_ids=a,b | ?ids=a,b, each a (list of) uuid(s). */
export function parseQuery(params: URLSearchParams): ParameterQuery {
  const names = [...new Set(params.keys())];
  const unknown = names.filter((n) => !(n in QUERY_PARAMS));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      'invalid_request',
      `unknown query parameter ${unknown.join(', ')}; use one of machine_id, component_ids, ids`,
    );
  }
  if (names.length !== 1 || params.getAll(names[0]).length !== 1) {
    throw new HttpError(
      400,
      'invalid_request',
      'give exactly one of ?machine_id=<uuid>, ?component_ids=<uuid,...> or ?ids=<uuid,...>',
    );
  }
  const name = names[0] as keyof typeof QUERY_PARAMS;
  const raw = params.get(name)!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (name === 'machine_id' && raw.length !== 1) {
    throw new HttpError(
      400,
      'invalid_request',
      'machine_id takes exactly one uuid; use component_ids or ids for lists',
    );
  }
  const ids = parseWith(idList, raw, name).map((id) => id.toLowerCase());
  return { kind: QUERY_PARAMS[name], ids: [...new Set(ids)].sort() };
}

export function queryKey(query: ParameterQuery): string {
  return `${query.kind}:${query.ids.join(',')}`;
}

/** The RPC arguments: postgres array literals of validated uuids, read by the statements below. */
export function queryArgs(query: ParameterQuery): Record<string, string> {
  return { ids: `{${query.ids.join(',')}}` };
}

const IDS = `(${ARGS} ->> 'ids')::uuid[]`;

// Machines each kind of answer depends on. Read BEFORE the rows (statement order = snapshot
// order), so a change committed in between shows as a newer epoch at the next check.
const MACHINES: Record<QueryKind, string> = {
  machine: IDS,
  components: `array(select c.machine_id from public.machine_components c where c.id = any (${IDS}))`,
  ids: `array(select distinct p.machine_id from public.component_parameters p where p.id = any (${IDS}))`,
};

const ROWS: Record<QueryKind, string> = {
  machine: `select ${PARAMETER_COLUMNS} from ${rpcCall('get_machine_parameters', { machine_id: `(${IDS})[1]` })} p`,
  components: `select ${PARAMETER_COLUMNS} from ${rpcCall('get_component_parameters_bulk', { component_ids: IDS })} p`,
  ids: `select ${PARAMETER_COLUMNS} from ${rpcCall('get_parameters', { parameter_ids: IDS })} p`,
};

const epochsOf = (machines: string) =>
  `select e.machine_id, e.epoch from ${rpcCall('get_parameter_epochs', { machine_ids: machines })} e`;

/** Statements of a fetch: [epochs of the machines involved, the rows]. */
export function fetchStatements(kind: QueryKind): [string, string] {
  return [epochsOf(MACHINES[kind]), ROWS[kind]];
}

/** Statement of an epoch check, with args {ids: machine ids}. */
export const EPOCHS_STATEMENT = epochsOf(IDS);

/** RPC named in metrics for each kind. */
export const OPERATION: Record<QueryKind, string> = {
  machine: 'get_machine_parameters',
  components: 'get_component_parameters_bulk',
  ids: 'get_parameters',
};

/**
 * Weak ETag over the (id, version) pairs in order. The rows are a function of their versions (the
 * telemetry that moves without a version is not served), so equal tags mean equal content; weak
 * because the platform may compress the body, and If-None-Match compares weakly anyway.
 */
export function etag(rows: readonly ParameterRow[]): string {
  const hash = createHash('sha256');
  for (const row of rows) hash.update(`${row.id}:${row.version};`);
  return `W/"${Buffer.from(hash.digest()).subarray(0, 18).toString('base64url')}"`;
}

/** RFC 9110 §13.1.2: weak comparison against each listed tag, or `*`. */
export function ifNoneMatchHits(header: string | null, tag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => opaque(t) === opaque(tag));
}

export type CacheOutcome = 'hit' | 'revalidated' | 'miss' | 'stale';

/**
 * RFC 9211 Cache-Status for this cache ("ald-edge"):
 *   hit                              served from memory, no database call
 *   fwd=stale; fwd-status=304        the machine epoch was re-read, unchanged: served from memory
 *   fwd=miss; stored                 not cached (or expired): fetched, and stored
 *   fwd=stale; fwd-status=200        the machine changed since: fetched again
 * plus ttl=<seconds left> when served from memory, and detail=refresh when a background
 * refresh of the entry was started.
 */
export function cacheStatus(
  outcome: CacheOutcome,
  opts: { ttl?: number; stored?: boolean; refreshing?: boolean },
): string {
  const parts = ['ald-edge'];
  if (outcome === 'hit') parts.push('hit');
  else if (outcome === 'revalidated') parts.push('fwd=stale', 'fwd-status=304');
  else if (outcome === 'miss') parts.push('fwd=miss');
  else parts.push('fwd=stale', 'fwd-status=200');
  if (opts.ttl !== undefined) parts.push(`ttl=${opts.ttl}`);
  if (opts.stored) parts.push('stored');
  if (opts.refreshing) parts.push('detail=refresh');
  return parts.join('; ');
}
