// docs/design.md §2: every controller step is exactly one round trip, a cached read is none.
// Counted at the transport (db.stats().roundTrips), at the HTTP endpoint (requests) for the
// supabase transport, and on the wire (PostgreSQL ReadyForQuery messages) through a TcpProxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, type AldDb } from '../../src/index.ts';
import type { PostgrestEndpoint } from '../../support/postgrest-endpoint.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import {
  TRANSPORTS, adminSql, clientFor, cloneReactor, databaseUrl, dropReactor, manualClock, nextEvent, startEndpoint, viaPort,
  type Reactor,
} from './support.ts';

let sql: postgres.Sql;
let reactor: Reactor;
let endpoint: PostgrestEndpoint;

beforeAll(async () => {
  sql = adminSql();
  reactor = await cloneReactor(sql, 'round trips');
  endpoint = await startEndpoint();
});

afterAll(async () => {
  await endpoint?.close();
  await dropReactor(sql, reactor);
  await sql.end();
});

/** The round trips `action` cost, per RPC, as the SDK counted them. */
async function cost(db: AldDb, action: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = db.stats().roundTrips;
  await action();
  const after = db.stats().roundTrips;
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));
}

async function addStartCommand(machineId: string, recipeId: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`insert into public.recipe_commands (machine_id, command_type, recipe_id)
    values (${machineId}, 'start_recipe', ${recipeId}) returning id`;
  return row.id;
}

describe.each(TRANSPORTS)('round trips per controller action (%s transport)', (transport) => {
  let db: AldDb;
  const clock = manualClock();

  beforeAll(async () => {
    db = clientFor(transport, endpoint, { now: clock.now });
    await db.ready();
  });

  afterAll(async () => {
    await db.close();
  });

  it('costs one per step, none per cached read, and the HTTP endpoint saw exactly as many requests', async () => {
    const requestsBefore = endpoint.requests;
    const readings = Object.fromEntries(reactor.parameterIds.map((id, i) => [id, i * 0.5]));
    const temperature = reactor.param('chamber_heater/temperature_set');

    expect(await cost(db, () => db.parameters.forMachine(reactor.machineId))).toEqual({ get_machine_parameters: 1 });
    if (transport === 'supabase') {
      // No LISTEN over HTTP: the first memory read takes the machine's epoch as a baseline and
      // refetches its rows once (they may predate that epoch). Later reads are free.
      expect(await cost(db, () => db.parameters.get(temperature))).toEqual({ get_parameter_epochs: 1, get_parameters: 1 });
    }
    expect(await cost(db, () => db.parameters.get(temperature))).toEqual({});
    expect(await cost(db, () => db.parameters.getMany(reactor.parameterIds.slice(0, 20)))).toEqual({});
    expect(await cost(db, () => db.parameters.set(reactor.param('carrier_gas_mfc/flow_rate_set'), 120))).toEqual({ set_parameter_value: 1 });

    expect(await cost(db, async () => expect(await db.commands.claimNext(reactor.machineId)).toBeNull())).toEqual({ claim_next_command: 1 });
    const commandId = await addStartCommand(reactor.machineId, reactor.recipeId);
    expect(await cost(db, () => db.commands.claimNext(reactor.machineId, 'round-trip test'))).toEqual({ claim_next_command: 1 });
    let plan!: Awaited<ReturnType<AldDb['process']['start']>>;
    expect(await cost(db, async () => (plan = await db.process.start({ machineId: reactor.machineId, commandId })))).toEqual({ start_process: 1 });
    const first = plan.steps[0];
    expect(await cost(db, () => db.process.advance({ processId: plan.process_id, stepId: first.id, stepIndex: 0 }))).toEqual({ advance_step: 1 });

    const recorder = db.processRecorder(plan.process_id);
    expect(await cost(db, async () => {
      const sent = nextEvent(recorder, 'sent');
      recorder.record(readings);
      await sent;
    })).toEqual({ record_process_data: 1 });
    await recorder.close();

    expect(await cost(db, () => db.process.complete({ processId: plan.process_id }))).toEqual({ complete_process: 1 });
    if (transport === 'supabase') {
      const sdkTotal = Object.values(db.stats().roundTrips).reduce((a, b) => a + b, 0);
      expect(endpoint.requests - requestsBefore).toBe(sdkTotal);
    }
  });
});

describe('round trips on the wire (direct transport through a TcpProxy)', () => {
  let proxy: TcpProxy;
  let db: AldDb;

  beforeAll(async () => {
    const target = new URL(databaseUrl());
    proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    await proxy.start();
    // Only the pool goes through the proxy: the LISTEN session's traffic is not a step's cost.
    db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), pool: { max: 1 } });
    await db.ready();
    // Open the pool's connection (startup and postgres.js's one-off type query) before counting.
    await db.parameters.forMachine(reactor.machineId);
  });

  afterAll(async () => {
    await db?.close();
    await proxy?.close();
  });

  /** ReadyForQuery messages (one per request/response exchange) that `action` cost. */
  async function wire(action: () => Promise<unknown>): Promise<number> {
    proxy.resetStats();
    await action();
    return proxy.stats().roundTrips;
  }

  it('counts one exchange per step and none per cached read, as the SDK counts them', async () => {
    const before = db.stats().roundTrips;
    const temperature = reactor.param('chamber_heater/temperature_set');
    expect(await wire(() => db.parameters.forMachine(reactor.machineId))).toBe(1);
    expect(await wire(() => db.parameters.get(temperature))).toBe(0);
    expect(await wire(() => db.parameters.getMany(reactor.parameterIds))).toBe(0);
    expect(await wire(() => db.parameters.set(reactor.param('carrier_gas_mfc/flow_rate_set'), 130))).toBe(1);
    expect(await wire(() => db.commands.claimNext(reactor.machineId))).toBe(1);
    const commandId = await addStartCommand(reactor.machineId, reactor.recipeId);
    expect(await wire(() => db.commands.claimNext(reactor.machineId))).toBe(1);
    let processId = '';
    let stepId = '';
    expect(await wire(async () => {
      const plan = await db.process.start({ machineId: reactor.machineId, commandId });
      processId = plan.process_id;
      stepId = plan.steps[0].id;
    })).toBe(1);
    expect(await wire(() => db.process.advance({ processId, stepId, stepIndex: 0 }))).toBe(1);
    const recorder = db.processRecorder(processId);
    expect(await wire(async () => {
      const sent = nextEvent(recorder, 'sent');
      recorder.record(Object.fromEntries(reactor.parameterIds.map((id) => [id, 1])));
      await sent;
    })).toBe(1);
    await recorder.close();
    expect(await wire(() => db.process.complete({ processId }))).toBe(1);

    const after = db.stats().roundTrips;
    const sdkCount = Object.entries(after).reduce((n, [k, v]) => n + v - (before[k] ?? 0), 0);
    expect(sdkCount).toBe(8);
  });
});
