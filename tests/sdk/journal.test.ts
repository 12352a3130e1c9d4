// The durable journal (src/sdk/journal.ts): steps and ticks go to local disk first and reach the
// database afterwards, in order, exactly once. Every assertion is about what the database (or the
// journal file) holds, or about counted round trips.
import { copyFileSync, mkdtempSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { AldDbError, createAldDb, type AldDb } from '../../src/index.ts';
import { JournalStore } from '../../src/sdk/journal-store.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { adminSql, cloneReactor, databaseUrl, dropReactor, viaPort, type Reactor } from './support.ts';

let sql: postgres.Sql;
let dir: string;
let proxy: TcpProxy;

beforeAll(async () => {
  sql = adminSql();
  dir = mkdtempSync(join(tmpdir(), 'ald-journal-'));
  const target = new URL(databaseUrl());
  proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  await proxy.start();
});

afterAll(async () => {
  await proxy?.close();
  await sql?.end();
  rmSync(dir, { recursive: true, force: true });
});

const client = (): AldDb => createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), timeoutMs: 3000 });

async function stored(processId: string) {
  const [steps] = await sql<{ n: number; distinct: number; max: number | null }[]>`
    select count(*)::int as n, count(distinct step_index)::int as distinct, max(step_index) as max
    from public.step_executions where process_id = ${processId}`;
  const [points] = await sql<{ n: number; keys: number; stamps: number }[]>`
    select count(*)::int as n, count(distinct (parameter_id, ts))::int as keys, count(distinct ts)::int as stamps
    from public.process_data_points where process_id = ${processId}`;
  const [run] = await sql<{ status: string }[]>`select status::text from public.process_executions where id = ${processId}`;
  return { steps, points, status: run.status };
}

