// The LISTEN session lost while other clients keep writing. The cache must never serve a row it
// cannot vouch for: while nobody listens it reads from the database, and it serves memory again
// only after a resync that began after LISTEN was back. A resync interrupted by another loss
// must not count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, type AldDb } from '../../src/index.ts';
import type { TcpProxy } from '../../support/tcp-proxy.ts';
import { adminSql, cloneReactor, dropReactor, nextEvent, startProxy, viaPort, type Reactor } from './support.ts';

let sql: postgres.Sql;
let reactor: Reactor;
let poolProxy: TcpProxy;
let listenProxy: TcpProxy;
let db: AldDb;

beforeAll(async () => {
  sql = adminSql();
  reactor = await cloneReactor(sql, 'faults listener');
  poolProxy = await startProxy();
  listenProxy = await startProxy();
  db = createAldDb({
    databaseUrl: viaPort(poolProxy.port), listenUrl: viaPort(listenProxy.port),
    listener: { reconnectBaseMs: 20, reconnectMaxMs: 200 }, cache: { hotRefreshMs: 0 }, timeoutMs: 5000,
  });
  await db.ready();
  await db.parameters.forMachine(reactor.machineId);
});

afterAll(async () => {
  await db?.close();
  await poolProxy?.close();
  await listenProxy?.close();
  await dropReactor(sql, reactor);
  await sql.end();
});

/** Another client's write (a plain UPDATE, as a dashboard or script would do); returns the new version. */
async function writeElsewhere(id: string, value: number): Promise<number> {
  const [row] = await sql<{ version: string }[]>`update public.component_parameters set set_value = ${value} where id = ${id} returning version`;
  return Number(row.version);
}

async function terminateListener(): Promise<number> {
  const pid = db.stats().listener!.pid;
  expect(pid).toEqual(expect.any(Number));
  const [{ terminated }] = await sql<{ terminated: boolean }[]>`select pg_terminate_backend(${pid}) as terminated`;
  expect(terminated).toBe(true);
  return pid!;
}

/** Whether a read of `id` was served from memory (no get_parameters call). */
async function readOf(id: string): Promise<{ version: number; fromMemory: boolean }> {
  const before = db.stats();
  const row = await db.parameters.get(id);
  const after = db.stats();
  return { version: row.version, fromMemory: after.cache.hits > before.cache.hits && (after.roundTrips.get_parameters ?? 0) === (before.roundTrips.get_parameters ?? 0) };
}

describe('the LISTEN session dropped while others write', () => {
  it('serves every write made while nobody listened, from the database, then from memory after the resync', async () => {
    const id = reactor.param('carrier_gas_mfc/flow_rate_set');
    const cached = await readOf(id);
    expect(cached.fromMemory).toBe(true);
    const reconnects = db.stats().listener!.reconnects;

    // The session's backend is killed and it cannot come back until the proxy accepts again.
    listenProxy.setRefusing(true);
    const down = nextEvent(db, 'disconnected');
    await terminateListener();
    expect((await down)[0].code).toBe('ALD_CONNECTION');
    expect(db.stats().cache.coherent).toBe(false);

    // No notification will ever arrive for these writes.
    const v1 = await writeElsewhere(id, 61);
    expect(await readOf(id)).toEqual({ version: v1, fromMemory: false });
    const v2 = await writeElsewhere(id, 62);
    expect(await readOf(id)).toEqual({ version: v2, fromMemory: false });
    expect(await readOf(reactor.param('carrier_gas_mfc/gas_correction_factor'))).toMatchObject({ fromMemory: false });

    const resynced = nextEvent(db, 'resync');
    listenProxy.setRefusing(false);
    await resynced;
    expect(db.stats().listener).toMatchObject({ subscribed: true, reconnects: reconnects + 1 });
    // Rows read while nobody listened were not kept (nothing vouched for them): the first read
    // after the resync fetches, and memory serves from then on.
    expect((await readOf(id)).version).toBe(v2);
    expect(await readOf(id)).toEqual({ version: v2, fromMemory: true });

    // ...and it hears changes again.
    const notified = nextEvent(db, 'invalidate', (e) => e.id === id);
    const v3 = await writeElsewhere(id, 63);
    await notified;
    expect((await readOf(id)).version).toBe(v3);
  });

  it('does not trust a resync that the next loss interrupted; the one after it restores memory', async () => {
    const x = reactor.param('chamber_pressure_gauge/pressure_setpoint');
    const y = reactor.param('lid_heater/kp');
    await readOf(x);
    await readOf(y);
    // A slow pool: the resync after the reconnect takes at least 400 ms.
    poolProxy.setRtt(400);
    try {
      const firstDown = nextEvent(db, 'disconnected');
      const up = nextEvent(db, 'connected');
      await terminateListener();
      await firstDown;
      const vx = await writeElsewhere(x, 41); // missed: nobody listens
      await up;
      // LISTEN is back and the resync is in flight; the session is lost again before it returns.
      const resyncs = db.stats().cache.resyncs;
      const secondDown = nextEvent(db, 'disconnected');
      listenProxy.setRefusing(true);
      await terminateListener();
      await secondDown;
      const vy = await writeElsewhere(y, 42); // missed as well
      await new Promise((r) => setTimeout(r, 900)); // the interrupted resync has returned by now
      expect(db.stats().cache).toMatchObject({ coherent: false, resyncs });
      // Nothing from memory while it is not coherent: both reads see the missed writes.
      poolProxy.setRtt(0);
      expect(await readOf(x)).toEqual({ version: vx, fromMemory: false });
      expect(await readOf(y)).toEqual({ version: vy, fromMemory: false });

      const resynced = nextEvent(db, 'resync');
      listenProxy.setRefusing(false);
      await resynced;
      for (const [id, version] of [[x, vx], [y, vy]] as const) {
        expect((await readOf(id)).version).toBe(version);
        expect(await readOf(id)).toEqual({ version, fromMemory: true });
      }
    } finally {
      poolProxy.setRtt(0);
      listenProxy.setRefusing(false);
    }
  });

  it('never serves a version older than one it served before, through repeated losses', async () => {
    const id = reactor.param('substrate_heater/kp');
    let last = (await readOf(id)).version;
    for (let round = 0; round < 5; round++) {
      const resynced = nextEvent(db, 'resync');
      const pending = terminateListener();
      let written = 0;
      // Writes and reads interleaved with the loss, the reconnect and the resync.
      for (let i = 0; i < 6; i++) {
        written = await writeElsewhere(id, 100 * round + i);
        const { version } = await readOf(id);
        expect(version).toBeGreaterThanOrEqual(last);
        last = version;
      }
      await pending;
      await resynced;
      // Notifications arrive in commit order: once a later write's has arrived, every write
      // before it is visible (the resync covered those made while nobody listened).
      const other = reactor.param('substrate_heater/ki');
      const sentinel = nextEvent(db, 'invalidate', (e) => e.id === other);
      await writeElsewhere(other, round);
      await sentinel;
      const { version } = await readOf(id);
      expect(version).toBeGreaterThanOrEqual(written);
      last = version;
    }
    expect(db.stats().listener!.subscribed).toBe(true);
  });
});
