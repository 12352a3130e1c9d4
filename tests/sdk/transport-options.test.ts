// How the direct transport is configured from its URL: prepared statements off through
// Supavisor's transaction mode (port 6543), and LISTEN on the session port instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAldDb, sessionUrlFor, usePreparedStatements } from '../../src/index.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { SEED, databaseUrl, viaPort } from './support.ts';

describe('usePreparedStatements', () => {
  it('is off for the transaction pooler port 6543 and on otherwise', () => {
    expect(usePreparedStatements('postgresql://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres')).toBe(false);
    expect(usePreparedStatements('postgresql://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres')).toBe(true);
    expect(usePreparedStatements('postgresql://postgres@db.ref.supabase.co/postgres')).toBe(true);
    expect(usePreparedStatements('postgres://u@127.0.0.1:6544/x?sslmode=disable')).toBe(true);
  });

  it('is what a client created for such a URL uses, unless the pool option says otherwise', async () => {
    const pooled = createAldDb({ databaseUrl: 'postgresql://u@127.0.0.1:6543/nowhere', listenUrl: 'postgresql://u@127.0.0.1:1/nowhere' });
    const forced = createAldDb({ databaseUrl: 'postgresql://u@127.0.0.1:5432/nowhere', listenUrl: 'postgresql://u@127.0.0.1:1/nowhere', pool: { prepare: false } });
    const direct = createAldDb({ databaseUrl: 'postgresql://u@127.0.0.1:5432/nowhere', listenUrl: 'postgresql://u@127.0.0.1:1/nowhere' });
    expect([pooled, forced, direct].map((db) => db.stats().preparedStatements)).toEqual([false, false, true]);
    await Promise.all([pooled.close(), forced.close(), direct.close()]);
  });
});

describe('sessionUrlFor', () => {
  it('moves LISTEN from the transaction pooler (6543) to the session port (5432) of the same host', () => {
    expect(sessionUrlFor('postgresql://postgres.ref:pw@pooler.example.com:6543/postgres?sslmode=require'))
      .toBe('postgresql://postgres.ref:pw@pooler.example.com:5432/postgres?sslmode=require');
    const direct = 'postgresql://postgres@127.0.0.1:5432/x';
    expect(sessionUrlFor(direct)).toBe(direct);
  });
});

describe('prepared statements on the wire', () => {
  let proxy: TcpProxy;

  beforeAll(async () => {
    const target = new URL(databaseUrl());
    proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    await proxy.start();
  });

  afterAll(async () => {
    await proxy?.close();
  });

  async function parsesFor(prepare: boolean | undefined): Promise<number> {
    const db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), pool: { max: 1, prepare } });
    try {
      await db.parameters.forMachine(SEED.reactor); // connect
      proxy.resetStats();
      for (let i = 0; i < 3; i++) await db.parameters.forMachine(SEED.reactor);
      return proxy.stats().clientMessages.P ?? 0;
    } finally {
      await db.close();
    }
  }

  it('parses a statement once per connection when prepared, and on every call when not', async () => {
    expect(await parsesFor(undefined)).toBe(0);
    expect(await parsesFor(false)).toBe(3);
  });
});
