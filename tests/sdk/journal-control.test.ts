// Run control of a journaled run (issue 16): an operator's pause, resume and stop reach the
// journaled loop through background claims and are applied between two steps; their server side
// (apply_run_command) is journaled, so it drains after the steps before it. Real database; the
// operator issues commands through the SDK (issue_run_command), as the dashboard does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, type AldDb, type AldDbError, type Command, type RunControl, type RunControlState } from '../../src/index.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { adminSql, cloneReactor, databaseUrl, dropReactor, nextEvent, viaPort, type Reactor } from './support.ts';

let sql: postgres.Sql;
let dir: string;
let proxy: TcpProxy;
let reactor: Reactor;
let db: AldDb;
let operator: AldDb;

beforeAll(async () => {
  sql = adminSql();
  dir = mkdtempSync(join(tmpdir(), 'ald-journal-control-'));
  const target = new URL(databaseUrl());
  proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  await proxy.start();
  reactor = await cloneReactor(sql, 'journaled run control');
  db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), timeoutMs: 3000 });
  operator = createAldDb({ databaseUrl: databaseUrl() });
});

afterAll(async () => {
  await db?.close();
  await operator?.close();
  await proxy?.close();
  await dropReactor(sql, reactor);
  await sql?.end();
  rmSync(dir, { recursive: true, force: true });
});

async function server(processId: string) {
  const steps = await sql<{ step_index: number; status: string }[]>`
    select step_index, status::text from public.step_executions where process_id = ${processId} order by started_at, step_index`;
  const [run] = await sql<{ status: string; error_message: string | null; machine: string }[]>`
    select e.status::text, e.error_message, m.status::text as machine from public.process_executions e
    join public.machines m on m.id = e.machine_id where e.id = ${processId}`;
  return { steps, ...run };
}

async function commandStatus(id: string) {
  const [c] = await sql<{ status: string; error_message: string | null }[]>`select status::text, error_message from public.recipe_commands where id = ${id}`;
  return c;
}

const applied = (control: RunControl, state: RunControlState) =>
  nextEvent(control, 'applied', (_c: Command, s: RunControlState) => s === state, 15_000);

