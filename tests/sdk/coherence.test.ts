// The cache against a real database and a second writer: when memory may be served, when it may
// not, and how it comes back after the change listener was lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, type AldDb } from '../../src/index.ts';
import type { PostgrestEndpoint } from '../../support/postgrest-endpoint.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import {
  adminSql, cloneReactor, databaseUrl, dropReactor, manualClock, nextEvent, startEndpoint, supabaseFor, viaPort, type Reactor,
} from './support.ts';

let sql: postgres.Sql;
let reactor: Reactor;

beforeAll(async () => {
  sql = adminSql();
  reactor = await cloneReactor(sql, 'coherence');
});

afterAll(async () => {
  await dropReactor(sql, reactor);
  await sql.end();
});

/** Another writer: a plain UPDATE, as an admin dashboard or a migration script would do it. */
async function writeElsewhere(id: string, value: number): Promise<number> {
  const [row] = await sql<{ version: string }[]>`update public.component_parameters set set_value = ${value} where id = ${id} returning version`;
  return Number(row.version);
}

/** Another controller: set_parameter_value on its own connection. */
async function setElsewhere(id: string, value: number): Promise<number> {
  const [row] = await sql<{ version: string }[]>`select version from public.set_parameter_value(${id}::uuid, ${value}::float8, source => 'operator')`;
  return Number(row.version);
}

const delta = (db: AldDb, before: ReturnType<AldDb['stats']>) => {
  const after = db.stats();
  return {
    getParameters: (after.roundTrips.get_parameters ?? 0) - (before.roundTrips.get_parameters ?? 0),
    hits: after.cache.hits - before.cache.hits,
    revalidating: after.cache.revalidatingReads - before.cache.revalidatingReads,
  };
};

