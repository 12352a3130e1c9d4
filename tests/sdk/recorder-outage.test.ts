// The recorder through a real outage: the connection is cut for two seconds in the middle of a
// run (TcpProxy.blackout: every connection reset, new ones refused). Afterwards every tick is in
// process_data_points exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, type AldDb } from '../../src/index.ts';
import type { PostgrestEndpoint } from '../../support/postgrest-endpoint.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { TRANSPORTS, adminSql, cloneReactor, databaseUrl, dropReactor, startEndpoint, supabaseFor, viaPort, type Reactor } from './support.ts';

const TICKS = 30;
const OUTAGE_AT = 10;
const OUTAGE_MS = 2000;

let sql: postgres.Sql;
let reactor: Reactor;
let proxy: TcpProxy;

beforeAll(async () => {
  sql = adminSql();
  reactor = await cloneReactor(sql, 'recorder outage');
  const target = new URL(databaseUrl());
  proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  await proxy.start();
});

afterAll(async () => {
  await proxy?.close();
  await dropReactor(sql, reactor);
  await sql.end();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(TRANSPORTS)('recording through a cut connection (%s transport)', (transport) => {
  let endpoint: PostgrestEndpoint | undefined;
  let db: AldDb;

  beforeAll(async () => {
    // A call can hang when its connection dies under it: postgres.js never settles a query
    // written to a socket between its 'error' and 'close' events (the endpoint's pool shows it
    // when the outage starts just as a request arrives). The per-call timeout turns that into a
    // transient ALD_TIMEOUT, retried like any other; 3 s keeps this test short.
    const timeoutMs = 3000;
    if (transport === 'postgres') {
      db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), timeoutMs });
    } else {
      // The HTTP endpoint reaches the database through the proxy: the outage is between them.
      endpoint = await startEndpoint(viaPort(proxy.port));
      db = createAldDb({ supabase: supabaseFor(endpoint), timeoutMs });
    }
  });

  afterAll(async () => {
    await db?.close();
    await endpoint?.close();
  });

  it('stores every row exactly once after flush(), the backlog sent as one call', async () => {
    const plan = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const recorder = db.processRecorder(plan.process_id, { retryBaseMs: 50, retryMaxMs: 400 });
    const backlogs: number[] = [];
    recorder.on('sent', (info) => backlogs.push(info.ticks));
    const start = Date.parse(plan.started_at) + 1;
    let outage: Promise<void> | undefined;
    for (let i = 0; i < TICKS; i++) {
      if (i === OUTAGE_AT) outage = proxy.blackout(OUTAGE_MS);
      const readings = Object.fromEntries(reactor.parameterIds.map((id, j) => [id, i + j / 1000]));
      recorder.record(readings, new Date(start + i * 100));
      await pause(OUTAGE_MS / 15);
    }
    await outage;
    await recorder.flush({ timeoutMs: 20_000 });
    await db.process.complete({ processId: plan.process_id });

    const [stored] = await sql<{ rows: number; keys: number; stamps: number; total: number }[]>`
      select count(*)::int as rows, count(distinct (parameter_id, ts))::int as keys, count(distinct ts)::int as stamps,
             sum(value)::float8 as total
      from public.process_data_points where process_id = ${plan.process_id}`;
    const P = reactor.parameterIds.length;
    expect(stored).toMatchObject({ rows: TICKS * P, keys: TICKS * P, stamps: TICKS });
    const expectedTotal = Array.from({ length: TICKS }, (_, i) => reactor.parameterIds.reduce((s, _id, j) => s + i + j / 1000, 0)).reduce((a, b) => a + b, 0);
    expect(stored.total).toBeCloseTo(expectedTotal, 6);
    expect(recorder).toMatchObject({ sent: TICKS * P, dropped: 0, buffered: 0 });
    expect(recorder.retried).toBeGreaterThan(0);
    // While the connection was cut, ticks piled up and then went as one call of several ticks.
    expect(Math.max(...backlogs)).toBeGreaterThan(1);
    await recorder.close();
  });
});