describe('run control of a journaled run', () => {
  it('pause mid-run: the journaled run waits between two steps, carries on after the resume, and the server ends completed with the steps in order', async () => {
    const journal = db.journal({ path: join(dir, 'pause.db'), retryBaseMs: 20, retryMaxMs: 100 });
    const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const control = run.control({ claimedBy: 'vitest', pollMs: 50 });
    const log: string[] = [];
    const pausedAt = 10;
    let pauseId = '';
    let resumeId = '';
    // The operator: pauses after step 10 was journaled; resumes once the server shows the run paused.
    const operatorSide = (async () => {
      await applied(control, 'paused');
      log.push('paused locally');
      await journal.flush({ timeoutMs: 20_000 });
      const s = await server(run.processId);
      expect(s.status).toBe('paused');
      // Every step journaled before the pause reached the server before it, none after.
      expect(s.steps.map((x) => x.step_index)).toEqual(Array.from({ length: pausedAt + 1 }, (_, i) => i));
      log.push('resume issued');
      resumeId = (await operator.commands.resume(reactor.machineId)).id;
    })();
    // The first steps run while the database is unreachable: between() never waits for the network.
    proxy.setRefusing(true);
    proxy.resetAll();
    for (let step = run.next(); step; step = run.next()) {
      if (step.step_index === 5) proxy.setRefusing(false);
      if (!(await control.between())) break;
      run.advance();
      log.push(`step ${step.step_index}`);
      if (step.step_index === pausedAt) {
        const claimed = nextEvent(control, 'claimed', () => true, 15_000);
        pauseId = (await operator.commands.pause(reactor.machineId, { reason: 'vitest pause' })).id;
        await claimed;
      }
    }
    run.complete();
    await operatorSide;
    await journal.flush({ timeoutMs: 20_000 });
    // The loop stood still from the pause until the resume was issued, then ran the rest.
    const at = (entry: string) => log.indexOf(entry);
    expect(at('paused locally')).toBe(at(`step ${pausedAt}`) + 1);
    expect(at('resume issued')).toBe(at('paused locally') + 1);
    expect(at(`step ${pausedAt + 1}`)).toBe(at('resume issued') + 1);
    const s = await server(run.processId);
    expect(s.status).toBe('completed');
    expect(s.machine).toBe('idle');
    expect(s.steps.map((x) => x.step_index)).toEqual(Array.from({ length: 45 }, (_, i) => i));
    expect(s.steps.every((x) => x.status === 'completed')).toBe(true);
    expect(await commandStatus(pauseId)).toMatchObject({ status: 'completed' });
    expect(await commandStatus(resumeId)).toMatchObject({ status: 'completed' });
    expect(journal.refusedEntries()).toEqual([]);
    expect(control.stats).toMatchObject({ applied: 2, failed: 0 });
    journal.close();
  });

  it('stop mid-run: the run ends aborted on the server, no step after the stop', async () => {
    const journal = db.journal({ path: join(dir, 'stop.db'), retryBaseMs: 20, retryMaxMs: 100 });
    const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const control = run.control({ pollMs: 50 });
    let stopId = '';
    let ran = 0;
    for (let step = run.next(); step; step = run.next()) {
      if (!(await control.between())) break;
      run.advance();
      ran++;
      if (step.step_index === 6) {
        const claimed = nextEvent(control, 'claimed', () => true, 15_000);
        stopId = (await operator.commands.stop(reactor.machineId, { reason: 'vitest stop' })).id;
        await claimed;
      }
    }
    expect(ran).toBe(7);
    expect(run.completed).toBe('aborted');
    expect(run.next()).toBeNull();
    expect(() => run.advance()).toThrow(expect.objectContaining({ code: '55000' }));
    await journal.flush({ timeoutMs: 20_000 });
    const s = await server(run.processId);
    expect(s).toMatchObject({ status: 'aborted', error_message: 'vitest stop', machine: 'idle' });
    expect(s.steps.map((x) => x.step_index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await commandStatus(stopId)).toMatchObject({ status: 'completed' });
    expect(journal.refusedEntries()).toEqual([]);
    // The journal is free for the next run.
    expect(journal.state().run).toMatchObject({ completed: 'aborted', paused: false });
    journal.close();
  });

  it('fails what it cannot honour: another command ("not while a recipe runs"), a resume of a running run', async () => {
    const journal = db.journal({ path: join(dir, 'fail.db'), retryBaseMs: 20, retryMaxMs: 100 });
    const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const control = run.control({ pollMs: 50 });
    run.advance();
    const [other] = await sql<{ id: string }[]>`
      insert into public.recipe_commands (machine_id, command_type) values (${reactor.machineId}, 'set_parameter') returning id`;
    const failed = await nextEvent(control, 'failed', () => true, 15_000);
    expect(failed[0].id).toBe(other.id);
    expect(await commandStatus(other.id)).toEqual({ status: 'failed', error_message: 'not while a recipe runs' });

    // The server accepts a pause and then a second pause (it is still running there): locally the
    // first is applied, the second refused as apply_run_command would, and failed.
    const first = await operator.commands.pause(reactor.machineId);
    const second = await operator.commands.pause(reactor.machineId);
    while (control.stats.claimed < 3) await nextEvent(control, 'claimed', () => true, 15_000);
    const secondFailed = nextEvent(control, 'failed', (c: Command) => c.id === second.id, 15_000);
    const waiting = control.between(); // applies the first pause, then waits for a resume
    const [, reason] = await secondFailed;
    expect(reason).toBe('run is already paused');
    expect(run.paused).toBe(true);
    expect(() => run.advance()).toThrow(expect.objectContaining({ code: '55000' }));
    // Ended while paused: between() gives up, the run is completed (aborted) on the server.
    run.abort('operator went home');
    expect(await waiting).toBe(false);
    await journal.flush({ timeoutMs: 20_000 });
    expect(await commandStatus(first.id)).toMatchObject({ status: 'completed' });
    expect(await commandStatus(second.id)).toEqual({ status: 'failed', error_message: 'run is already paused' });
    expect((await server(run.processId)).status).toBe('aborted');
    journal.close();
  });

  it('a controller restarted while paused knows it is paused, and waits for the resume', async () => {
    const path = join(dir, 'restart-paused.db');
    let journal = db.journal({ path, retryBaseMs: 20, retryMaxMs: 100 });
    const first = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const control = first.control({ pollMs: 50 });
    first.advance();
    first.advance();
    await operator.commands.pause(reactor.machineId);
    await nextEvent(control, 'claimed', () => true, 15_000);
    const waiting = control.between();
    await journal.flush({ timeoutMs: 20_000 });
    journal.close(); // the controller dies while paused
    expect(await waiting).toBe(false);

    journal = db.journal({ path, retryBaseMs: 20, retryMaxMs: 100 });
    const run = journal.current()!;
    expect(run.state()).toMatchObject({ processId: first.processId, stepIndex: 1, completed: null, paused: true });
    const resumed = run.control({ pollMs: 50 });
    const going = resumed.between();
    const errors: AldDbError[] = [];
    resumed.on('error', (e) => errors.push(e));
    await operator.commands.resume(reactor.machineId);
    expect(await going).toBe(true);
    for (let step = run.next(); step; step = run.next()) {
      if (!(await resumed.between())) break;
      run.advance();
    }
    run.complete();
    await journal.flush({ timeoutMs: 20_000 });
    const s = await server(run.processId);
    expect(s.status).toBe('completed');
    expect(s.steps.map((x) => x.step_index)).toEqual(Array.from({ length: 45 }, (_, i) => i));
    expect(errors).toEqual([]);
    journal.close();
  });
});
