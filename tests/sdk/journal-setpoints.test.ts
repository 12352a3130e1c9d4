// Setpoint acks through the journal (issue 16): db.setpoints.subscribe(machine, handler, { journal })
// journals the handler's outcomes (durable) instead of sending them; the journal drains them in
// order. A controller killed between the journal and the drain drains the ack once after its
// restart, and never writes the request to the PLC again although its claim timed out meanwhile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, type AldDb, type AppliedInfo } from '../../src/index.ts';
import type { ClaimedSetpoint } from '../../src/sdk/types.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { adminSql, cloneReactor, databaseUrl, dropReactor, nextEvent, viaPort, type Reactor } from './support.ts';

let sql: postgres.Sql;
let dir: string;
let proxy: TcpProxy;
let reactor: Reactor;
const clients: AldDb[] = [];

beforeAll(async () => {
  sql = adminSql();
  dir = mkdtempSync(join(tmpdir(), 'ald-journal-acks-'));
  const target = new URL(databaseUrl());
  proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  await proxy.start();
  reactor = await cloneReactor(sql, 'journaled acks');
});

afterAll(async () => {
  for (const db of clients) await db.close();
  await proxy?.close();
  await dropReactor(sql, reactor);
  await sql?.end();
  rmSync(dir, { recursive: true, force: true });
});

/** Calls go through the proxy; LISTEN does not (NOTIFY wakes the subscription). */
function client(): AldDb {
  const db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), timeoutMs: 3000 });
  clients.push(db);
  return db;
}

/** A writable, non-binary parameter of the reactor and a value it does not hold yet. */
async function target(offset: number): Promise<{ id: string; value: number }> {
  const rows = await sql<{ id: string; value: number }[]>`
    select id, coalesce(min_value, 0)::float8 as value from public.component_parameters
    where machine_id = ${reactor.machineId} and is_writable and data_type <> 'binary' and set_value is distinct from coalesce(min_value, 0)
    order by id`;
  return rows[offset];
}

async function uiWrite(id: string, value: number): Promise<void> {
  await sql`select public.set_parameter_value(${id}, ${value}, source => 'operator')`;
}

async function requestOf(parameterId: string) {
  const [q] = await sql<{ id: string; status: string; claim_count: number; ack_ok: boolean | null; acked_at: Date | null }[]>`
    select id, status::text, claim_count, ack_ok, acked_at from public.setpoint_requests where parameter_id = ${parameterId}
    order by created_at desc limit 1`;
  const [p] = await sql<{ applied_value: number | null }[]>`select applied_value from public.component_parameters where id = ${parameterId}`;
  return { ...q, applied_value: p.applied_value };
}

