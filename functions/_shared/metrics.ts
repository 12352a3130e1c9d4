// Prometheus metrics of this isolate. One Registry (not prom-client's global one, so nothing else
// registers into it) shared by every function that runs in the isolate; the metrics function
// renders it. On hosted Supabase each function runs in its own isolates: see functions/README.md.
import { Counter, Gauge, Histogram, Registry } from 'npm:prom-client@15.1.3';

export const registry = new Registry();

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const requests = new Counter({
  name: 'ald_edge_requests_total',
  help: 'Requests answered, by function, method and HTTP status.',
  labelNames: ['function', 'method', 'status'] as const,
  registers: [registry],
});

const requestSeconds = new Histogram({
  name: 'ald_edge_request_duration_seconds',
  help: 'Time from request to response, by function.',
  labelNames: ['function'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

const cacheHits = new Counter({
  name: 'ald_edge_cache_hits_total',
  help: 'Parameter reads served from the isolate cache; validation="epoch" when the machine epoch was checked first.',
  labelNames: ['validation'] as const,
  registers: [registry],
});

const cacheMisses = new Counter({
  name: 'ald_edge_cache_misses_total',
  help: 'Parameter reads that fetched rows: reason="absent" (not cached or expired) or "epoch" (machine changed).',
  labelNames: ['reason'] as const,
  registers: [registry],
});

let hits = 0;
let misses = 0;
new Gauge({
  name: 'ald_edge_cache_hit_ratio',
  help: 'cache hits / (hits + misses) since the isolate started; 0 before the first read.',
  registers: [registry],
  collect() {
    this.set(hits + misses === 0 ? 0 : hits / (hits + misses));
  },
});

const roundTrips = new Counter({
  name: 'ald_edge_db_round_trips_total',
  help: 'Database round trips, by operation and outcome (ok or the SQLSTATE).',
  labelNames: ['operation', 'outcome'] as const,
  registers: [registry],
});

const roundTripSeconds = new Histogram({
  name: 'ald_edge_db_round_trip_seconds',
  help: 'Duration of one database round trip, by operation.',
  labelNames: ['operation'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

const refreshes = new Counter({
  name: 'ald_edge_cache_background_refreshes_total',
  help: 'Background refreshes of cache entries older than the refresh age, by outcome.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/** Methods that get their own series; any other name (clients may send anything) counts as OTHER. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The method label of a request: one of KNOWN_METHODS or OTHER. Unauthenticated requests with
 * made-up method names each created a series before (issue 14: unbounded memory).
 */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}

export function observeRequest(fn: string, method: string, status: number, seconds: number): void {
  requests.inc({ function: fn, method: methodLabel(method), status: String(status) });
  requestSeconds.observe({ function: fn }, seconds);
}

export type CacheOutcome = 'hit' | 'revalidated' | 'miss' | 'stale';

export function observeCache(outcome: CacheOutcome): void {
  if (outcome === 'hit' || outcome === 'revalidated') {
    hits += 1;
    cacheHits.inc({ validation: outcome === 'hit' ? 'none' : 'epoch' });
  } else {
    misses += 1;
    cacheMisses.inc({ reason: outcome === 'miss' ? 'absent' : 'epoch' });
  }
}

export function observeRoundTrip(operation: string, outcome: string, seconds: number): void {
  roundTrips.inc({ operation, outcome });
  roundTripSeconds.observe({ operation }, seconds);
}

export function observeRefresh(outcome: 'ok' | 'dropped' | 'failed'): void {
  refreshes.inc({ outcome });
}
