// Recovery after faults that once left the client dead, fixed in src/sdk/transport/postgres.ts:
//
// 1. Recovery after an outage used to wait in postgres.js's default reconnect backoff,
//    (0.5..1) × min(3^n / 100, 20) s with n counting every failed attempt of the pool: after a
//    couple of seconds of refused connections a call could wait 3.6 to 20 s for a database that
//    answered again, and fail with ALD_TIMEOUT. The pool now uses 50 ms doubling to 1 s.
// 2. A call that timed out while its connection was still connecting was cancel()ed; postgres.js
//    3.4.9 then skips that query when the connection opens and never returns the connection to
//    the pool, so after pool.max such timeouts every call waited forever. Only queries already
//    written to a connection are cancelled now; an unsent one is abandoned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAldDb, type AldDb } from '../../src/index.ts';
import type { TcpProxy } from '../../support/tcp-proxy.ts';
import { SEED, databaseUrl, pause, startProxy, until, viaPort } from './support.ts';

describe('recovery after an outage', () => {
  let proxy: TcpProxy;
  let db: AldDb;

  beforeAll(async () => {
    proxy = await startProxy();
    // One attempt per call, so what a call does is what one attempt did; a reply of a few
    // milliseconds has 2 s.
    db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), timeoutMs: 2000, retry: { attempts: 1 }, cache: { hotRefreshMs: 0 } });
    await db.ready();
  });

  afterAll(async () => {
    await db?.close();
    await proxy?.close();
  });

  const read = () => db.parameters.forMachine(SEED.reactor).then(() => 'ok', (e: { code: string }) => e.code);

  it('answers the first calls made once the database is reachable again, without ALD_TIMEOUT', async () => {
    expect(await Promise.all([read(), read(), read()])).toEqual(['ok', 'ok', 'ok']);
    // Two seconds of refused connections while three callers keep trying, as a controller's
    // recorder, steps and cache do.
    proxy.setRefusing(true);
    proxy.resetAll();
    const end = Date.now() + 2000;
    const during: string[] = [];
    const keepTrying = async () => {
      while (Date.now() < end) {
        during.push(await read());
        await pause(50);
      }
    };
    await Promise.all([keepTrying(), keepTrying(), keepTrying()]);
    expect(during).toContain('ALD_CONNECTION');
    proxy.setRefusing(false);
    await pause(50);

    // Four concurrent calls, as many as the controller had in flight: each needs a connection.
    expect(await Promise.all([read(), read(), read(), read()])).toEqual(['ok', 'ok', 'ok', 'ok']);
  });
});

describe('a call timed out while its connection was connecting', () => {
  let proxy: TcpProxy;
  let db: AldDb;

  beforeAll(async () => {
    proxy = await startProxy();
    db = createAldDb({
      databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), pool: { max: 1 },
      timeoutMs: 1000, retry: { attempts: 1 }, cache: { hotRefreshMs: 0 },
    });
    await db.ready();
  });

  afterAll(async () => {
    await db?.close();
    await proxy?.close();
  });

  const read = () => db.parameters.forMachine(SEED.reactor).then(() => 'ok', (e: { code: string }) => e.code);

  it('still has its connection once the slow connect has completed', async () => {
    // 600 ms each way: the handshake and postgres.js's type query take several round trips, so
    // the first call times out while its connection is still being set up. That much is right.
    proxy.resetStats();
    proxy.setRtt(1200);
    expect(await read()).toBe('ALD_TIMEOUT');
    proxy.setRtt(0);
    // The set-up completes behind the delay queue: the handshake's ReadyForQuery, then the type query's.
    await until('the connection is set up', () => (proxy.stats().serverMessages.Z ?? 0) >= 2);
    await pause(50);
    expect(proxy.stats().activeConnections).toBe(1);
    // The network is fast again and the connection is open: the next call must use it.
    expect(await read()).toBe('ok');
  });
});
