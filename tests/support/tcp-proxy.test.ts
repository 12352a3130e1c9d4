// Tests for the TCP proxy against the real PostgreSQL at 127.0.0.1:5432 (trust auth).
// No upper time bounds anywhere: timing assertions are lower bounds only.
import net from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../../support/tcp-proxy.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const proxies: TcpProxy[] = [];
const clients: postgres.Sql[] = [];

async function setup(rttMs = 0) {
  const proxy = new TcpProxy({ rttMs });
  await proxy.start();
  proxies.push(proxy);
  const sql = postgres(proxy.url('postgres'), { max: 1, onnotice: () => {} });
  clients.push(sql);
  return { proxy, sql };
}

afterAll(async () => {
  // end({ timeout }) because postgres.js's end() can hang after an ECONNRESET
  // (porsager/postgres#1130, #1097); the timeout makes it destroy instead of waiting forever.
  await Promise.all(clients.map((c) => c.end({ timeout: 1 }).catch(() => {})));
  await Promise.all(proxies.map((p) => p.close()));
});

describe('round-trip counting', () => {
  let proxy: TcpProxy;
  let sql: postgres.Sql;
  beforeAll(async () => {
    ({ proxy, sql } = await setup());
  });

  it('counts the first query on a new connection separately from the handshake', async () => {
    await sql`select 1`;
    const s = proxy.stats();
    expect(s.connections).toBe(1);
    expect(s.activeConnections).toBe(1);
    expect(s.clientMessages.startup).toBe(1);
    // 2, not 1: postgres.js runs its fetch_types query (array type OIDs) before the first
    // query on every new connection. The handshake 'Z' is not counted (3 'Z' in total).
    expect(s.roundTrips).toBe(2);
    expect(s.serverMessages.Z).toBe(3);
  });

  it('a single query on an established connection is 1 round trip', async () => {
    proxy.resetStats();
    await sql`select 1`;
    const s = proxy.stats();
    expect(s.roundTrips).toBe(1);
    expect(s.clientTurns).toBe(1);
    expect(s.connections).toBe(0);
  });

  it('sql.begin with two awaited queries is 4 round trips', async () => {
    proxy.resetStats();
    await sql.begin(async (tx) => {
      await tx`select 1`;
      await tx`select 2`;
    });
    // begin (simple 'Q') + q1 + q2 + commit (extended, each ends in Sync): nothing is
    // pipelined because each await waits for the previous reply.
    expect(proxy.stats().roundTrips).toBe(4);
    expect(proxy.stats().clientTurns).toBe(4);
    expect(proxy.stats().clientMessages.Q).toBe(1);
  });

  it('pipelined queries count one round trip per Sync, but one client turn', async () => {
    proxy.resetStats();
    await sql.begin((tx) => [tx`select 1`, tx`select 2`]);
    // begin, then q1+q2 written together, then commit: 4 'Z' but the client waits 3 times.
    expect(proxy.stats().roundTrips).toBe(4);
    expect(proxy.stats().clientTurns).toBe(3);

    proxy.resetStats();
    await Promise.all([sql`select 1`, sql`select 2`, sql`select 3`]);
    expect(proxy.stats().roundTrips).toBe(3);
    expect(proxy.stats().clientTurns).toBe(1);
  });

  it('first run of a parameterised query is 1 round trip but 2 client turns', async () => {
    proxy.resetStats();
    await sql`select ${42}::int as a`;
    // postgres.js sends Parse/Describe/Flush, waits for ParameterDescription, then
    // Bind/Execute/Sync: one Sync and one 'Z', yet two network waits.
    const s = proxy.stats();
    expect(s.roundTrips).toBe(1);
    expect(s.clientTurns).toBe(2);
    expect(s.clientMessages).toEqual({ P: 1, D: 1, H: 1, B: 1, E: 1, S: 1 });
    proxy.resetStats();
    await sql`select ${43}::int as a`; // now prepared: Bind/Execute/Sync only
    expect(proxy.stats().clientMessages).toEqual({ B: 1, E: 1, S: 1 });
    expect(proxy.stats().clientTurns).toBe(1);
  });

  it('simple-protocol multi-statement is 1 round trip with exact message counts', async () => {
    proxy.resetStats();
    await sql.unsafe('select 1; select 2');
    const s = proxy.stats();
    expect(s.roundTrips).toBe(1);
    expect(s.clientMessages).toEqual({ Q: 1 });
    expect(s.serverMessages).toEqual({ T: 2, D: 2, C: 2, Z: 1 });
  });

  it('counts COPY FROM STDIN client messages', async () => {
    await sql`create temp table if not exists proxy_copy (n int)`;
    proxy.resetStats();
    const w = await sql`copy proxy_copy from stdin`.writable();
    await new Promise<void>((resolve, reject) => {
      w.on('finish', resolve).on('error', reject);
      w.write('1\n2\n');
      w.end('3\n');
    });
    const s = proxy.stats();
    expect(s.clientMessages.Q).toBe(1);
    expect(s.clientMessages.d).toBeGreaterThanOrEqual(1);
    expect(s.clientMessages.c).toBe(1);
    expect(s.serverMessages.G).toBe(1);
    expect(s.roundTrips).toBe(1);
    expect((await sql`select count(*)::int as n from proxy_copy`)[0].n).toBe(3);
  });
});

