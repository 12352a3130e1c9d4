// Latency and round-trip statistics of one measured operation.
//
// Percentiles use linear interpolation between closest ranks (the definition of numpy's default
// and of most spreadsheets), so p50 of [1, 2, 3, 4] is 2.5, not 2 or 3.

export interface Distribution {
  /** Number of samples. */
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** The p-th percentile (0..100) of samples sorted ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error(`percentile needs at least one sample, but got an empty array`);
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile must be between 0 and 100, but got: ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((s, x) => s + x, 0) / sorted.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

/** Rounds to a few significant decimals for reports (keeps sub-millisecond cache reads visible). */
export function round(x: number, decimals = 3): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** a / b, or null when b is 0 (JSON has no Infinity): "the new pattern costs nothing". */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}
