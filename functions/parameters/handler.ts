// GET /parameters?machine_id= | ?component_ids=a,b | ?ids=a,b
// Answers from the isolate cache when it can prove the answer current (see _shared/cache.ts);
// otherwise one round trip reads the machines' epochs and the rows together, as the caller.
import type { Caller } from '../_shared/auth.ts';
import { runInBackground } from '../_shared/background.ts';
import type { CacheEntry } from '../_shared/cache.ts';
import { type CallStats, DbError } from '../_shared/db.ts';
import { endpoint, type FetchHandler, type RequestContext } from '../_shared/endpoint.ts';
import { jsonResponse } from '../_shared/http.ts';
import { type Deps, deps as isolateDeps } from '../_shared/isolate.ts';
import { logLine } from '../_shared/log.ts';
import { observeCache, observeRefresh } from '../_shared/metrics.ts';
import { type ParameterRow, toParameterRow } from '../_shared/parameter-row.ts';
import {
  cacheStatus,
  EPOCHS_STATEMENT,
  etag,
  fetchStatements,
  ifNoneMatchHits,
  OPERATION,
  type ParameterQuery,
  parseQuery,
  queryArgs,
  queryKey,
} from './query.ts';

const epochMap = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [String(r.machine_id), Number(r.epoch)]));

export function createParametersHandler(overrides: Partial<Deps> = {}): FetchHandler {
  let resolved: Deps | undefined;
  const d = () => (resolved ??= isolateDeps(overrides));

  /** One round trip: epochs, then rows; stored in the cache when the answer can be validated later. */
  async function fetchAndFill(stats: CallStats, caller: Caller, query: ParameterQuery, key: string) {
    const [epochs, rows] = await d().db().call(
      stats,
      caller,
      OPERATION[query.kind],
      fetchStatements(query.kind),
      queryArgs(query),
    );
    return d().cache.fill(caller.principal, key, rows.map(toParameterRow), epochMap(epochs));
  }

  /** Re-reads an old entry after the response, as the same caller; drops it if access is gone. */
  function refreshLater(caller: Caller, query: ParameterQuery, key: string): boolean {
    const task = d().cache.startRefresh(caller.principal, key, async () => {
      const started = performance.now();
      const stats = { dbCalls: 0 };
      let outcome: 'ok' | 'dropped' | 'failed' = 'ok';
      try {
        await fetchAndFill(stats, caller, query, key);
      } catch (error) {
        // Access gone: forget the answer. A passing failure keeps it: the epoch checks still
        // bound its staleness, and the next refresh retries.
        const lost = error instanceof DbError && (error.sqlstate === 'P0002' || error.sqlstate === '42501');
        outcome = lost ? 'dropped' : 'failed';
        if (lost) d().cache.drop(caller.principal, key);
      }
      observeRefresh(outcome);
      logLine({
        function: 'parameters',
        event: 'background_refresh',
        outcome,
        duration_ms: Math.round(performance.now() - started),
        db_calls: stats.dbCalls,
      });
    });
    if (task) runInBackground(task);
    return task !== undefined;
  }

  return endpoint({ name: 'parameters', methods: ['GET'] }, async (req: Request, ctx: RequestContext) => {
    const caller = await d().authenticate(req);
    ctx.caller = caller;
    const query = parseQuery(new URL(req.url).searchParams);
    const key = queryKey(query);
    const cache = d().cache;

    let rows: ParameterRow[] | undefined;
    let outcome: 'hit' | 'revalidated' | 'miss' | 'stale' = 'miss';
    let entry: CacheEntry | undefined = cache.lookup(caller.principal, key);
    let refreshing = false;
    if (entry) {
      const due = cache.dueMachines(entry);
      if (due.length > 0) {
        await cache.checkEpochs(caller.principal, due, async (ids) => {
          const [epochs] = await d().db().call(ctx, caller, 'get_parameter_epochs', [EPOCHS_STATEMENT], {
            ids: `{${ids.join(',')}}`,
          });
          return epochMap(epochs);
        });
      }
      if (cache.isCurrent(entry)) {
        rows = cache.rowsOf(entry);
        outcome = due.length > 0 ? 'revalidated' : 'hit';
        if (cache.wantsRefresh(entry)) refreshing = refreshLater(caller, query, key);
      } else {
        cache.drop(caller.principal, key);
        entry = undefined;
        outcome = 'stale';
      }
    }
    ctx.cache = outcome;
    observeCache(outcome);
    let stored = false;
    if (!rows) ({ rows, stored } = await fetchAndFill(ctx, caller, query, key));

    const tag = etag(rows);
    const headers = {
      'Cache-Status': cacheStatus(outcome, { ttl: entry ? cache.ttlSeconds(entry) : undefined, stored, refreshing }),
      'ETag': tag,
      // Per-caller content (RLS): shared caches must not keep it; browsers revalidate with the ETag.
      'Cache-Control': 'private, no-cache',
    };
    if (ifNoneMatchHits(req.headers.get('if-none-match'), tag)) return new Response(null, { status: 304, headers });
    return jsonResponse({ parameters: rows }, 200, headers);
  });
}