describe('a journaled run', () => {
  let reactor: Reactor;
  let db: AldDb;

  beforeAll(async () => {
    reactor = await cloneReactor(sql, 'journal');
    db = client();
  });
  afterAll(async () => {
    await db?.close();
    await dropReactor(sql, reactor);
  });

  it('runs every step with no round trip of its own; the drain stores everything exactly once', async () => {
    const journal = db.journal({ path: join(dir, 'run.db') });
    const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const before = db.stats().roundTrips;
    const t0 = Date.parse(run.plan.started_at) + 1;
    // Steps and ticks journaled back to back, synchronously: nothing can have been awaited.
    let ticks = 0;
    for (const step of run.steps) {
      run.record(Object.fromEntries(reactor.parameterIds.slice(0, 10).map((id, j) => [id, step.step_index + j])), new Date(t0 + step.step_index));
      ticks++;
      const reply = run.advance();
      expect(reply.step_index).toBe(step.step_index);
    }
    run.complete();
    // advance/record/complete are synchronous: no RPC was even started while they ran.
    expect(db.stats().roundTrips).toEqual(before);
    await journal.flush({ timeoutMs: 20_000 });
    const after = db.stats().roundTrips;
    expect(after.advance_step ?? 0).toBe(0);
    // The whole run drained in fewer calls than it has entries: batched.
    expect(after.apply_journal).toBeLessThan(run.steps.length + ticks + 1);
    const s = await stored(run.processId);
    expect(s.steps).toEqual({ n: run.plan.total_steps, distinct: run.plan.total_steps, max: run.plan.total_steps - 1 });
    expect(s.points).toEqual({ n: ticks * 10, keys: ticks * 10, stamps: ticks });
    expect(s.status).toBe('completed');
    expect(journal.state()).toMatchObject({ pending: { entries: 0, rows: 0, bytes: 0 }, refused: 0, run: { completed: 'completed' } });
    journal.close();
  });

  it('drains a run\'s ticks as record_readings with its process; ticks journaled without their machine (older SDKs) as keyed rows', async () => {
    const journal = db.journal({ path: join(dir, 'tick-forms.db') });
    const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const t0 = Date.parse(run.plan.started_at) + 1;
    const ids = reactor.parameterIds.slice(0, 5);
    const drained: string[] = [];
    journal.on('applied', (info) => drained.push(info.kind));
    for (let i = 0; i < 3; i++) run.record(Object.fromEntries(ids.map((id, j) => [id, i * 10 + j])), new Date(t0 + i));
    // a tick naming a parameter twice: its first reading is kept (as record_process_data kept it), nothing refused
    run.record([...ids.map((id, j) => ({ parameterId: id, value: 5 * 10 + j })), { parameterId: ids[0], value: -1 }], new Date(t0 + 5));
    // as a journal file written before run ticks carried their machine holds them
    for (let i = 3; i < 5; i++) {
      journal.append('record_process_data', {
        process_id: run.processId, ts: new Date(t0 + i).toISOString(), ids, values: ids.map((_, j) => i * 10 + j), setPoints: null,
      }, ids.length);
    }
    const before = db.stats().roundTrips.apply_journal ?? 0;
    await journal.flush({ timeoutMs: 20_000 });
    // both forms in one batch: one round trip
    expect((db.stats().roundTrips.apply_journal ?? 0) - before).toBe(1);
    expect(drained).toEqual(['record_process_data', 'record_process_data']);
    const s = await stored(run.processId);
    expect(s.points).toEqual({ n: 6 * 5, keys: 6 * 5, stamps: 6 });
    const [v] = await sql<{ value: number }[]>`
      select value from public.process_data_points where process_id = ${run.processId} and parameter_id = ${ids[4]} and ts = ${new Date(t0 + 4)}`;
    expect(v.value).toBe(44);
    const [first] = await sql<{ value: number }[]>`
      select value from public.process_data_points where process_id = ${run.processId} and parameter_id = ${ids[0]} and ts = ${new Date(t0 + 5)}`;
    expect(first.value).toBe(50);
    expect(journal.state().refused).toBe(0);
    run.complete();
    await journal.flush({ timeoutMs: 20_000 });
    journal.close();
  });

  it('refuses locally, with the server\'s SQLSTATE and nothing journaled, what advance_step would refuse', async () => {
    // The recipe's first step sets the chamber to 200 °C: lower its maximum before the start.
    const chamber = reactor.param('chamber_heater/temperature_set');
    await sql`update public.component_parameters set max_value = 100, set_value = 50 where id = ${chamber}`;
    const journal = db.journal({ path: join(dir, 'refusals.db') });
    try {
      const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
      const pending = () => journal.state().pending.entries;
      const codeOf = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return (e as AldDbError).code;
        }
        return 'no error';
      };
      expect(codeOf(() => run.advance())).toBe('22003');
      expect(pending()).toBe(0);
      expect(codeOf(() => run.advance({ stepIndex: 45 }))).toBe('22023');
      expect(codeOf(() => run.advance({ stepIndex: -1 }))).toBe('22023');
      expect(codeOf(() => run.advance({ stepIndex: 1, previousStatus: 'running' as never }))).toBe('22023');
      expect(codeOf(() => run.advance({ stepIndex: 1.5 }))).toBe('ALD_INVALID_ARGUMENT');
      run.advance({ stepIndex: 1 }); // skipping the refused step is the controller's choice
      expect(codeOf(() => run.advance({ stepIndex: 1 }))).toBe('22023'); // must increase
      expect(pending()).toBe(1);
      run.abort('test');
      expect(codeOf(() => run.advance())).toBe('55000');
      expect(codeOf(() => run.complete())).toBe('55000');
      expect(codeOf(() => run.record({ [reactor.parameterIds[0]]: 1 }))).toBe('55000');
      await journal.flush({ timeoutMs: 20_000 });
      const s = await stored(run.processId);
      expect(s.steps.n).toBe(1);
      expect(s.status).toBe('aborted');
    } finally {
      await sql`update public.component_parameters set max_value = null where id = ${chamber}`;
      journal.close();
    }
  });

  it('reports a refusal of the database as an event naming its step, and keeps draining', async () => {
    const journal = db.journal({ path: join(dir, 'server-refusal.db') });
    const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    run.advance();
    await journal.flush({ timeoutMs: 20_000 });
    // An operator aborts the run from the dashboard; the controller, offline-capable, goes on.
    await sql`select public.complete_process(${run.processId}, 'aborted', 'stopped by operator')`;
    const refused: { code: string; stepIndex: number | null }[] = [];
    journal.on('refused', (error, info) => refused.push({ code: String(error.code), stepIndex: info.stepIndex }));
    run.advance();
    run.advance();
    await journal.flush({ timeoutMs: 20_000 });
    expect(refused).toEqual([{ code: '55000', stepIndex: 1 }, { code: '55000', stepIndex: 2 }]);
    expect(journal.refusedEntries().map((e) => [e.kind, e.code])).toEqual([['advance_step', '55000'], ['advance_step', '55000']]);
    expect(journal.state().pending.entries).toBe(0);
    journal.close();
  });

  it('after a restart on the same journal: knows its run and drains exactly once', async () => {
    const path = join(dir, 'restart.db');
    let journal = db.journal({ path, retryBaseMs: 20, retryMaxMs: 100 });
    const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const t0 = Date.parse(run.plan.started_at) + 1;
    // The database goes away; the controller goes on, then closes (a restart).
    proxy.setRefusing(true);
    proxy.resetAll();
    for (let i = 0; i < 10; i++) {
      run.record({ [reactor.parameterIds[0]]: i }, new Date(t0 + i));
      run.advance();
    }
    journal.close();
    proxy.setRefusing(false);

    journal = db.journal({ path });
    const resumed = journal.current();
    expect(resumed?.state()).toEqual({ processId: run.processId, machineId: reactor.machineId, totalSteps: 45, stepIndex: 9, completed: null, paused: false });
    expect(resumed?.next()?.step_index).toBe(10);
    resumed!.abort('controller restarted');
    await journal.flush({ timeoutMs: 20_000 });
    const s = await stored(run.processId);
    expect(s.steps).toEqual({ n: 10, distinct: 10, max: 9 });
    expect(s.points).toEqual({ n: 10, keys: 10, stamps: 10 });
    expect(s.status).toBe('aborted');
    journal.close();
  });

  it('bounded by disk: past maxPendingBytes ticks raise the alarm, steps are still journaled', async () => {
    const journal = db.journal({ path: join(dir, 'full.db'), maxPendingBytes: 20_000, retryBaseMs: 20, retryMaxMs: 100 });
    const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const alarms: string[] = [];
    journal.on('full', (error) => alarms.push(String(error.code)));
    proxy.setRefusing(true);
    proxy.resetAll();
    const readings = Object.fromEntries(reactor.parameterIds.map((id) => [id, 1]));
    const t0 = Date.parse(run.plan.started_at) + 1;
    const accepted = Array.from({ length: 10 }, (_, i) => run.record(readings, new Date(t0 + i)));
    expect(accepted.filter(Boolean).length).toBeLessThan(10);
    expect(alarms.length).toBe(accepted.filter((a) => !a).length);
    expect(alarms[0]).toBe('ALD_JOURNAL_FULL');
    run.advance();
    run.complete();
    proxy.setRefusing(false);
    await journal.flush({ timeoutMs: 20_000 });
    const s = await stored(run.processId);
    expect(s.points.stamps).toBe(accepted.filter(Boolean).length);
    expect(s.steps.n).toBe(1);
    expect(journal.droppedRows).toBe(accepted.filter((a) => !a).length * reactor.parameterIds.length);
    journal.close();
  });

  it('refuses bad options and use after close', () => {
    expect(() => db.journal({ path: '' })).toThrow(/path/);
    expect(() => db.journal(null as never)).toThrow(/options object/);
    expect(() => db.journal({ path: join(dir, 'x.db'), maxPendingBytes: -1 })).toThrow(/maxPendingBytes/);
    const journal = db.journal({ path: join(dir, 'closed.db') });
    journal.close();
    expect(() => journal.append('advance_step', {})).toThrow(expect.objectContaining({ code: 'ALD_CLOSED' }));
  });
});

