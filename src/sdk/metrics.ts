// What the SDK counts, twice: plain numbers for db.stats() (synchronous, cheap to assert in tests)
// and a prom-client Registry for scraping (db.metrics). The registry is the client's own, never
// prom-client's global one, so two clients in one process do not mix their numbers.
//
// Metric names (every one is listed in the README):
//   ald_db_client_operation_duration_seconds{operation,outcome}  histogram, OpenTelemetry
//       db.client.operation.duration buckets; one observation per RPC attempt
//   ald_db_client_round_trips_total{operation}     RPC attempts sent (one round trip each)
//   ald_db_client_errors_total{operation,code}     failed attempts by AldDbError code
//   ald_db_client_retries_total{operation}         attempts repeated after a transient error
//   ald_db_cache_hits_total                        parameter reads served from memory
//   ald_db_cache_misses_total                      parameter reads that went to the database
//   ald_db_cache_revalidating_reads_total          misses because memory could not be trusted
//                                                  (listener down, resync or epoch check pending)
//   ald_db_cache_hit_ratio                         hits / (hits + misses) since start
//   ald_db_cache_entries                           parameter rows held in memory
//   ald_db_cache_invalidations_total               change notifications that dropped a cached row
//   ald_db_cache_resyncs_total                     bulk resyncs (reconnect, epoch moved)
//   ald_db_cache_coherent                          1 while memory may be served, else 0
//   ald_db_pool_connections_max                    configured pool size (0: HTTP transport)
//   ald_db_pool_connections_in_use                 calls holding a connection / HTTP request
//   ald_db_pool_requests_waiting                   calls queued for a connection
//   ald_db_recorder_backlog_rows                   rows buffered by all open recorders
//   ald_db_recorder_backlog_ticks                  ticks buffered by all open recorders
//   ald_db_recorder_rows_sent_total                rows the database acknowledged
//   ald_db_recorder_rows_dropped_total{reason}     rows given up: rejected (permanent error),
//                                                  overflow (buffer full) or closed (unsent at close)
//   ald_db_recorder_retries_total                  recorder calls repeated after a transient error
//   ald_db_recorder_non_finite_values_total        NaN/±Infinity readings sent as null
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from './transport/types.ts';

/** OpenTelemetry's advice for db.client.operation.duration, in seconds. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

export interface CacheCounters {
  hits: number;
  misses: number;
  revalidatingReads: number;
  invalidations: number;
  resyncs: number;
}

export interface RecorderCounters {
  sent: number;
  retried: number;
  dropped: number;
  nonFinite: number;
}

/** Live values read when metrics are collected or stats are taken. */
export interface MetricSources {
  pool(): PoolStats;
  cacheEntries(): number;
  cacheCoherent(): boolean;
  backlog(): { rows: number; ticks: number };
}

export class Metrics {
  readonly registry = new Registry();
  readonly roundTrips: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  retries = 0;
  readonly cache: CacheCounters = { hits: 0, misses: 0, revalidatingReads: 0, invalidations: 0, resyncs: 0 };
  readonly recorder: RecorderCounters = { sent: 0, retried: 0, dropped: 0, nonFinite: 0 };

  private readonly duration: Histogram<'operation' | 'outcome'>;
  private readonly roundTripCounter: Counter<'operation'>;
  private readonly errorCounter: Counter<'operation' | 'code'>;
  private readonly retryCounter: Counter<'operation'>;
  private readonly hitCounter: Counter;
  private readonly missCounter: Counter;
  private readonly revalidatingCounter: Counter;
  private readonly invalidationCounter: Counter;
  private readonly resyncCounter: Counter;
  private readonly sentCounter: Counter;
  private readonly droppedCounter: Counter<'reason'>;
  private readonly recorderRetryCounter: Counter;
  private readonly nonFiniteCounter: Counter;

