// The SDK's metrics (src/metrics.ts) as SdkStats: totals since start from one registry reading,
// rates and latency quantiles over a sliding window from the difference of two readings.
//
// The window's base is the newest reading at least windowMs old (or the first reading, while the
// dashboard is younger than the window), so a rate is (now − base) / elapsed seconds.
import type { Registry } from 'prom-client';
import { addBuckets, bucketsSince, histogramQuantile, MetricsReading, type Buckets } from './prometheus.ts';
import type { LatencyQuantiles, OperationStats, SdkStats } from './types.ts';

/** The metric names the dashboard reads; src/metrics.ts defines them. */
export const METRIC = {
  duration: 'ald_db_client_operation_duration_seconds',
  roundTrips: 'ald_db_client_round_trips_total',
  errors: 'ald_db_client_errors_total',
  retries: 'ald_db_client_retries_total',
  cacheHits: 'ald_db_cache_hits_total',
  cacheMisses: 'ald_db_cache_misses_total',
  revalidating: 'ald_db_cache_revalidating_reads_total',
  hitRatio: 'ald_db_cache_hit_ratio',
  cacheEntries: 'ald_db_cache_entries',
  cacheCoherent: 'ald_db_cache_coherent',
  poolMax: 'ald_db_pool_connections_max',
  poolInUse: 'ald_db_pool_connections_in_use',
  poolWaiting: 'ald_db_pool_requests_waiting',
  backlogRows: 'ald_db_recorder_backlog_rows',
  backlogTicks: 'ald_db_recorder_backlog_ticks',
  rowsSent: 'ald_db_recorder_rows_sent_total',
  rowsDropped: 'ald_db_recorder_rows_dropped_total',
  recorderRetries: 'ald_db_recorder_retries_total',
} as const;

/** The recorder retries record_process_data itself, outside the client's retry counter. */
const RECORD_OPERATION = 'record_process_data';

/** The counters a window needs from one reading. */
interface Counters {
  atMs: number;
  latency: Record<string, Buckets>;
  roundTrips: Record<string, number>;
  hits: number;
  misses: number;
  revalidating: number;
  rowsSent: number;
}

const toMs = (seconds: number | null) => (seconds === null ? null : seconds * 1000);

function quantiles(b: Buckets | undefined): LatencyQuantiles & { count: number } {
  if (!b) return { p50Ms: null, p95Ms: null, count: 0 };
  return { p50Ms: toMs(histogramQuantile(0.5, b)), p95Ms: toMs(histogramQuantile(0.95, b)), count: b.counts[b.counts.length - 1] ?? 0 };
}

const sumValues = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

export class SdkWindow {
  private readings: Counters[] = [];

  constructor(private readonly windowMs: number) {}

  /** Reads the registry once and returns the stats at `nowMs`. */
  async read(registry: Pick<Registry, 'getMetricsAsJSON'>, nowMs: number): Promise<SdkStats> {
    const m = await MetricsReading.of(registry);
    const latency = m.histogram(METRIC.duration, 'operation');
    const roundTrips = m.byLabel(METRIC.roundTrips, 'operation');
    const retries = m.byLabel(METRIC.retries, 'operation');
    const recorderRetries = m.total(METRIC.recorderRetries) ?? 0;
    if (recorderRetries > 0) retries[RECORD_OPERATION] = (retries[RECORD_OPERATION] ?? 0) + recorderRetries;
    const errors = m.byLabel(METRIC.errors, 'operation');
    const now: Counters = {
      atMs: nowMs, latency, roundTrips,
      hits: m.total(METRIC.cacheHits) ?? 0,
      misses: m.total(METRIC.cacheMisses) ?? 0,
      revalidating: m.total(METRIC.revalidating) ?? 0,
      rowsSent: m.total(METRIC.rowsSent) ?? 0,
    };
    const base = this.advance(now);
    const seconds = base ? (nowMs - base.atMs) / 1000 : 0;
    const rate = (later: number, earlier: number | undefined) =>
      base && seconds > 0 ? Math.max(0, later - (earlier ?? 0)) / seconds : null;

    const stats = (rt: number, retried: number, failed: number, b: Buckets | undefined, baseB: Buckets | undefined, baseRt: number | undefined) => ({
      roundTrips: rt,
      retries: retried,
      errors: failed,
      roundTripsPerCall: rt - retried > 0 ? rt / (rt - retried) : null,
      roundTripsPerSecond: rate(rt, baseRt),
      // Before a base exists there is no window yet: its quantiles are null.
      window: quantiles(b && base ? bucketsSince(b, baseB) : undefined),
      total: quantiles(b),
    });

    const names = [...new Set([...Object.keys(roundTrips), ...Object.keys(latency)])].sort();
    const operations: OperationStats[] = names.map((name) => ({
      operation: name,
      ...stats(roundTrips[name] ?? 0, retries[name] ?? 0, errors[name] ?? 0, latency[name], base?.latency[name], base?.roundTrips[name]),
    }));
    const combine = (h: Record<string, Buckets> | undefined) =>
      Object.values(h ?? {}).reduce<Buckets | undefined>((acc, b) => addBuckets(acc, b), undefined);
    const all = stats(
      sumValues(roundTrips), sumValues(retries), sumValues(errors), combine(latency), combine(base?.latency),
      base ? sumValues(base.roundTrips) : undefined,
    );

    const reads = now.hits + now.misses;
    const windowHits = base ? now.hits - base.hits : 0;
    const windowReads = base ? reads - (base.hits + base.misses) : 0;
    const hitRatio = m.total(METRIC.hitRatio);
    const entries = m.total(METRIC.cacheEntries);
    const coherent = m.total(METRIC.cacheCoherent);
    return {
      operations,
      all,
      cache: {
        hits: now.hits,
        misses: now.misses,
        // The gauge when the registry has it (what /metrics shows), else the same ratio from the counters.
        hitRatioPercent: reads === 0 ? null : (hitRatio ?? now.hits / reads) * 100,
        windowHitRatioPercent: windowReads > 0 ? (windowHits / windowReads) * 100 : null,
        revalidatingReads: now.revalidating,
        revalidatingReadsPerSecond: rate(now.revalidating, base?.revalidating),
        entries,
        coherent: coherent === null ? null : coherent === 1,
      },
      recorder: {
        backlogRows: m.total(METRIC.backlogRows) ?? 0,
        backlogTicks: m.total(METRIC.backlogTicks) ?? 0,
        rowsSent: now.rowsSent,
        rowsDropped: m.total(METRIC.rowsDropped) ?? 0,
        pointsPerSecond: rate(now.rowsSent, base?.rowsSent),
      },
      pool: {
        max: m.total(METRIC.poolMax) ?? 0,
        inUse: m.total(METRIC.poolInUse) ?? 0,
        waiting: m.total(METRIC.poolWaiting) ?? 0,
      },
    };
  }

  /** Stores `now` and returns the window's base (undefined for the first reading). */
  private advance(now: Counters): Counters | undefined {
    const cutoff = now.atMs - this.windowMs;
    // Keep the newest reading at or before the cutoff (the base) and everything after it.
    let keepFrom = 0;
    for (let i = 0; i < this.readings.length; i++) if (this.readings[i].atMs <= cutoff) keepFrom = i;
    this.readings = this.readings.slice(keepFrom);
    const base = this.readings[0];
    this.readings.push(now);
    return base;
  }
}
