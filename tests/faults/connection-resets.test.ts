// A connection reset at an exact point of each kind of call, through a TcpProxy between the SDK's
// pool and PostgreSQL (tests/faults/support.ts: FaultInjector):
//   request  the call never reaches the server;
//   reply    the server commits the call and the reply is lost.
// Either way the SDK retries with the same idempotency key, so what the database holds afterwards
// is exactly what one fault-free run would have written: every recorded key once, one audit row
// per logical setpoint write, one execution, one step execution per step_index.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, flattenPlan, type AldDb } from '../../src/index.ts';
import type { TcpProxy } from '../../support/tcp-proxy.ts';
import {
  FAULT_SIDES, FaultInjector, adminSql, dbNow, cloneReactor, compareStored, databaseUrl, dropReactor, errorsSince, pause, readingsOf,
  runRecord, startProxy, viaPort, type Reactor,
} from './support.ts';

let sql: postgres.Sql;

beforeAll(() => {
  sql = adminSql();
});

afterAll(async () => {
  await sql.end();
});

describe.each(FAULT_SIDES)('a connection reset at the %s of a call', (side) => {
  let reactor: Reactor;
  let proxy: TcpProxy;
  let faults: FaultInjector;
  let db: AldDb;

  beforeAll(async () => {
    reactor = await cloneReactor(sql, `faults ${side}`);
    proxy = await startProxy();
    faults = new FaultInjector(proxy);
    // One pooled connection through the proxy, nothing else on it: each armed fault hits the
    // call it was armed for. The LISTEN session goes straight to the server.
    db = createAldDb({
      databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), pool: { max: 1 },
      timeoutMs: 5000, cache: { hotRefreshMs: 0 },
    });
    await db.ready();
    await db.parameters.forMachine(reactor.machineId); // the pool's connection is open
  });

  afterAll(async () => {
    faults?.detach();
    await db?.close();
    await proxy?.close();
    await dropReactor(sql, reactor);
  });

  it('stores every recorded row exactly once when record_process_data calls are cut', async () => {
    const plan = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    onTestFinished(() => sql`update public.process_executions set status = 'aborted', ended_at = now() where id = ${plan.process_id} and status = 'running'`
      .then(() => sql`update public.machines set status = 'idle', current_process_id = null where id = ${reactor.machineId}`).then(() => {}));
    const recorder = db.processRecorder(plan.process_id, { retryBaseMs: 50, retryMaxMs: 200 });
    const sent: { rows: number; inserted: number }[] = [];
    recorder.on('sent', (info) => sent.push(info));
    const errorsBefore = db.stats().errors;
    const TICKS = 24;
    const FAULT_AT = new Set([2, 9, 16]);
    const stamps: Date[] = [];
    const start = Date.parse(plan.started_at) + 1;
    for (let tick = 0; tick < TICKS; tick++) {
      if (FAULT_AT.has(tick)) void faults.arm(side);
      stamps.push(new Date(start + tick * 100));
      recorder.record(readingsOf(reactor.parameterIds, tick), stamps[tick]);
      await pause(20);
    }
    await recorder.flush({ timeoutMs: 20_000 });
    expect(faults.pending).toBe(0);

    const result = await compareStored(sql, plan.process_id, reactor.parameterIds, stamps);
    expect(result).toEqual({ expected: TICKS * 137, stored: TICKS * 137, lost: 0, unexpected: 0, duplicated: 0, wrongValue: 0 });
    expect(recorder).toMatchObject({ sent: TICKS * 137, dropped: 0, buffered: 0 });
    expect(recorder.retried).toBeGreaterThanOrEqual(FAULT_AT.size);
    // Each tick acknowledged once...
    const rows = sent.reduce((n, s) => n + s.rows, 0);
    const inserted = sent.reduce((n, s) => n + s.inserted, 0);
    expect(rows).toBe(TICKS * 137);
    if (side === 'request') {
      // ...and the server never saw a cut call: every acknowledged call inserted all its rows.
      expect(inserted).toBe(rows);
    } else {
      // ...and the server had stored each cut call: its retry found those rows and skipped them.
      expect(rows - inserted).toBeGreaterThanOrEqual(FAULT_AT.size * 137);
    }
    // Connection errors only: no call hung until its timeout, none failed for another reason.
    expect(Object.keys(errorsSince(db, errorsBefore))).toEqual(['ALD_CONNECTION']);
    await recorder.close();
    await db.process.complete({ processId: plan.process_id, status: 'aborted' });
  });

  it('writes each setpoint exactly once when set_parameter_value calls are cut', async () => {
    const id = reactor.param('carrier_gas_mfc/flow_rate_set');
    const initial = await db.parameters.get(id);
    const errorsBefore = db.stats().errors;
    const retriesBefore = db.stats().retries;
    const values = [101, 102, 103, 104];
    for (const [k, value] of values.entries()) {
      const fault = faults.arm(side);
      // The last write states the version it expects: a retry of a committed write must replay,
      // not fail with 40001 because the first attempt already moved the version.
      const options = k === values.length - 1 ? { expectedVersion: initial.version + k } : {};
      const row = await db.parameters.set(id, value, options);
      await fault;
      expect(row).toMatchObject({ id, set_value: value, version: initial.version + k + 1 });
    }
    expect(faults.fired).toBeGreaterThanOrEqual(values.length);

    const audit = await sql<{ new_value: number; new_version: number; request_id: string }[]>`
      select new_value, new_version::int, request_id from public.parameter_changes
      where parameter_id = ${id} and new_version > ${initial.version} order by new_version`;
    expect(audit.map((a) => [a.new_value, a.new_version])).toEqual(values.map((v, k) => [v, initial.version + k + 1]));
    expect(new Set(audit.map((a) => a.request_id)).size).toBe(values.length);
    const [stored] = await sql<{ version: number; set_value: number }[]>`select version::int, set_value from public.component_parameters where id = ${id}`;
    expect(stored).toEqual({ version: initial.version + values.length, set_value: values.at(-1) });
    // Read-your-writes survived the faults: the cache holds the last write.
    expect(await db.parameters.get(id)).toMatchObject({ version: initial.version + values.length, set_value: values.at(-1) });
    expect(db.stats().retries - retriesBefore).toBeGreaterThanOrEqual(values.length);
    expect(Object.keys(errorsSince(db, errorsBefore))).toEqual(['ALD_CONNECTION']);
  });

  it('starts, advances and completes a run exactly once when start, advance and complete calls are cut', async () => {
    const temperature = reactor.param('chamber_heater/temperature_set');
    // A known setpoint, so both parameter steps of the recipe (200, then 150) change it.
    await sql`update public.component_parameters set set_value = 25 where id = ${temperature}`;
    const [{ version: v0 }] = await sql<{ version: number }[]>`select version::int from public.component_parameters where id = ${temperature}`;
    const since = await dbNow(sql);
    const errorsBefore = db.stats().errors;
    const replayedIfCommitted = side === 'reply';

    let fault = faults.arm(side);
    const plan = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    await fault;
    expect(plan).toMatchObject({ status: 'running', replayed: replayedIfCommitted, total_steps: 45 });

    const steps = flattenPlan(plan);
    // Both parameter steps (the first and the last) and a few others: valve, purge, loop steps.
    const cut = (i: number) => steps[i].step.step_type === 'parameter' || i % 11 === 2;
    let faulted = 0;
    for (const s of steps) {
      const hit = cut(s.step_index);
      fault = hit ? faults.arm(side) : Promise.resolve();
      const reply = await db.process.advance({ processId: plan.process_id, stepId: s.step_id, stepIndex: s.step_index, loopIteration: s.loop_iteration });
      await fault;
      if (hit) faulted++;
      expect(reply).toMatchObject({ step_index: s.step_index, step_id: s.step_id, replayed: hit && replayedIfCommitted });
      if (s.step.step_type === 'parameter') {
        const target = s.step.config as { value: number };
        expect(reply.parameter).toMatchObject({ id: temperature, set_value: target.value });
      }
    }
    expect(faulted).toBe(6);
    fault = faults.arm(side);
    const closed = await db.process.advance({ processId: plan.process_id, stepId: null });
    await fault;
    expect(closed.completed_steps).toBe(45);
    fault = faults.arm(side);
    const summary = await db.process.complete({ processId: plan.process_id });
    await fault;
    expect(summary).toMatchObject({ status: 'completed', completed_steps: 45, total_steps: 45, replayed: replayedIfCommitted });

    const run = await runRecord(sql, reactor.machineId, since);
    expect(run.executions).toEqual([{ id: plan.process_id, status: 'completed' }]);
    expect(run.steps).toEqual({ rows: 45, indexes: 45, open: 0 });
    // Two parameter steps, one audit row each, and the setpoint moved twice: 25 -> 200 -> 150.
    expect(run.setpoints.map((s) => s.n)).toEqual([1, 1]);
    const [after] = await sql<{ version: number; set_value: number }[]>`select version::int, set_value from public.component_parameters where id = ${temperature}`;
    expect(after).toEqual({ version: v0 + 2, set_value: 150 });
    const [machine] = await sql<{ status: string; current_process_id: string | null }[]>`
      select status::text, current_process_id from public.machines where id = ${reactor.machineId}`;
    expect(machine).toEqual({ status: 'idle', current_process_id: null });
    expect(Object.keys(errorsSince(db, errorsBefore))).toEqual(['ALD_CONNECTION']);
  });

  it('keeps serving the same client afterwards: a plain call costs one round trip and no retry', async () => {
    const before = db.stats();
    const rows = await db.parameters.forMachine(reactor.machineId);
    expect(rows).toHaveLength(137);
    const after = db.stats();
    expect(after.retries).toBe(before.retries);
    expect(after.roundTrips.get_machine_parameters - before.roundTrips.get_machine_parameters).toBe(1);
    expect(after.pool).toMatchObject({ inUse: 0, waiting: 0 });
  });
});
