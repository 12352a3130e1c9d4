// Setpoints reach the PLC and come back confirmed (issue 11), through the SDK: round trips counted
// on the wire (claim of 1 and of 50 requests, an ack of 50 outcomes, a report of 137 values: one
// exchange each), and the faults the controller must survive: LISTEN down while an operator
// writes, a controller killed between claim and ack, two controllers of one machine, and
// superseded requests that must never reach the PLC.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, type AldDb } from '../../src/index.ts';
import type { ClaimedSetpoint } from '../../src/sdk/types.ts';
import type { SetpointOutcome } from '../../src/sdk/setpoints.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { SEED, adminSql, clientFor, cloneReactor, databaseUrl, dropReactor, nextEvent, startEndpoint, viaPort, type Reactor } from './support.ts';

let sql: postgres.Sql;
const reactors: Reactor[] = [];

beforeAll(() => {
  sql = adminSql();
});

afterAll(async () => {
  for (const r of reactors) await dropReactor(sql, r);
  await sql.end();
});

async function reactor(label: string): Promise<Reactor> {
  const r = await cloneReactor(sql, label);
  reactors.push(r);
  return r;
}

/** The writable parameters of a reactor, with a valid value to write to each (its min). */
async function writable(r: Reactor): Promise<{ id: string; value: number }[]> {
  return sql<{ id: string; value: number }[]>`
    select id, coalesce(min_value, 0)::float8 as value from public.component_parameters
    where machine_id = ${r.machineId} and is_writable and data_type <> 'binary' and set_value is distinct from coalesce(min_value, 0)
    order by id`;
}

/** An operator's write, as the UI makes it (a direct session stands in for PostgREST). */
async function uiWrite(id: string, value: number): Promise<void> {
  await sql`select public.set_parameter_value(${id}, ${value}, source => 'operator')`;
}

async function requestsOf(parameterId: string) {
  return sql<{ id: string; status: string; value: number; claim_count: number }[]>`
    select id, status::text, value, claim_count from public.setpoint_requests where parameter_id = ${parameterId} order by created_at, version`;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const applyAll = (requests: ClaimedSetpoint[]): Promise<SetpointOutcome[]> => Promise.resolve(requests.map(() => ({ ok: true as const })));

describe('round trips on the wire', () => {
  let proxy: TcpProxy;
  let db: AldDb;
  let r: Reactor;

  beforeAll(async () => {
    r = await reactor('setpoint round trips');
    const target = new URL(databaseUrl());
    proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    await proxy.start();
    db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), pool: { max: 1 } });
    await db.parameters.forMachine(r.machineId); // open the pool's connection before counting
  });

  afterAll(async () => {
    await db?.close();
    await proxy?.close();
  });

  async function wire<T>(action: () => Promise<T>): Promise<{ exchanges: number; result: T }> {
    proxy.resetStats();
    const result = await action();
    return { exchanges: proxy.stats().roundTrips, result };
  }

  it.each([1, 50])('claims %i pending requests in one exchange and acks them in one', async (k) => {
    const targets = (await writable(r)).slice(0, k);
    expect(targets).toHaveLength(k);
    for (const t of targets) await uiWrite(t.id, t.value);
    const claim = await wire(() => db.setpoints.claim(r.machineId, { claimedBy: 'wire test' }));
    expect(claim.exchanges).toBe(1);
    expect(claim.result).toHaveLength(k);
    const ack = await wire(() => db.setpoints.ack({
      machineId: r.machineId, requestIds: claim.result.map((c) => c.request_id), ok: claim.result.map(() => true),
    }));
    expect(ack.exchanges).toBe(1);
    expect(ack.result.filter((a) => a.status === 'applied' && !a.replayed)).toHaveLength(k);
    // put the values back for the next k (the write makes requests; claim and ack them unmeasured)
    for (const t of targets) await sql`select public.set_parameter_value(${t.id}, ${t.value + 1})`.catch(() => {});
    const rest = await db.setpoints.claim(r.machineId);
    if (rest.length) await db.setpoints.ack({ machineId: r.machineId, requestIds: rest.map((c) => c.request_id), ok: rest.map(() => false), errors: rest.map(() => 'reset') });
  });

  it('reports 137 PLC values in one exchange; a repeat changes nothing', async () => {
    const values = Object.fromEntries(r.parameterIds.map((id, i) => [id, i % 2]));
    expect(Object.keys(values)).toHaveLength(137);
    const first = await wire(() => db.setpoints.report(r.machineId, values));
    expect(first.exchanges).toBe(1);
    expect(first.result).toBeGreaterThan(0);
    const again = await wire(() => db.setpoints.report(r.machineId, values));
    expect(again).toEqual({ exchanges: 1, result: 0 });
  });
});

