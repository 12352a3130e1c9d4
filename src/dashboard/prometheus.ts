// Reading a prom-client Registry as plain numbers, and latency quantiles from histogram buckets.
//
// The dashboard reads any Registry through `registry.getMetricsAsJSON()`, so it works with the
// SDK's own (db.metrics) or any registry fed with the same metric names (src/metrics.ts).
//
// Quantiles (histogramQuantile) follow PromQL's histogram_quantile():
//   1. rank = q × (observations in all buckets);
//   2. take the first bucket whose cumulative count reaches rank;
//   3. assume its observations are spread evenly between its lower bound (the previous bucket's
//      upper bound, 0 for the first bucket) and its upper bound, and interpolate linearly:
//        lower + (upper − lower) × (rank − count below the bucket) / (count in the bucket);
//   4. if that bucket is +Inf, answer the largest finite bound (nothing better is known).
// So a quantile is exact only to its bucket: with the SDK's buckets (1, 5, 10, 50, 100, 500 ms, …)
// a p95 of "30 ms" means "between 10 and 50 ms, about 30 if spread evenly".
import type { Registry } from 'prom-client';

type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];
type Labels = Record<string, string | number | undefined>;

/** Cumulative bucket counts of one histogram series: counts[i] observations ≤ bounds[i]; the last count is +Inf. */
export interface Buckets {
  /** Finite upper bounds, ascending, in the histogram's unit. */
  bounds: number[];
  /** Cumulative counts, one per bound plus one for +Inf (= the number of observations). */
  counts: number[];
  sum: number;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of a histogram, interpolated as PromQL's histogram_quantile() does
 * (see the header). null when the histogram holds no observation.
 */
export function histogramQuantile(q: number, b: Buckets): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`a quantile must be a number from 0 to 1, but got: ${q}`);
  const total = b.counts[b.counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let i = b.counts.findIndex((c) => c >= rank);
  if (i < 0) i = b.counts.length - 1;
  // Rank 0 (q = 0) falls in the first bucket that holds anything, not in an empty one before it.
  while (rank === 0 && i < b.counts.length - 1 && b.counts[i] === 0) i++;
  if (i >= b.bounds.length) return b.bounds[b.bounds.length - 1] ?? null; // the +Inf bucket
  const lower = i === 0 ? 0 : b.bounds[i - 1];
  const below = i === 0 ? 0 : b.counts[i - 1];
  const inBucket = b.counts[i] - below;
  if (inBucket <= 0) return b.bounds[i];
  return lower + (b.bounds[i] - lower) * ((rank - below) / inBucket);
}

/** The observations made between two readings of the same histogram (later − earlier). */
export function bucketsSince(later: Buckets, earlier: Buckets | undefined): Buckets {
  if (!earlier || earlier.bounds.length !== later.bounds.length) return later;
  const counts = later.counts.map((c, i) => c - (earlier.counts[i] ?? 0));
  // A registry that was reset (or replaced) counts from zero again: then `later` is the delta.
  if (counts.some((c) => c < 0)) return later;
  return { bounds: later.bounds, counts, sum: later.sum - earlier.sum };
}

/** Adds histograms with the same bounds (e.g. the outcomes ok and error of one operation). */
export function addBuckets(a: Buckets | undefined, b: Buckets): Buckets {
  if (!a) return { bounds: b.bounds, counts: [...b.counts], sum: b.sum };
  return { bounds: a.bounds, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), sum: a.sum + b.sum };
}

const matches = (labels: Labels, filter: Labels) => Object.entries(filter).every(([k, v]) => String(labels[k]) === String(v));

/** One collection of a registry, queried by metric name. Absent metrics answer null. */
export class MetricsReading {
  private readonly byName: Map<string, MetricJson>;

  constructor(metrics: MetricJson[]) {
    this.byName = new Map(metrics.map((m) => [m.name, m]));
  }

  static async of(registry: Pick<Registry, 'getMetricsAsJSON'>): Promise<MetricsReading> {
    return new MetricsReading(await registry.getMetricsAsJSON());
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The sum of a counter's or gauge's series whose labels match `filter`; null if the metric is absent. */
  total(name: string, filter: Labels = {}): number | null {
    const m = this.byName.get(name);
    if (!m) return null;
    return m.values.filter((v) => matches(v.labels as Labels, filter)).reduce((n, v) => n + Number(v.value), 0);
  }

  /** A counter's or gauge's values summed per value of one label. */
  byLabel(name: string, label: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const v of this.byName.get(name)?.values ?? []) {
      const key = (v.labels as Labels)[label];
      if (key === undefined) continue;
      out[String(key)] = (out[String(key)] ?? 0) + Number(v.value);
    }
    return out;
  }

  /** A histogram's buckets summed per value of one label (other labels, e.g. outcome, are added up). */
  histogram(name: string, label: string): Record<string, Buckets> {
    const m = this.byName.get(name);
    if (!m || String(m.type) !== 'histogram') return {};
    // Group the series by their full label set (minus le) first, then add them up per `label`.
    const series = new Map<string, { key: string; buckets: Map<number, number>; sum: number }>();
    for (const v of m.values) {
      const labels = { ...(v.labels as Labels) };
      const le = labels.le;
      delete labels.le;
      const key = labels[label];
      if (key === undefined) continue;
      const id = JSON.stringify(Object.entries(labels).sort());
      let s = series.get(id);
      if (!s) series.set(id, (s = { key: String(key), buckets: new Map(), sum: 0 }));
      const metricName = (v as { metricName?: string }).metricName ?? '';
      if (metricName.endsWith('_bucket')) s.buckets.set(le === '+Inf' ? Infinity : Number(le), Number(v.value));
      else if (metricName.endsWith('_sum')) s.sum = Number(v.value);
    }
    const out: Record<string, Buckets> = {};
    for (const s of series.values()) {
      const les = [...s.buckets.keys()].sort((a, b) => a - b);
      const buckets: Buckets = {
        bounds: les.filter((le) => Number.isFinite(le)),
        counts: les.map((le) => s.buckets.get(le)!),
        sum: s.sum,
      };
      out[s.key] = addBuckets(out[s.key], buckets);
    }
    return out;
  }
}