describe('setpoint acks through the journal', () => {
  it('journals the ack (durable), drains it, and the parameter shows it applied; an identical resend replays', async () => {
    const t = await target(0);
    const db = client();
    const journal = db.journal({ path: join(dir, 'acks.db') });
    const seen: ClaimedSetpoint[] = [];
    const order: string[] = [];
    const sub = db.setpoints.subscribe(reactor.machineId, async (requests) => {
      seen.push(...requests);
      return requests.map((q) => ({ ok: true as const, appliedValue: q.value }));
    }, { journal, pollMs: 600_000 });
    sub.on('journaled', () => order.push('journaled'));
    sub.on('acked', () => order.push('acked'));
    await nextEvent(sub, 'connected');
    const acked = nextEvent(sub, 'acked');
    await uiWrite(t.id, t.value);
    const [acks, requests] = await acked;
    expect(requests.map((q: ClaimedSetpoint) => [q.parameter_id, q.value])).toEqual([[t.id, t.value]]);
    expect(acks).toEqual([{ request_id: requests[0].request_id, parameter_id: t.id, status: 'applied', replayed: false }]);
    // Journaled first, acknowledged by the journal's drain: never sent as a call of its own.
    expect(order).toEqual(['journaled', 'acked']);
    expect(db.stats().roundTrips.ack_setpoint_requests ?? 0).toBe(0);
    expect(db.stats().roundTrips.apply_journal).toBeGreaterThanOrEqual(1);
    expect(sub.stats).toMatchObject({ journaled: 1, acks: 1, applied: 1, skipped: 0 });
    expect(await requestOf(t.id)).toMatchObject({ status: 'applied', claim_count: 1, ack_ok: true, applied_value: t.value });
    expect(journal.state().pending.entries).toBe(0);

    // The same ack again (a batch resent after its reply was lost): replayed, nothing moves.
    const resent = nextEvent(journal, 'applied', (info: AppliedInfo) => info.kind === 'ack_setpoint_requests');
    journal.append('ack_setpoint_requests', { machine_id: reactor.machineId, request_ids: [requests[0].request_id], ok: [true], applied_values: [t.value], errors: [null] });
    const [info] = await resent;
    expect(info.result).toEqual([{ request_id: requests[0].request_id, parameter_id: t.id, status: 'applied', replayed: true }]);
    expect(await requestOf(t.id)).toMatchObject({ status: 'applied', applied_value: t.value });
    expect(seen).toHaveLength(1);
    await sub.close();
    journal.close();
  });

  it('killed between the journal and the drain: after the restart the ack drains once, before any claim, and the PLC is not written again', async () => {
    const t = await target(1);
    const path = join(dir, 'killed.db');
    const db1 = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), timeoutMs: 2000 });
    const journal1 = db1.journal({ path, retryBaseMs: 20, retryMaxMs: 100 });
    const firstDeliveries: string[] = [];
    const sub1 = db1.setpoints.subscribe(reactor.machineId, async (requests) => {
      firstDeliveries.push(...requests.map((q) => q.request_id));
      // The PLC is written; the database becomes unreachable before the ack can drain.
      proxy.setRefusing(true);
      proxy.resetAll();
      return requests.map(() => ({ ok: true as const }));
    }, { journal: journal1, pollMs: 600_000, claimTimeoutSeconds: 1 });
    await nextEvent(sub1, 'connected');
    const journaled = nextEvent(sub1, 'journaled');
    await uiWrite(t.id, t.value);
    await journaled;
    // The controller dies: the ack is on disk only.
    expect(journal1.state().pending.entries).toBe(1);
    await db1.close();
    const before = await requestOf(t.id);
    expect(before).toMatchObject({ status: 'claimed', claim_count: 1, acked_at: null, applied_value: null });
    // Its claim times out meanwhile: a claim now would deliver the request again.
    for (;;) {
      const [row] = await sql<{ expired: boolean }[]>`select claim_expires_at <= now() as expired from public.setpoint_requests where id = ${before.id}`;
      if (row.expired) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    proxy.setRefusing(false);

    // The restart: same journal file, a new subscription.
    const db2 = client();
    const journal2 = db2.journal({ path, retryBaseMs: 20, retryMaxMs: 100 });
    const applied: AppliedInfo[] = [];
    journal2.on('applied', (info) => applied.push(info));
    const secondDeliveries: string[] = [];
    const sub2 = db2.setpoints.subscribe(reactor.machineId, async (requests) => {
      secondDeliveries.push(...requests.map((q) => q.request_id));
      return requests.map(() => ({ ok: true as const }));
    }, { journal: journal2, pollMs: 600_000, claimTimeoutSeconds: 1 });
    const connected = nextEvent(sub2, 'connected');
    await journal2.flush({ timeoutMs: 20_000 });
    await connected;
    await sub2.idle();
    expect(sub2.stats.claims).toBeGreaterThanOrEqual(1);
    // Drained once, not replayed: the first time the database saw it.
    expect(applied.filter((a) => a.kind === 'ack_setpoint_requests').map((a) => a.result)).toEqual([
      [{ request_id: before.id, parameter_id: t.id, status: 'applied', replayed: false }],
    ]);
    // The claim came after the drain: the request was not delivered again (nor even claimed again).
    expect(secondDeliveries).toEqual([]);
    expect(sub2.stats).toMatchObject({ skipped: 0 });
    expect(firstDeliveries).toEqual([before.id]);
    expect(await requestOf(t.id)).toMatchObject({ status: 'applied', claim_count: 1, ack_ok: true, applied_value: t.value });
    expect(journal2.refusedEntries()).toEqual([]);
    await sub2.close();
  });

  it('refuses a journal that is not one, or closed', async () => {
    const db = client();
    expect(() => db.setpoints.subscribe(reactor.machineId, async () => [], { journal: {} as never })).toThrow(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    const journal = db.journal({ path: join(dir, 'closed-acks.db') });
    journal.close();
    expect(() => db.setpoints.subscribe(reactor.machineId, async () => [], { journal })).toThrow(expect.objectContaining({ code: 'ALD_CLOSED' }));
  });
});