describe('db.setpoints.subscribe', () => {
  const clients: AldDb[] = [];
  const proxies: TcpProxy[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const p of proxies.splice(0)) await p.close();
  });
  function client(extra: Record<string, unknown> = {}): AldDb {
    const db = createAldDb({ databaseUrl: databaseUrl(), ...extra });
    clients.push(db);
    return db;
  }

  it('delivers a UI write to the handler, acks it, and the parameter shows it applied', async () => {
    const r = await reactor('subscribe');
    const [t] = await writable(r);
    const db = client();
    const seen: ClaimedSetpoint[] = [];
    const sub = db.setpoints.subscribe(r.machineId, async (requests) => {
      seen.push(...requests);
      return requests.map((q) => ({ ok: true as const, appliedValue: q.value }));
    }, { pollMs: 600_000 });
    await nextEvent(sub, 'connected');
    const acked = nextEvent(sub, 'acked');
    await uiWrite(t.id, t.value);
    await acked;
    expect(seen.map((s) => [s.parameter_id, s.value])).toEqual([[t.id, t.value]]);
    expect(sub.stats.wakes.notify).toBeGreaterThanOrEqual(1);
    const [p] = await sql<{ applied_value: number; set_value: number }[]>`select applied_value, set_value from public.component_parameters where id = ${t.id}`;
    expect(p).toEqual({ applied_value: t.value, set_value: t.value });
    expect((await requestsOf(t.id)).map((q) => q.status)).toEqual(['applied']);
  });

  it('fails a request the handler fails, with its error, and leaves applied_value unconfirmed', async () => {
    const r = await reactor('subscribe fail');
    const [t] = await writable(r);
    const db = client();
    const sub = db.setpoints.subscribe(r.machineId, async (requests) => requests.map(() => ({ ok: false as const, error: 'parameter is not wired to a PLC address' })), { pollMs: 600_000 });
    await nextEvent(sub, 'connected');
    const acked = nextEvent(sub, 'acked');
    await uiWrite(t.id, t.value);
    await acked;
    const [q] = await sql<{ status: string; error: string }[]>`select status::text, error from public.setpoint_requests where parameter_id = ${t.id}`;
    expect(q).toEqual({ status: 'failed', error: 'parameter is not wired to a PLC address' });
    const [p] = await sql<{ applied_value: number | null }[]>`select applied_value from public.component_parameters where id = ${t.id}`;
    expect(p.applied_value).toBeNull();
  });

  it('a UI write while the LISTEN session is down is applied once, after the reconnect', async () => {
    const r = await reactor('listen down');
    const [t] = await writable(r);
    const target = new URL(databaseUrl());
    const proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    proxies.push(proxy);
    await proxy.start();
    // The LISTEN sessions go through the proxy; the poll is too slow to matter here.
    const db = client({ listenUrl: viaPort(proxy.port), listener: { reconnectBaseMs: 50, reconnectMaxMs: 200 } });
    const deliveries: string[] = [];
    const sub = db.setpoints.subscribe(r.machineId, async (requests) => {
      deliveries.push(...requests.map((q) => q.request_id));
      return requests.map(() => ({ ok: true as const }));
    }, { pollMs: 600_000 });
    await nextEvent(sub, 'connected');
    await sub.idle();
    const claimsBefore = sub.stats.claims;
    const down = nextEvent(sub, 'disconnected');
    const blackout = proxy.blackout(1500);
    await down;
    await uiWrite(t.id, t.value); // its NOTIFY is lost: nobody is listening
    expect(deliveries).toEqual([]);
    const acked = nextEvent(sub, 'acked', () => true, 20_000);
    await blackout;
    await acked;
    const [q] = await requestsOf(t.id);
    expect(deliveries).toEqual([q.id]);
    expect(q).toMatchObject({ status: 'applied', claim_count: 1 });
    expect(sub.stats.wakes.reconnect).toBeGreaterThanOrEqual(2);
    expect(sub.stats.wakes.poll).toBe(0);
    expect(sub.stats.claims).toBeGreaterThan(claimsBefore);
    await sub.idle();
    expect(deliveries).toHaveLength(1);
  });

  it('a controller killed between claim and ack: the request comes back after the claim timeout and is applied once', async () => {
    const r = await reactor('killed controller');
    const [t] = await writable(r);
    await uiWrite(t.id, t.value);
    // The first controller claims (1 s timeout) and dies: its client is gone without an ack.
    const dead = createAldDb({ databaseUrl: databaseUrl() });
    const claimed = await dead.setpoints.claim(r.machineId, { claimedBy: 'controller that dies', claimTimeoutSeconds: 1 });
    await dead.close();
    expect(claimed.map((c) => c.parameter_id)).toEqual([t.id]);

    const db = client();
    const deliveries: ClaimedSetpoint[] = [];
    const sub = db.setpoints.subscribe(r.machineId, async (requests) => {
      deliveries.push(...requests);
      return requests.map(() => ({ ok: true as const }));
    }, { pollMs: 100, claimedBy: 'controller 2' });
    await nextEvent(sub, 'acked', () => true, 15_000);
    expect(deliveries.map((d) => [d.request_id, d.claim_count])).toEqual([[claimed[0].request_id, 2]]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // more polls: nothing more is delivered
    await sub.idle();
    expect(deliveries).toHaveLength(1);
    const [q] = await requestsOf(t.id);
    expect(q).toMatchObject({ status: 'applied', claim_count: 2 });
  });

  it('two controllers of one machine never both apply one request', async () => {
    const r = await reactor('two controllers');
    const targets = (await writable(r)).slice(0, 30);
    const delivered = new Map<string, number>();
    const handler = async (requests: ClaimedSetpoint[]) => {
      for (const q of requests) delivered.set(q.request_id, (delivered.get(q.request_id) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return requests.map(() => ({ ok: true as const }));
    };
    const a = client().setpoints.subscribe(r.machineId, handler, { pollMs: 20, claimedBy: 'A' });
    const b = client().setpoints.subscribe(r.machineId, handler, { pollMs: 20, claimedBy: 'B' });
    for (const t of targets) await uiWrite(t.id, t.value);
    await waitFor(async () => {
      const [{ open }] = await sql<{ open: number }[]>`select count(*)::int as open from public.setpoint_requests where machine_id = ${r.machineId} and status in ('pending', 'claimed')`;
      return open === 0;
    }, 'every request acked');
    await a.idle();
    await b.idle();
    const [{ applied }] = await sql<{ applied: number }[]>`select count(*)::int as applied from public.setpoint_requests where machine_id = ${r.machineId} and status = 'applied'`;
    expect(applied).toBe(30);
    expect(delivered.size).toBe(30);
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);
    expect(a.stats.applied + b.stats.applied).toBe(30);
  });

  it('a superseded request is never written to the PLC', async () => {
    const r = await reactor('superseded');
    const [t] = await writable(r);
    const written: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const db = client();
    // Three writes while no controller runs: only the last one is delivered.
    await uiWrite(t.id, t.value);
    await uiWrite(t.id, t.value + 1);
    await uiWrite(t.id, t.value + 2);
    const sub = db.setpoints.subscribe(r.machineId, async (requests) => {
      written.push(...requests.map((q) => q.value));
      if (written.length === 1) await gate; // the PLC write of the first delivery takes a while
      return requests.map(() => ({ ok: true as const }));
    }, { pollMs: 50 });
    await waitFor(async () => written.length === 1, 'the first delivery');
    // Two more while it is in flight: the first of them is superseded by the second before any claim.
    await uiWrite(t.id, t.value + 3);
    await uiWrite(t.id, t.value + 4);
    release();
    await waitFor(async () => (await requestsOf(t.id)).every((q) => q.status !== 'pending' && q.status !== 'claimed'), 'the queue to drain');
    await sub.idle();
    expect(written).toEqual([t.value + 2, t.value + 4]);
    expect((await requestsOf(t.id)).map((q) => `${q.status}:${q.value - t.value}`)).toEqual([
      'superseded:0', 'superseded:1', 'applied:2', 'superseded:3', 'applied:4',
    ]);
    const [p] = await sql<{ applied_value: number }[]>`select applied_value from public.component_parameters where id = ${t.id}`;
    expect(p.applied_value).toBe(t.value + 4);
  });

  it('a handler that throws acks nothing: ALD_HANDLER, and the requests stay claimed for re-delivery', async () => {
    const r = await reactor('handler throws');
    const [t] = await writable(r);
    const db = client();
    const sub = db.setpoints.subscribe(r.machineId, async () => {
      throw new Error('PLC unreachable');
    }, { pollMs: 600_000 });
    await nextEvent(sub, 'connected');
    const failed = nextEvent(sub, 'error');
    await uiWrite(t.id, t.value);
    const [error] = await failed;
    expect(error.code).toBe('ALD_HANDLER');
    expect((await requestsOf(t.id)).map((q) => q.status)).toEqual(['claimed']);
    expect(sub.stats.acks).toBe(0);
  });

  it('acks are idempotent through the SDK, and bad input is refused before anything is sent', async () => {
    const r = await reactor('ack idempotent');
    const [t] = await writable(r);
    const db = client();
    await uiWrite(t.id, t.value);
    const [c] = await db.setpoints.claim(r.machineId);
    const first = await db.setpoints.ack({ machineId: r.machineId, requestIds: [c.request_id], ok: [true] });
    const again = await db.setpoints.ack({ machineId: r.machineId, requestIds: [c.request_id], ok: [true] });
    expect(first.map((a) => a.replayed)).toEqual([false]);
    expect(again.map((a) => a.replayed)).toEqual([true]);
    await expect(db.setpoints.ack({ machineId: r.machineId, requestIds: [c.request_id], ok: [false], errors: ['x'] })).rejects.toMatchObject({ code: '23505' });
    const before = db.stats().roundTrips;
    await expect(db.setpoints.ack({ machineId: r.machineId, requestIds: [c.request_id], ok: [] })).rejects.toMatchObject({ code: 'ALD_INVALID_ARGUMENT' });
    await expect(db.setpoints.claim('not-a-uuid')).rejects.toMatchObject({ code: 'ALD_INVALID_ARGUMENT' });
    await expect(db.setpoints.report(r.machineId, { [t.id]: Number.NaN })).rejects.toMatchObject({ code: 'ALD_INVALID_ARGUMENT' });
    expect(db.stats().roundTrips).toEqual(before);
  });
});

