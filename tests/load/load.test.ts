// `npm test` load check: 50 simulated controllers, each on its own machine, recording 137
// readings at 10 Hz and stepping through their recipes for 10 s (tests/load/controllers.ts).
// Asserts what must hold at any speed: no error, every recorded row stored exactly once, pool
// waits within the bound the SDK's design gives, no machine left running. Speed is reported,
// not asserted (the numbers of a longer run are in BENCHMARKS.md: npm run test:soak).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { adminSql, databaseUrl } from '../sdk/support.ts';
import { runLoad, type LoadResult } from './controllers.ts';
import { dropFleet, type FleetMachine } from './fleet.ts';

const CONTROLLERS = 50;

let sql: postgres.Sql;
let fleet: FleetMachine[] = [];

beforeAll(() => {
  sql = adminSql();
});

afterAll(async () => {
  await dropFleet(sql, fleet);
  await sql.end();
});

describe(`${CONTROLLERS} controllers recording at 10 Hz and stepping through recipes for 10 s`, () => {
  let result: LoadResult;

  beforeAll(async () => {
    const run = await runLoad(databaseUrl(), sql, { controllers: CONTROLLERS, durationMs: 10_000 });
    ({ fleet } = run);
    result = run;
    const { latency, throughput, ticks, steps, pool, node } = run;
    console.log(`load: ${ticks} ticks, ${steps} steps, ${throughput} rows/s; record p50 ${latency.record.p50} ms p99 ${latency.record.p99} ms; ` +
      `advance p50 ${latency.advance.p50} ms p99 ${latency.advance.p99} ms; pool waiting max ${pool.maxWaiting}; node cpu ${node.cpu}`);
  }, 180_000);

  it('surfaces no error, fails no attempt and drops no row', () => {
    expect(result.errors).toEqual({ surfaced: {}, attempts: {}, dropped: 0 });
  });

  it('stores every recorded row exactly once', () => {
    const { recorded } = result.rows;
    expect(recorded).toBe(result.ticks * 137);
    expect(result.rows).toEqual({ recorded, acknowledged: recorded, stored: recorded, lost: 0, duplicated: 0, unexpected: 0 });
  });

  it('keeps every controller recording and stepping', () => {
    expect(result.ticksPerController.min).toBeGreaterThan(0);
    expect(result.runs.started).toBeGreaterThanOrEqual(CONTROLLERS);
    expect(result.runs.completed + result.runs.aborted).toBe(result.runs.started);
    expect(result.steps).toBeGreaterThanOrEqual(CONTROLLERS);
  });

  it('queues at most 3 calls per controller plus 2 background calls beyond the pool, whatever the load', () => {
    // 5 controllers per client, pool of 2: 3 × 5 + 2 - 2 (tests/load/controllers.ts explains why).
    expect(result.pool.waitBound).toBe(15);
    expect(result.pool.maxWaiting).toBeLessThanOrEqual(result.pool.waitBound);
  });

  it('leaves no machine of the fleet running', async () => {
    const [row] = await sql<{ running: number; open: number }[]>`
      select (select count(*) from public.machines where id = any(${sql.array(fleet.map((m) => m.machineId))}::uuid[]) and status <> 'idle')::int as running,
             (select count(*) from public.process_executions where machine_id = any(${sql.array(fleet.map((m) => m.machineId))}::uuid[]) and status = 'running')::int as open`;
    expect(row).toEqual({ running: 0, open: 0 });
  });
});
