// GET /readings?machine_id=&parameter_ids=a,b&from=&to=[&max_points=500][&process_id=]
// One get_readings call as the caller: per parameter at most max_points points (raw points, or
// buckets with min, max, mean). A closed window (see query.ts) is immutable: strong ETag and a
// year of private Cache-Control; an open one is revalidated (no-cache) against the same ETag.
import { config } from '../_shared/config.ts';
import { endpoint, type FetchHandler, type RequestContext } from '../_shared/endpoint.ts';
import { type Deps, deps as isolateDeps } from '../_shared/isolate.ts';
import {
  IMMUTABLE_CACHE_CONTROL,
  ifNoneMatchHits,
  isClosed,
  OPEN_CACHE_CONTROL,
  parseQuery,
  queryArgs,
  READINGS_STATEMENT,
  strongEtag,
} from './query.ts';

export interface ReadingsOptions {
  /** A window that ended longer ago than this is immutable (default: the database's max_tick_age). */
  immutableAfterMs?: number;
  now?: () => number;
}

export function createReadingsHandler(overrides: Partial<Deps> = {}, options: ReadingsOptions = {}): FetchHandler {
  let resolved: Deps | undefined;
  const d = () => (resolved ??= isolateDeps(overrides));
  const now = options.now ?? Date.now;

  return endpoint({ name: 'readings', methods: ['GET'] }, async (req: Request, ctx: RequestContext) => {
    const caller = await d().authenticate(req);
    ctx.caller = caller;
    const query = parseQuery(new URL(req.url).searchParams);
    const [rows] = await d().db().call(ctx, caller, 'get_readings', [READINGS_STATEMENT], queryArgs(query));
    const points = rows.map((r) => ({
      parameter_id: String(r.parameter_id),
      ts: new Date(r.ts as string).toISOString(),
      min: Number(r.min_value),
      max: Number(r.max_value),
      mean: Number(r.mean_value),
      samples: Number(r.samples),
    }));
    const body = JSON.stringify({ ...query, points });
    const tag = strongEtag(body);
    const closed = isClosed(query, now(), options.immutableAfterMs ?? config().readingsImmutableAfterMs);
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'ETag': tag,
      'Cache-Control': closed ? IMMUTABLE_CACHE_CONTROL : OPEN_CACHE_CONTROL,
    };
    if (ifNoneMatchHits(req.headers.get('if-none-match'), tag)) return new Response(null, { status: 304, headers });
    return new Response(body, { status: 200, headers });
  });
}