describe('raw wire protocol (SSLRequest, fragmented writes)', () => {
  it('parses SSLRequest + one-byte reply and messages split across chunks', async () => {
    const proxy = new TcpProxy({});
    await proxy.start();
    proxies.push(proxy);
    const sock = net.connect(proxy.port, '127.0.0.1');
    sock.setNoDelay(true);
    let received = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    const waitFor = async (pred: () => boolean) => {
      while (!pred()) await sleep(5);
    };
    const endsWithZ = () => received.length >= 6 && received[received.length - 6] === 0x5a;
    await new Promise((r) => sock.once('connect', r));

    const ssl = Buffer.alloc(8);
    ssl.writeInt32BE(8, 0);
    ssl.writeInt32BE(80877103, 4);
    sock.write(ssl);
    await waitFor(() => received.length >= 1);
    expect(String.fromCharCode(received[0])).toBe('N');
    received = Buffer.alloc(0);

    const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
    const startup = Buffer.alloc(8 + params.length);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(196608, 4); // protocol 3.0
    params.copy(startup, 8);
    const sqlText = Buffer.from('select 1\0');
    const query = Buffer.alloc(5 + sqlText.length);
    query.write('Q', 0);
    query.writeInt32BE(4 + sqlText.length, 1);
    sqlText.copy(query, 5);
    // Split inside the length fields so headers straddle chunks (pauses defeat coalescing).
    for (const part of [startup.subarray(0, 3), startup.subarray(3, 6), startup.subarray(6)]) {
      sock.write(part);
      await sleep(10);
    }
    await waitFor(endsWithZ);
    received = Buffer.alloc(0); // so the next wait needs the query's own ReadyForQuery
    for (const part of [query.subarray(0, 1), query.subarray(1, 3), query.subarray(3)]) {
      sock.write(part);
      await sleep(10);
    }
    await waitFor(endsWithZ);
    sock.destroy();

    const s = proxy.stats();
    expect(s.clientMessages).toEqual({ ssl: 1, startup: 1, Q: 1 });
    expect(s.serverMessages.sslResponse).toBe(1);
    expect(s.serverMessages.R).toBe(1);
    expect(s.serverMessages.Z).toBe(2);
    expect(s.roundTrips).toBe(1);
  });
});

describe('latency injection', () => {
  it('rttMs=50 adds at least ~50 ms per round trip and preserves byte order', async () => {
    const { proxy, sql } = await setup(0);
    await sql`select 1`;
    const minTime = async () => {
      let best = Infinity;
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await sql`select 1`;
        best = Math.min(best, performance.now() - t);
      }
      return best;
    };
    const fast = await minTime();
    proxy.setRtt(50);
    const slow = await minTime();
    expect(slow - fast).toBeGreaterThanOrEqual(45);
    // Large multi-chunk results through the delay queues arrive intact and in order.
    const rows = await sql`select g, repeat('x', 100) as pad from generate_series(1, 20000) g`;
    expect(rows.length).toBe(20000);
    expect(rows.every((r, i) => r.g === i + 1)).toBe(true);
  });
});

