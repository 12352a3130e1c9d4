// The database unreachable for two seconds in the middle of a run: every connection of the
// client (pool and LISTEN session) goes through one TcpProxy, which resets them all and refuses
// new ones (TcpProxy.blackout). Meanwhile another client, which still reaches the database,
// changes a setpoint. Afterwards the same client carries on, and the database holds exactly one
// fault-free run; the other client's write is what the cache serves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, type AldDb } from '../../src/index.ts';
import type { TcpProxy } from '../../support/tcp-proxy.ts';
import {
  adminSql, cloneReactor, compareStored, dbNow, dropReactor, nextEvent, pause, rejection, runRecord, runRecipe, startProxy, viaPort,
  type Reactor,
} from './support.ts';

const OUTAGE_MS = 2000;

let sql: postgres.Sql;
let reactor: Reactor;
let proxy: TcpProxy;
let db: AldDb;

beforeAll(async () => {
  sql = adminSql();
  reactor = await cloneReactor(sql, 'faults outage');
  proxy = await startProxy();
  db = createAldDb({
    databaseUrl: viaPort(proxy.port), // the LISTEN session uses the same URL, so the same proxy
    timeoutMs: 2000, listener: { reconnectBaseMs: 50, reconnectMaxMs: 500 }, cache: { hotRefreshMs: 0 },
  });
  await db.ready();
  await db.parameters.forMachine(reactor.machineId);
});

afterAll(async () => {
  await db?.close();
  await proxy?.close();
  await dropReactor(sql, reactor);
  await sql.end();
});

/** Round trips and retries of one RPC so far, from the client's own metrics. */
async function attemptsOf(operation: string): Promise<{ roundTrips: number; retries: number }> {
  const value = async (name: string) => {
    const metric = await db.metrics.getSingleMetric(name)!.get();
    return metric.values.find((v) => v.labels.operation === operation)?.value ?? 0;
  };
  return { roundTrips: await value('ald_db_client_round_trips_total'), retries: await value('ald_db_client_retries_total') };
}

describe('a two-second outage in the middle of a run', () => {
  // 60 s: generous for a loaded 2-core machine; recovery itself takes about a second (recovery.test.ts).
  it('loses and duplicates nothing, surfaces ALD_CONNECTION, and serves the write made meanwhile', { timeout: 60_000 }, async () => {
    const watched = reactor.param('carrier_gas_mfc/flow_rate_set');
    const mine = reactor.param('chamber_pressure_gauge/pressure_setpoint');
    const before = await db.parameters.get(watched);
    expect(db.stats().cache.coherent).toBe(true);
    const mineBefore = await db.parameters.get(mine);
    const since = await dbNow(sql);
    const requestId = crypto.randomUUID();
    let during: Promise<void> | undefined;
    let otherVersion = 0;

    const run = await runRecipe(db, reactor, {
      during: (step) => {
        if (step !== 10) return;
        during = (async () => {
          // Ended by hand (not blackout(ms)), so the checks below all run while it lasts; ended
          // in `finally`, so a failed check fails the test instead of stalling the run.
          const down = nextEvent(db, 'disconnected');
          const started = Date.now();
          proxy.setRefusing(true);
          proxy.resetAll();
          let resynced: Promise<unknown> | undefined;
          try {
            await down;
            // Another client changes a setpoint this client has cached; no notification can reach it.
            const [row] = await sql<{ version: number }[]>`
              select version::int from public.set_parameter_value(${watched}::uuid, 77::float8, source => 'operator')`;
            otherVersion = row.version;
            // Memory is not served while nobody listens: the read goes to the database and fails.
            expect((await rejection(db.parameters.get(watched))).code).toBe('ALD_CONNECTION');
            // A write is retried (same request id), then surfaced once the attempts ran out.
            let attempts = await attemptsOf('set_parameter_value');
            expect((await rejection(db.parameters.set(mine, 12.5, { requestId }))).code).toBe('ALD_CONNECTION');
            let now = await attemptsOf('set_parameter_value');
            expect(now).toEqual({ roundTrips: attempts.roundTrips + 3, retries: attempts.retries + 2 });
            // A claim is retried too, with its claim key (a retry returns the command the key claimed,
            // never a second one), then surfaced once the attempts ran out.
            attempts = await attemptsOf('claim_next_command');
            expect((await rejection(db.commands.claimNext(reactor.machineId))).code).toBe('ALD_CONNECTION');
            now = await attemptsOf('claim_next_command');
            expect(now).toEqual({ roundTrips: attempts.roundTrips + 3, retries: attempts.retries + 2 });
            await pause(OUTAGE_MS - (Date.now() - started));
            resynced = nextEvent(db, 'resync', () => true, 30_000);
          } finally {
            proxy.setRefusing(false);
          }
          await resynced;
        })();
      },
    });
    await during;

    // Everything the run wrote, exactly once.
    const stored = await compareStored(sql, run.processId, reactor.parameterIds, run.stamps);
    expect(stored).toMatchObject({ lost: 0, unexpected: 0, duplicated: 0, wrongValue: 0 });
    expect(stored.stored).toBe(run.stamps.length * 137);
    expect(run.stamps.length).toBeGreaterThan(OUTAGE_MS / 100);
    const record = await runRecord(sql, reactor.machineId, since);
    expect(record.executions).toEqual([{ id: run.processId, status: 'completed' }]);
    expect(record.steps).toEqual({ rows: 45, indexes: 45, open: 0 });
    expect(record.setpoints.map((s) => s.n)).toEqual([1, 1]);
    // The controller saw the outage as ALD_CONNECTION only (no ALD_TIMEOUT: see recovery.test.ts).
    expect(run.surfaced.map((e) => e.code)).toContain('ALD_CONNECTION');
    expect(run.surfaced.filter((e) => e.code !== 'ALD_CONNECTION')).toEqual([]);

    // After the outage, the same client: the other client's write is served, not the cached row...
    expect(otherVersion).toBeGreaterThan(before.version);
    expect(await db.parameters.get(watched)).toMatchObject({ version: otherVersion, set_value: 77 });
    // ...the write that failed goes through once when issued again with its request id...
    expect(await db.parameters.set(mine, 12.5, { requestId })).toMatchObject({ version: mineBefore.version + 1, set_value: 12.5 });
    const audit = await sql<{ n: number }[]>`select count(*)::int as n from public.parameter_changes where request_id = ${requestId}`;
    expect(audit[0].n).toBe(1);
    // ...and the cache hears changes again.
    const notified = nextEvent(db, 'invalidate', (e) => e.id === watched);
    await sql`update public.component_parameters set set_value = 78 where id = ${watched}`;
    await notified;
    expect((await db.parameters.get(watched)).set_value).toBe(78);
    expect(db.stats()).toMatchObject({ listener: { subscribed: true }, pool: { inUse: 0, waiting: 0 } });
  });
});
