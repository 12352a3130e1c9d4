// db.recorder(machineId): telemetry always on (issue 12). Ticks are stored whether or not a process
// runs, across a run's start and end with no gap and no duplicate tick, each linked by the server
// to the run that holds its time; one record_readings round trip per tick while the database keeps
// up, and a backlog of ticks with the same parameters in one call. db.readings.latest and
// db.readings.range answer in one round trip each, over both transports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import type { AldDb } from '../../src/index.ts';
import type { PostgrestEndpoint } from '../../support/postgrest-endpoint.ts';
import { TRANSPORTS, adminSql, clientFor, cloneReactor, dropReactor, startEndpoint, type Reactor } from './support.ts';

let sql: postgres.Sql;
let endpoint: PostgrestEndpoint;

beforeAll(async () => {
  sql = adminSql();
  endpoint = await startEndpoint();
});

afterAll(async () => {
  await endpoint?.close();
  await sql.end();
});

const calls = (db: AldDb, rpc: string) => db.stats().roundTrips[rpc] ?? 0;

describe.each(TRANSPORTS)('the machine recorder (%s transport)', (transport) => {
  let db: AldDb;
  let reactor: Reactor;
  /** The first tick, a minute ago (a multiple of 10 s: get_readings' buckets are aligned to the epoch). */
  const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;

  beforeAll(async () => {
    reactor = await cloneReactor(sql, `machine recorder ${transport}`);
    db = clientFor(transport, endpoint);
    await db.ready();
  });

  afterAll(async () => {
    await db.close();
    await dropReactor(sql, reactor);
  });

  it('records before, during and after a run: every tick once, no gap, each linked to the run holding its time', async () => {
    const recorder = db.recorder(reactor.machineId);
    const readings = (i: number) => Object.fromEntries(reactor.parameterIds.map((id, k) => [id, k + i]));
    const before = calls(db, 'record_readings');
    // 20 ticks idle, one at a time: one round trip each
    for (let i = 0; i < 20; i++) {
      recorder.record(readings(i), new Date(t0 + i * 1000));
      await recorder.flush();
    }
    expect(calls(db, 'record_readings') - before).toBe(20);
    // a run of 20 seconds (its times set directly: the ticks are replayed from a journal)
    const [run] = await sql`insert into public.process_executions (machine_id, recipe_snapshot, status, started_at, ended_at)
      values (${reactor.machineId}, '{}', 'completed', ${new Date(t0 + 20_000)}, ${new Date(t0 + 39_000)}) returning id`;
    // 40 more ticks buffered while "offline", then sent: the same parameters, so one call
    const mid = calls(db, 'record_readings');
    for (let i = 20; i < 60; i++) recorder.record(readings(i), new Date(t0 + i * 1000));
    await recorder.flush();
    expect(calls(db, 'record_readings') - mid).toBeLessThanOrEqual(2);
    // and a retry of ticks already stored changes nothing
    for (let i = 10; i < 30; i++) recorder.record(readings(i), new Date(t0 + i * 1000));
    await recorder.close();
    expect(recorder.dropped).toBe(0);

    const rows = await sql`select ts, process_id from public.readings where machine_id = ${reactor.machineId} order by ts`;
    expect(rows.length).toBe(60);
    expect(new Set(rows.map((r) => +r.ts)).size).toBe(60);
    expect(rows.map((r) => +r.ts - t0)).toEqual(Array.from({ length: 60 }, (_, i) => i * 1000));
    expect(rows.map((r) => r.process_id === run.id)).toEqual(Array.from({ length: 60 }, (_, i) => i >= 20 && i <= 39));
    const [{ n }] = await sql`select count(*)::int as n from public.process_data_points
      where machine_id = ${reactor.machineId} and parameter_id = ${reactor.parameterIds[5]}`;
    expect(n).toBe(60);
  });

  it('reads the latest tick and a chart range in one round trip each', async () => {
    const before = db.stats().roundTrips;
    const latest = await db.readings.latest(reactor.machineId);
    expect(latest).toHaveLength(reactor.parameterIds.length);
    expect(Date.parse(latest[0].ts)).toBe(t0 + 59_000);
    const points = await db.readings.range({
      machineId: reactor.machineId, parameterIds: reactor.parameterIds.slice(0, 2),
      from: new Date(t0), to: new Date(t0 + 60_000), maxPoints: 6,
    });
    const after = db.stats().roundTrips;
    expect((after.get_latest_readings ?? 0) - (before.get_latest_readings ?? 0)).toBe(1);
    expect((after.get_readings ?? 0) - (before.get_readings ?? 0)).toBe(1);
    // 60 ticks into 6 buckets of 10 s (aligned to the epoch, as t0 is), per parameter: values k + i over i = 10b .. 10b + 9
    expect(points).toHaveLength(12);
    const first = points.filter((p) => p.parameter_id === reactor.parameterIds[1]);
    const k = 1;
    expect(first.map((p) => [p.min_value, p.max_value, p.mean_value, p.samples])).toEqual(
      Array.from({ length: 6 }, (_, b) => [k + 10 * b, k + 10 * b + 9, k + 10 * b + 4.5, 10]));
    await expect(db.readings.range({ machineId: reactor.machineId, parameterIds: [], from: new Date(t0), to: new Date(t0 - 1) }))
      .rejects.toMatchObject({ code: 'ALD_INVALID_ARGUMENT' });
  });
});