  /** Sources left out read as idle (nothing pooled, cached or buffered): a cache tested alone. */
  constructor(given: Partial<MetricSources> = {}) {
    const sources: MetricSources = {
      pool: () => ({ max: 0, inUse: 0, waiting: 0 }), cacheEntries: () => 0, cacheCoherent: () => false, backlog: () => ({ rows: 0, ticks: 0 }),
      ...given,
    };
    const registers = [this.registry];
    const cache = this.cache;
    this.duration = new Histogram({
      name: 'ald_db_client_operation_duration_seconds', help: 'Duration of one RPC attempt (OpenTelemetry db.client.operation.duration)',
      labelNames: ['operation', 'outcome'], buckets: DURATION_BUCKETS, registers,
    });
    this.roundTripCounter = new Counter({ name: 'ald_db_client_round_trips_total', help: 'RPC attempts sent, one round trip each', labelNames: ['operation'], registers });
    this.errorCounter = new Counter({ name: 'ald_db_client_errors_total', help: 'Failed RPC attempts by error code', labelNames: ['operation', 'code'], registers });
    this.retryCounter = new Counter({ name: 'ald_db_client_retries_total', help: 'RPC attempts repeated after a transient error', labelNames: ['operation'], registers });
    this.hitCounter = new Counter({ name: 'ald_db_cache_hits_total', help: 'Parameter reads served from memory', registers });
    this.missCounter = new Counter({ name: 'ald_db_cache_misses_total', help: 'Parameter reads that went to the database', registers });
    this.revalidatingCounter = new Counter({ name: 'ald_db_cache_revalidating_reads_total', help: 'Reads sent to the database because memory could not be trusted (listener down, resync or epoch check pending)', registers });
    this.invalidationCounter = new Counter({ name: 'ald_db_cache_invalidations_total', help: 'Change notifications that dropped a cached row', registers });
    this.resyncCounter = new Counter({ name: 'ald_db_cache_resyncs_total', help: 'Bulk resyncs of the cache', registers });
    new Gauge({
      name: 'ald_db_cache_hit_ratio', help: 'hits / (hits + misses) since the client started', registers,
      collect() { this.set(cache.hits + cache.misses === 0 ? 0 : cache.hits / (cache.hits + cache.misses)); },
    });
    new Gauge({ name: 'ald_db_cache_entries', help: 'Parameter rows held in memory', registers, collect() { this.set(sources.cacheEntries()); } });
    new Gauge({ name: 'ald_db_cache_coherent', help: '1 while cached rows may be served from memory', registers, collect() { this.set(sources.cacheCoherent() ? 1 : 0); } });
    new Gauge({ name: 'ald_db_pool_connections_max', help: 'Configured pool size (0 for the HTTP transport)', registers, collect() { this.set(sources.pool().max); } });
    new Gauge({ name: 'ald_db_pool_connections_in_use', help: 'Calls holding a connection or an HTTP request', registers, collect() { this.set(sources.pool().inUse); } });
    new Gauge({ name: 'ald_db_pool_requests_waiting', help: 'Calls waiting for a connection', registers, collect() { this.set(sources.pool().waiting); } });
    new Gauge({ name: 'ald_db_recorder_backlog_rows', help: 'Rows buffered by the open recorders', registers, collect() { this.set(sources.backlog().rows); } });
    new Gauge({ name: 'ald_db_recorder_backlog_ticks', help: 'Ticks buffered by the open recorders', registers, collect() { this.set(sources.backlog().ticks); } });
    this.sentCounter = new Counter({ name: 'ald_db_recorder_rows_sent_total', help: 'Recorded rows acknowledged by the database', registers });
    this.droppedCounter = new Counter({ name: 'ald_db_recorder_rows_dropped_total', help: 'Recorded rows given up', labelNames: ['reason'], registers });
    this.recorderRetryCounter = new Counter({ name: 'ald_db_recorder_retries_total', help: 'Recorder calls repeated after a transient error', registers });
    this.nonFiniteCounter = new Counter({ name: 'ald_db_recorder_non_finite_values_total', help: 'NaN or infinite readings sent as null', registers });
  }

  /** One RPC attempt finished (successfully or not). */
  attempt(operation: string, seconds: number, errorCode?: string): void {
    this.roundTrips[operation] = (this.roundTrips[operation] ?? 0) + 1;
    this.roundTripCounter.inc({ operation });
    this.duration.observe({ operation, outcome: errorCode === undefined ? 'ok' : 'error' }, seconds);
    if (errorCode !== undefined) {
      this.errors[errorCode] = (this.errors[errorCode] ?? 0) + 1;
      this.errorCounter.inc({ operation, code: errorCode });
    }
  }

  retry(operation: string): void {
    this.retries++;
    this.retryCounter.inc({ operation });
  }

  cacheHits(n: number): void {
    if (n <= 0) return;
    this.cache.hits += n;
    this.hitCounter.inc(n);
  }

  cacheMisses(n: number, revalidating: boolean): void {
    if (n <= 0) return;
    this.cache.misses += n;
    this.missCounter.inc(n);
    if (revalidating) {
      this.cache.revalidatingReads += n;
      this.revalidatingCounter.inc(n);
    }
  }

  cacheInvalidated(): void {
    this.cache.invalidations++;
    this.invalidationCounter.inc();
  }

  cacheResynced(): void {
    this.cache.resyncs++;
    this.resyncCounter.inc();
  }

  rowsSent(n: number): void {
    this.recorder.sent += n;
    this.sentCounter.inc(n);
  }

  rowsDropped(n: number, reason: 'rejected' | 'overflow' | 'closed'): void {
    this.recorder.dropped += n;
    this.droppedCounter.inc({ reason }, n);
  }

  recorderRetried(): void {
    this.recorder.retried++;
    this.recorderRetryCounter.inc();
  }

  nonFinite(n: number): void {
    this.recorder.nonFinite += n;
    this.nonFiniteCounter.inc(n);
  }
}