describe('through PostgREST (the supabase transport)', () => {
  let endpoint: Awaited<ReturnType<typeof startEndpoint>>;
  let db: AldDb;
  beforeAll(async () => {
    endpoint = await startEndpoint();
    db = clientFor('supabase', endpoint);
  });
  afterAll(async () => {
    await db?.close();
    await endpoint?.close();
  });

  it('polls: a request is claimed, written and acked without LISTEN', async () => {
    const r = await reactor('supabase subscribe');
    const [t] = await writable(r);
    const seen: string[] = [];
    const sub = db.setpoints.subscribe(r.machineId, async (requests) => {
      seen.push(...requests.map((q) => q.parameter_id));
      return requests.map(() => ({ ok: true as const }));
    }, { pollMs: 50 });
    const acked = nextEvent(sub, 'acked');
    await uiWrite(t.id, t.value);
    await acked;
    await sub.close();
    expect(seen).toEqual([t.id]);
    expect((await requestsOf(t.id)).map((q) => q.status)).toEqual(['applied']);
  });

  it('answers the documented codes with PostgREST statuses: P0002 404, 55000 409, 23505 409, 22023 400', async () => {
    const r = await reactor('supabase codes');
    const [t] = await writable(r);
    await expect(db.setpoints.claim('00000000-0000-4000-8000-0000000000ff')).rejects.toMatchObject({ code: 'P0002', status: 404 });
    await uiWrite(t.id, t.value);
    const [pending] = await requestsOf(t.id);
    await expect(db.setpoints.ack({ machineId: r.machineId, requestIds: [pending.id], ok: [true] })).rejects.toMatchObject({ code: '55000', status: 409 });
    const [c] = await db.setpoints.claim(r.machineId);
    expect(c.request_id).toBe(pending.id);
    await db.setpoints.ack({ machineId: r.machineId, requestIds: [c.request_id], ok: [true], appliedValues: [t.value] });
    await expect(db.setpoints.ack({ machineId: r.machineId, requestIds: [c.request_id], ok: [false], errors: ['late'] })).rejects.toMatchObject({ code: '23505', status: 409 });
    await expect(db.setpoints.ack({ machineId: SEED.bench, requestIds: [c.request_id], ok: [true] })).rejects.toMatchObject({ code: '22023', status: 400 });
    expect(await db.setpoints.report(r.machineId, { [t.id]: t.value })).toBe(0);
  });
});