describe('fault injection', () => {
  it('resetAll() on an idle connection: postgres.js reconnects transparently', async () => {
    const { proxy, sql } = await setup();
    await sql`select 1`;
    proxy.resetAll();
    await sleep(20); // let the client see the RST
    proxy.resetStats();
    // The idle connection was already marked closed, so the next query opens a new one.
    await sql`select 1`;
    expect(proxy.stats().connections).toBe(1);
  });

  it('resetAll() then an immediate query: that query fails, the following one reconnects', async () => {
    const { proxy, sql } = await setup();
    await sql`select 1`;
    proxy.resetAll();
    // Issued before the client has processed the RST: written on the dead socket, rejected.
    await expect(sql`select 1`).rejects.toThrow();
    await sleep(20); // see the postgres.js race described in the next test
    expect((await sql`select 1 as x`)[0].x).toBe(1);
  });

  it('resetAll() during a query fails that query; the following query reconnects', async () => {
    const { proxy, sql } = await setup();
    await sql`select 1`;
    let armed = true;
    proxy.onClientMessage = (type) => {
      if (armed && type === 'B') {
        armed = false;
        proxy.resetAll();
      }
    };
    await expect(sql`select 1`).rejects.toMatchObject({ code: 'ECONNRESET' });
    proxy.onClientMessage = undefined;
    // postgres.js race: a query issued before the socket's 'close' event (which comes after
    // 'error', even after setImmediate) is queued on the dead connection and never settles.
    await sleep(20);
    proxy.resetStats();
    expect((await sql`select 1 as x`)[0].x).toBe(1);
    expect(proxy.stats().connections).toBe(1);
  });

  it('onServerMessage can reset a connection after the server executed a statement, losing only its reply', async () => {
    const { proxy, sql } = await setup();
    // A real table (a temporary one would vanish with the reset connection), dropped at the end.
    const name = `tcp_proxy_reply_${process.pid}_${Date.now()}`;
    await sql.unsafe(`create table ${name} (x int)`);
    let conn: number | undefined;
    proxy.onClientMessage = (type, id) => {
      if (conn === undefined && (type === 'B' || type === 'Q')) conn = id;
    };
    proxy.onServerMessage = (type, id) => {
      if (type === 'Z' && id === conn) {
        conn = -1;
        proxy.resetAll();
      }
    };
    await expect(sql.unsafe(`insert into ${name} values (1)`)).rejects.toMatchObject({ code: 'ECONNRESET' });
    proxy.onClientMessage = undefined;
    proxy.onServerMessage = undefined;
    await sleep(20);
    try {
      // The reply was lost, the insert was not: the server had committed it before the 'Z'.
      expect((await sql.unsafe(`select count(*)::int as n from ${name}`))[0].n).toBe(1);
    } finally {
      await sql.unsafe(`drop table ${name}`);
    }
  });

  it('blackout(300) refuses connections during the window and accepts after', async () => {
    const { proxy, sql } = await setup();
    await sql`select 1`;
    const over = proxy.blackout(300);
    expect(proxy.stats().activeConnections).toBe(0);
    const fresh = postgres(proxy.url('postgres'), { max: 1 });
    clients.push(fresh);
    await expect(fresh`select 1`).rejects.toMatchObject({ code: 'ECONNRESET' });
    await over;
    expect((await fresh`select 1 as x`)[0].x).toBe(1);
    expect((await sql`select 1 as x`)[0].x).toBe(1);
  });

  it('setRefusing() is the manual variant', async () => {
    const { proxy, sql } = await setup();
    proxy.setRefusing(true);
    await expect(sql`select 1`).rejects.toMatchObject({ code: 'ECONNRESET' });
    proxy.setRefusing(false);
    await sleep(20);
    expect((await sql`select 1 as x`)[0].x).toBe(1);
    expect(proxy.stats().connections).toBe(1); // refused attempts are not counted
  });
});
