// PostgreSQL itself restarted in the middle of a run: a server of the test's own (embedded
// PostgreSQL 17, tests/faults/embedded-server.ts) is shut down (sessions terminated with 57P01,
// then connections refused) and started again. The client is the same object before and after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createAldDb, type AldDb } from '../../src/index.ts';
import { EmbeddedServer } from './embedded-server.ts';
import {
  cloneReactor, compareStored, databaseUrl, dbNow, nextEvent, rejection, runRecord, runRecipe, type Reactor,
} from './support.ts';

let server: EmbeddedServer;
let sql: postgres.Sql;
let reactor: Reactor;
let db: AldDb;

beforeAll(async () => {
  server = new EmbeddedServer();
  await server.start(databaseUrl());
  sql = postgres(server.url, { max: 2, onnotice: () => {} });
  reactor = await cloneReactor(sql, 'faults restart');
  db = createAldDb({
    databaseUrl: server.url, timeoutMs: 2000,
    listener: { reconnectBaseMs: 50, reconnectMaxMs: 500 }, cache: { hotRefreshMs: 0 },
  });
  await db.ready();
  await db.parameters.forMachine(reactor.machineId);
}, 120_000);

afterAll(async () => {
  await db?.close();
  // end({ timeout }) because end() can hang on a connection the restart reset (porsager/postgres#1130).
  await sql?.end({ timeout: 1 });
  await server?.close();
});

describe('PostgreSQL restarted mid-run', () => {
  // 60 s: generous for a loaded 2-core machine; recovery itself takes about a second (recovery.test.ts).
  it('loses and duplicates nothing, surfaces ALD_CONNECTION while down, and serves a write made before it listens again', { timeout: 60_000 }, async () => {
    const watched = reactor.param('carrier_gas_mfc/flow_rate_set');
    const mine = reactor.param('chamber_pressure_gauge/pressure_setpoint');
    const before = await db.parameters.get(watched);
    const mineBefore = await db.parameters.get(mine);
    const since = await dbNow(sql);
    const requestId = crypto.randomUUID();
    let restart: Promise<void> | undefined;
    let otherVersion = 0;

    const run = await runRecipe(db, reactor, {
      during: (step) => {
        if (step !== 10) return;
        restart = (async () => {
          const down = nextEvent(db, 'disconnected');
          await server.stop();
          let resynced: Promise<unknown> | undefined;
          try {
            await down;
            // The server refuses connections: the write is retried, then surfaced.
            expect((await rejection(db.parameters.set(mine, 12.5, { requestId }))).code).toBe('ALD_CONNECTION');
            resynced = nextEvent(db, 'resync', () => true, 30_000);
          } finally {
            // Started again even when a check above failed, so the run (and the test) can end.
            await server.restart();
          }
          // Another client writes at once, most likely before this client LISTENs again.
          const other = postgres(server.url, { max: 1, onnotice: () => {} });
          try {
            const [row] = await other<{ version: number }[]>`
              select version::int from public.set_parameter_value(${watched}::uuid, 77::float8, source => 'operator')`;
            otherVersion = row.version;
          } finally {
            await other.end({ timeout: 1 });
          }
          await resynced;
        })();
      },
    });
    await restart;

    const stored = await compareStored(sql, run.processId, reactor.parameterIds, run.stamps);
    expect(stored).toMatchObject({ lost: 0, unexpected: 0, duplicated: 0, wrongValue: 0 });
    expect(stored.stored).toBe(run.stamps.length * 137);
    const record = await runRecord(sql, reactor.machineId, since);
    expect(record.executions).toEqual([{ id: run.processId, status: 'completed' }]);
    expect(record.steps).toEqual({ rows: 45, indexes: 45, open: 0 });
    expect(record.setpoints.map((s) => s.n)).toEqual([1, 1]);
    expect(run.surfaced.map((e) => e.code)).toContain('ALD_CONNECTION');
    expect(run.surfaced.filter((e) => e.code !== 'ALD_CONNECTION')).toEqual([]);

    expect(otherVersion).toBeGreaterThan(before.version);
    expect(await db.parameters.get(watched)).toMatchObject({ version: otherVersion, set_value: 77 });
    expect(await db.parameters.set(mine, 12.5, { requestId })).toMatchObject({ version: mineBefore.version + 1, set_value: 12.5 });
    const [audit] = await sql<{ n: number }[]>`select count(*)::int as n from public.parameter_changes where request_id = ${requestId}`;
    expect(audit.n).toBe(1);
    const notified = nextEvent(db, 'invalidate', (e) => e.id === watched);
    await sql`update public.component_parameters set set_value = 78 where id = ${watched}`;
    await notified;
    expect((await db.parameters.get(watched)).set_value).toBe(78);
    expect(db.stats()).toMatchObject({ listener: { subscribed: true, reconnects: 1 }, pool: { inUse: 0, waiting: 0 } });
  });
});