describe('cache coherence over LISTEN (direct transport)', () => {
  let db: AldDb;

  beforeAll(async () => {
    db = createAldDb({ databaseUrl: databaseUrl(), listener: { reconnectBaseMs: 20, reconnectMaxMs: 200 } });
    await db.ready();
    await db.parameters.forMachine(reactor.machineId);
  });

  afterAll(async () => {
    await db.close();
  });

  it('never returns the old version once the change notification arrived', async () => {
    const ids = [reactor.param('carrier_gas_mfc/flow_rate_set'), reactor.param('chamber_pressure_gauge/pressure_setpoint'), reactor.param('lid_heater/kp')];
    for (let i = 1; i <= 12; i++) {
      const id = ids[i % ids.length];
      const cached = await db.parameters.get(id);
      const value = cached.set_value === 10 + i ? 11 + i : 10 + i;
      const notified = nextEvent(db, 'invalidate', (e) => e.id === id);
      const version = await (i % 2 === 0 ? writeElsewhere(id, value) : setElsewhere(id, value));
      const [event] = await notified;
      expect(event).toMatchObject({ id, version, op: 'UPDATE', dropped: true, machine_id: reactor.machineId });
      const after = await db.parameters.get(id);
      expect(after.version).toBe(version);
      expect(after.set_value).toBe(value);
    }
  });

  // Issue 14, finding 5: the re-inserted row used to start again at version 1, below the version
  // the store remembers for the id, so it could never be cached again (every read a round trip).
  it('caches a parameter deleted and inserted again with the same id, at a version above the old one', async () => {
    const id = reactor.param('lid_heater/kd');
    const old = await db.parameters.get(id);
    const inserted = nextEvent(db, 'invalidate', (e) => e.id === id && e.op === 'INSERT');
    await sql.begin(async (tx) => {
      const [row] = await tx`delete from public.component_parameters where id = ${id} returning *`;
      await tx`insert into public.component_parameters ${tx({ ...row, set_value: Number(row.set_value) + 0.25 })}`;
    });
    const [event] = await inserted;
    expect(event.version).toBeGreaterThan(old.version);
    const fresh = await db.parameters.get(id);
    expect(fresh.set_value).toBe(Number(old.set_value) + 0.25);
    expect(fresh.version).toBe(event.version);
    const before = db.stats();
    expect(await db.parameters.get(id)).toEqual(fresh);
    expect(delta(db, before)).toMatchObject({ getParameters: 0, hits: 1 });
  });

  it('reads its own write back from memory (read-your-writes)', async () => {
    const id = reactor.param('lid_heater/ki');
    const written = await db.parameters.set(id, 0.5, { reason: 'coherence test' });
    const before = db.stats();
    expect(await db.parameters.get(id)).toEqual(written);
    expect(delta(db, before)).toMatchObject({ getParameters: 0, hits: 1 });
  });

  it('reads from the database while the listener is down, resyncs in one call on reconnect, then serves memory', async () => {
    const target = new URL(databaseUrl());
    const proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    await proxy.start();
    const viaProxy = createAldDb({ databaseUrl: databaseUrl(), listenUrl: viaPort(proxy.port), listener: { reconnectBaseMs: 20, reconnectMaxMs: 200 } });
    try {
      await viaProxy.ready();
      const id = reactor.param('foreline_heater/kd');
      await viaProxy.parameters.forMachine(reactor.machineId);
      const cachedIds = viaProxy.stats().cache.entries;
      let before = viaProxy.stats();
      await viaProxy.parameters.get(id);
      expect(delta(viaProxy, before)).toMatchObject({ getParameters: 0, hits: 1 });

      proxy.setRefusing(true);
      const down = nextEvent(viaProxy, 'disconnected');
      proxy.resetAll();
      await down;
      // Changed while nobody listens: no notification will ever come for this one.
      const version = await writeElsewhere(id, 9.5);
      before = viaProxy.stats();
      expect((await viaProxy.parameters.get(id)).version).toBe(version);
      expect((await viaProxy.parameters.getMany([id, reactor.param('foreline_heater/kp')]))[0]!.version).toBe(version);
      expect(delta(viaProxy, before)).toEqual({ getParameters: 2, hits: 0, revalidating: 3 });

      before = viaProxy.stats();
      const resynced = nextEvent(viaProxy, 'resync');
      proxy.setRefusing(false);
      const [event] = await resynced;
      // The row read while down came back newer than the cached one, which was dropped then;
      // every other cached row is refetched in one call.
      expect(event).toEqual({ ids: cachedIds - 1, rows: cachedIds - 1 });
      expect(delta(viaProxy, before).getParameters).toBe(1);

      before = viaProxy.stats();
      await viaProxy.parameters.get(reactor.param('foreline_heater/kp'));
      expect(delta(viaProxy, before)).toMatchObject({ getParameters: 0, hits: 1, revalidating: 0 });
      expect((await viaProxy.parameters.get(id)).version).toBe(version); // a plain miss, then cached
      before = viaProxy.stats();
      expect((await viaProxy.parameters.get(id)).version).toBe(version);
      expect(delta(viaProxy, before)).toMatchObject({ getParameters: 0, hits: 1 });
      expect(viaProxy.stats().listener).toMatchObject({ subscribed: true, reconnects: 1 });
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('reconnects and resyncs after its backend is terminated (pg_terminate_backend)', async () => {
    const id = reactor.param('trap_heater/kp');
    await db.parameters.get(id);
    const { pid, reconnects } = db.stats().listener!;
    expect(pid).toEqual(expect.any(Number));
    const down = nextEvent(db, 'disconnected');
    const resynced = nextEvent(db, 'resync');
    const [{ terminated }] = await sql<{ terminated: boolean }[]>`select pg_terminate_backend(${pid}) as terminated`;
    expect(terminated).toBe(true);
    const [error] = await down;
    expect(error.code).toBe('ALD_CONNECTION');
    await resynced;
    expect(db.stats().listener).toMatchObject({ subscribed: true, reconnects: reconnects + 1 });
    expect(db.stats().listener!.pid).not.toBe(pid);
    const before = db.stats();
    await db.parameters.get(id);
    expect(delta(db, before)).toMatchObject({ getParameters: 0, hits: 1 });
    // ...and it hears changes again.
    const notified = nextEvent(db, 'invalidate', (e) => e.id === id);
    const version = await writeElsewhere(id, 3.25);
    await notified;
    expect((await db.parameters.get(id)).version).toBe(version);
  });
});

describe('cache coherence over epochs (supabase transport)', () => {
  let endpoint: PostgrestEndpoint;
  let db: AldDb;
  const clock = manualClock();

  beforeAll(async () => {
    endpoint = await startEndpoint();
    db = createAldDb({ supabase: supabaseFor(endpoint), now: clock.now, cache: { epochCheckMs: 1000 } });
    await db.parameters.forMachine(reactor.machineId);
    await db.parameters.get(reactor.param('substrate_heater/kp')); // baseline epoch check
  });

  afterAll(async () => {
    await db.close();
    await endpoint.close();
  });

  it('serves memory for at most epochCheckMs after the last epoch check, then sees the change', async () => {
    const id = reactor.param('substrate_heater/kp');
    const old = await db.parameters.get(id);
    const version = await writeElsewhere(id, old.set_value === 7 ? 8 : 7);
    clock.advance(999);
    // Within the documented staleness bound the old row may still be served, from memory.
    expect((await db.parameters.get(id)).version).toBe(old.version);
    clock.advance(1);
    const before = db.stats();
    expect((await db.parameters.get(id)).version).toBe(version);
    const after = db.stats();
    expect(after.roundTrips.get_parameter_epochs - before.roundTrips.get_parameter_epochs).toBe(1);
    expect(after.roundTrips.get_parameters - before.roundTrips.get_parameters).toBe(1);
  });

  it('costs one epoch call per epochCheckMs when nothing changed', async () => {
    const id = reactor.param('substrate_heater/kd');
    await db.parameters.get(id);
    clock.advance(1000);
    const before = db.stats();
    for (let i = 0; i < 5; i++) await db.parameters.get(id);
    const after = db.stats();
    expect(after.roundTrips.get_parameter_epochs - before.roundTrips.get_parameter_epochs).toBe(1);
    expect((after.roundTrips.get_parameters ?? 0) - (before.roundTrips.get_parameters ?? 0)).toBe(0);
    expect(after.cache.hits - before.cache.hits).toBe(5);
  });
});
