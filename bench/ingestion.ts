// Ingestion throughput, four ways, in rows (readings) per second:
//   perRow       one INSERT per row, one after another (the naive recorder)
//   batch50      one INSERT of 50 rows per statement (the old controller's recorder, docs/design.md §1)
//   arrayInsert  record_process_data with many buffered ticks per call (the SDK's backlog path),
//                into public.readings (one row per machine tick)
//   copy         COPY ... FROM STDIN through postgres.js (sql`copy ...`.writable())
// perRow, batch50 and copy write the previous one-row-per-reading layout (bench/legacy-layout.ts),
// as the old controller did. Every method writes distinct keys for the same running execution of
// the large machine.
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from 'postgres';
import { simulatedReading } from './fixtures.ts';
import { LEGACY_TABLE } from './legacy-layout.ts';

export type IngestionMethod = 'perRow' | 'batch50' | 'arrayInsert' | 'copy';
export const INGESTION_METHODS: IngestionMethod[] = ['perRow', 'batch50', 'arrayInsert', 'copy'];

export interface IngestionResult {
  /** Injected round-trip time while measuring. */
  rttMs: number;
  /** 'direct': a connection to the server itself; 'proxy': through a TcpProxy injecting rttMs. */
  via: 'direct' | 'proxy';
  perRow: number;
  batch50: number;
  arrayInsert: number;
  copy: number;
  /** Rows each method inserted (the measured amount). */
  rows: Record<IngestionMethod, number>;
  /** Rows per record_process_data call. */
  arrayChunkRows: number;
  /** Timed runs per method; the rate reported is their median. */
  repeats: number;
}

export interface IngestionPlan {
  rttMs: number;
  rows: Record<IngestionMethod, number>;
  arrayChunkRows: number;
  repeats: number;
}

interface Point {
  parameterId: string;
  ts: Date;
  value: number;
}

/**
 * Rows are generated tick by tick over the machine's parameters; tick t of repeat k of method m
 * is stamped base + m hours + 5k minutes + t ms (warm-up: + 50 minutes), so no two runs share a
 * key. A run has at most a few hundred ticks, far less than 5 minutes of milliseconds, and at
 * most 9 repeats fit before the warm-up's keys.
 */
function* points(parameterIds: string[], base: number, count: number): Generator<Point> {
  let n = 0;
  for (let t = 0; n < count; t++) {
    const ts = new Date(base + t);
    for (let i = 0; i < parameterIds.length && n < count; i++, n++) {
      yield { parameterId: parameterIds[i], ts, value: simulatedReading(i, t) };
    }
  }
}

function take<T>(it: Iterator<T>, n: number): T[] {
  const out: T[] = [];
  while (out.length < n) {
    const r = it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

type Body = (rows: Iterator<Point>, count: number) => Promise<void>;

/** The four ways to write rows, each a function of (rows, how many). */
function methods(sql: Sql, processId: string, arrayChunkRows: number): Record<IngestionMethod, Body> {
  return {
    perRow: async (rows) => {
      for (let r = rows.next(); !r.done; r = rows.next()) {
        const p = r.value;
        await sql`insert into ${sql.unsafe(LEGACY_TABLE)} (process_id, parameter_id, ts, value)
                  values (${processId}, ${p.parameterId}, ${p.ts}, ${p.value})`;
      }
    },
    batch50: async (rows, count) => {
      for (let done = 0; done < count; ) {
        const batch = take(rows, 50).map((p) => ({ process_id: processId, parameter_id: p.parameterId, ts: p.ts, value: p.value }));
        if (batch.length === 0) break;
        await sql`insert into ${sql.unsafe(LEGACY_TABLE)} ${sql(batch, 'process_id', 'parameter_id', 'ts', 'value')}`;
        done += batch.length;
      }
    },
    arrayInsert: async (rows, count) => {
      for (let done = 0; done < count; ) {
        const chunk = take(rows, arrayChunkRows);
        if (chunk.length === 0) break;
        await sql`select public.record_process_data(
          ${processId}::uuid,
          ${chunk.map((p) => p.parameterId)}::uuid[],
          ${chunk.map((p) => p.value)}::float8[],
          ${chunk.map((p) => p.ts.toISOString())}::timestamptz[])`;
        done += chunk.length;
      }
    },
    copy: async (rows) => {
      const writable = await sql`copy ${sql.unsafe(LEGACY_TABLE)} (process_id, parameter_id, ts, value) from stdin`.writable();
      async function* lines() {
        let buffer = '';
        for (let r = rows.next(); !r.done; r = rows.next()) {
          const p = r.value;
          buffer += `${processId}\t${p.parameterId}\t${p.ts.toISOString()}\t${p.value}\n`;
          if (buffer.length > 64 * 1024) {
            yield buffer;
            buffer = '';
          }
        }
        if (buffer) yield buffer;
      }
      await pipeline(Readable.from(lines()), writable);
    },
  };
}

/**
 * Rates in rows/s, each the median of plan.repeats timed runs. The repeats are interleaved
 * (perRow, batch50, arrayInsert, copy, perRow, …) so that a burst of other work on the machine
 * falls on every method alike rather than on one.
 */
export async function measureIngestion(
  sql: Sql,
  processId: string,
  parameterIds: string[],
  plan: IngestionPlan,
  baseTs: number,
  via: IngestionResult['via'],
): Promise<IngestionResult> {
  const hour = 3_600_000;
  const bodies = methods(sql, processId, plan.arrayChunkRows);
  const samples = Object.fromEntries(INGESTION_METHODS.map((m) => [m, [] as number[]])) as Record<IngestionMethod, number[]>;
  // warm-up on keys of their own (prepared statements, plan caches), not timed
  for (const [index, method] of INGESTION_METHODS.entries()) {
    await bodies[method](points(parameterIds, baseTs + index * hour + 50 * 60_000, 100), Math.min(100, plan.rows[method]));
  }
  for (let rep = 0; rep < plan.repeats; rep++) {
    for (const [index, method] of INGESTION_METHODS.entries()) {
      const count = plan.rows[method];
      const t0 = performance.now();
      await bodies[method](points(parameterIds, baseTs + index * hour + rep * 5 * 60_000, count), count);
      samples[method].push(count / ((performance.now() - t0) / 1000));
    }
  }
  const rates = Object.fromEntries(INGESTION_METHODS.map((m) => [m, Math.round(median(samples[m]))])) as Record<IngestionMethod, number>;
  return { rttMs: plan.rttMs, via, ...rates, rows: { ...plan.rows }, arrayChunkRows: plan.arrayChunkRows, repeats: plan.repeats };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** How many rows each method inserts: enough for a stable rate, little enough that per-row inserts at 32 ms RTT finish in seconds. */
export function ingestionPlan(rttMs: number, quick: boolean): IngestionPlan {
  const scale = quick ? 0.1 : 1;
  const rows = rttMs > 0
    ? { perRow: 60, batch50: 2_000, arrayInsert: 100_000, copy: 100_000 }
    : { perRow: 1_000, batch50: 20_000, arrayInsert: 100_000, copy: 100_000 };
  const scaled = Object.fromEntries(
    Object.entries(rows).map(([k, v]) => [k, Math.max(k === 'perRow' ? 20 : 500, Math.round(v * scale))]),
  ) as Record<IngestionMethod, number>;
  return { rttMs, rows: scaled, arrayChunkRows: 10_000, repeats: quick ? 1 : rttMs > 0 ? 3 : 5 };
}
