// db.metrics (a prom-client Registry of the client's own) and db.stats() tell the same story.
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { DURATION_BUCKETS, createAldDb, type AldDb } from '../../src/index.ts';
import { adminSql, cloneReactor, databaseUrl, dropReactor, nextEvent, type Reactor } from './support.ts';

const NAMES = [
  'ald_db_client_operation_duration_seconds', 'ald_db_client_round_trips_total', 'ald_db_client_errors_total',
  'ald_db_client_retries_total', 'ald_db_cache_hits_total', 'ald_db_cache_misses_total',
  'ald_db_cache_revalidating_reads_total', 'ald_db_cache_hit_ratio', 'ald_db_cache_entries',
  'ald_db_cache_invalidations_total', 'ald_db_cache_resyncs_total', 'ald_db_cache_coherent',
  'ald_db_pool_connections_max', 'ald_db_pool_connections_in_use', 'ald_db_pool_requests_waiting',
  'ald_db_recorder_backlog_rows', 'ald_db_recorder_backlog_ticks', 'ald_db_recorder_rows_sent_total',
  'ald_db_recorder_rows_dropped_total', 'ald_db_recorder_retries_total', 'ald_db_recorder_non_finite_values_total',
];

let sql: postgres.Sql;
let reactor: Reactor;
let db: AldDb;

beforeAll(async () => {
  sql = adminSql();
  reactor = await cloneReactor(sql, 'metrics');
  db = createAldDb({ databaseUrl: databaseUrl() });
  await db.ready();
});

afterAll(async () => {
  await db?.close();
  await dropReactor(sql, reactor);
  await sql.end();
});

type Json = { name: string; values: { value: number; labels: Record<string, string | number>; metricName?: string }[] };
const metric = async (name: string) => ((await db.metrics.getMetricsAsJSON()) as unknown as Json[]).find((m) => m.name === name)!;
const value = async (name: string, labels: Record<string, string> = {}) =>
  (await metric(name)).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;

describe('db.metrics', () => {
  it('is the client\'s own registry, not prom-client\'s global one, with every documented metric', async () => {
    expect(db.metrics).not.toBe(register);
    expect(register.getMetricsAsArray().some((m) => m.name.startsWith('ald_db_'))).toBe(false);
    const names = ((await db.metrics.getMetricsAsJSON()) as unknown as Json[]).map((m) => m.name).sort();
    expect(names).toEqual([...NAMES].sort());
  });

  it('uses the OpenTelemetry db.client.operation.duration buckets', async () => {
    await db.parameters.forMachine(reactor.machineId);
    const text = await db.metrics.metrics();
    const buckets = [...text.matchAll(/ald_db_client_operation_duration_seconds_bucket\{le="([^"]+)",operation="get_machine_parameters"/g)].map((m) => m[1]);
    expect(buckets).toEqual([...DURATION_BUCKETS.map(String), '+Inf']);
    expect(DURATION_BUCKETS).toEqual([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);
  });

  it('counts what db.stats() counts', async () => {
    const id = reactor.param('lid_heater/kp');
    await db.parameters.get(id);
    await db.parameters.get(id);
    await db.parameters.set(id, 4.5);
    await db.parameters.set(id, 1e9).catch(() => {});
    const plan = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const recorder = db.processRecorder(plan.process_id);
    const sent = nextEvent(recorder, 'sent');
    recorder.record({ [id]: Number.NaN, [reactor.param('lid_heater/ki')]: 1 });
    await sent;
    await recorder.close();
    await db.process.complete({ processId: plan.process_id });

    const stats = db.stats();
    for (const [operation, n] of Object.entries(stats.roundTrips)) {
      expect(await value('ald_db_client_round_trips_total', { operation }), operation).toBe(n);
    }
    expect(await value('ald_db_client_errors_total', { operation: 'set_parameter_value', code: '22003' })).toBe(1);
    expect(await value('ald_db_cache_hits_total')).toBe(stats.cache.hits);
    expect(await value('ald_db_cache_misses_total')).toBe(stats.cache.misses);
    expect(await value('ald_db_cache_hit_ratio')).toBeCloseTo(stats.cache.hitRatio, 10);
    expect(await value('ald_db_cache_entries')).toBe(stats.cache.entries);
    expect(await value('ald_db_cache_coherent')).toBe(1);
    expect(await value('ald_db_pool_connections_max')).toBe(20);
    expect(await value('ald_db_recorder_rows_sent_total')).toBe(2);
    expect(await value('ald_db_recorder_non_finite_values_total')).toBe(1);
    expect(stats.recorder).toMatchObject({ sent: 2, nonFinite: 1, bufferedRows: 0, open: 0 });
    expect(stats.pool).toEqual({ max: 20, inUse: 0, waiting: 0 });
  });
});