describe('a journal file cut mid-record (power loss)', () => {
  it('reopens at the last whole record and reports what was cut', () => {
    const live = join(dir, 'torn-live.db');
    const store = new JournalStore(live);
    for (let i = 1; i <= 20; i++) store.append('advance_step', { step_index: i, pad: 'x'.repeat(100) }, 0);
    // What the disk holds at this instant (the file is still open, the WAL not checkpointed)...
    const copy = join(dir, 'torn.db');
    copyFileSync(live, copy);
    copyFileSync(`${live}-wal`, `${copy}-wal`);
    store.close();
    // ...with the last write cut in the middle of its last page.
    const walSize = statSync(`${copy}-wal`).size;
    truncateSync(`${copy}-wal`, walSize - 1000);
    const reopened = new JournalStore(copy);
    try {
      expect(reopened.recovery).not.toBeNull();
      expect(reopened.recovery!.partialFrameBytes).toBeGreaterThan(0);
      expect(reopened.recovery!.tornBytes).toBeGreaterThan(0);
      const seqs = reopened.head(100).map((e) => e.seq);
      // Every record before the cut, whole and in order; the cut one is gone.
      expect(seqs).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
      expect(reopened.head(100).map((e) => e.args.step_index)).toEqual(seqs);
      expect(reopened.recovery!.lastSeq).toBe(19);
    } finally {
      reopened.close();
    }
    // A journal closed cleanly reports nothing.
    const clean = new JournalStore(live);
    expect(clean.recovery).toBeNull();
    expect(clean.pendingEntries).toBe(20);
    clean.close();
  });
});
