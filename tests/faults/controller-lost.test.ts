// Issue 13: a controller killed mid-run (SIGKILL, no goodbye). Once it has been silent past its
// timeout, one run of the dead-controller job (private.reap_dead_controllers, what pg_cron runs
// every 10 s where it is available; the test is the scheduler here) fails its run with
// "controller lost", puts the machine in error with the reason, and a new controller takes the
// machine over without takeover and runs a recipe to the end. Also: a claim whose reply is lost on
// the wire (the connection reset after the commit) is retried with its claim key and returns the
// same command; nothing else is claimed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAldDb, flattenPlan, type AldDb } from '../../src/index.ts';
import type { TcpProxy } from '../../support/tcp-proxy.ts';
import {
  FaultInjector, adminSql, cloneReactor, databaseUrl, dropReactor, startProxy, until, viaPort, type Reactor,
} from './support.ts';

const sql = adminSql();
const TIMEOUT_MS = 2000;
afterAll(async () => {
  await sql.end();
});

function startChild(reactor: Reactor): { child: ChildProcess; events: Record<string, unknown>[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./controller-child.ts', import.meta.url))], {
    env: {
      ...process.env, TEST_DATABASE_URL: databaseUrl(), MACHINE_ID: reactor.machineId, RECIPE_ID: reactor.recipeId,
      CONTROLLER_TIMEOUT_MS: String(TIMEOUT_MS), STEP_PAUSE_MS: '20',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => events.push(JSON.parse(line) as Record<string, unknown>));
  return { child, events };
}

describe('a controller killed mid-run', () => {
  let reactor: Reactor;
  let child: ChildProcess | undefined;
  let db: AldDb;

  beforeAll(async () => {
    reactor = await cloneReactor(sql, 'controller lost');
    db = createAldDb({ databaseUrl: databaseUrl() });
    await db.ready();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await db?.close();
    await dropReactor(sql, reactor);
  });

  it('is declared dead by the job once silent past its timeout: run failed, machine in error, a new controller takes over', async () => {
    const started = startChild(reactor);
    child = started.child;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    await until('the child controller ran three steps', () => started.events.some((e) => e.step === 2), 60_000);
    child.kill('SIGKILL');
    await exited;
    const controllerId = started.events.find((e) => e.controller)!.controller as string;
    const processId = started.events.find((e) => e.process)!.process as string;
    const stepsDone = started.events.filter((e) => typeof e.step === 'number').length;
    expect(stepsDone).toBeLessThan(started.events.find((e) => e.process)!.total as number);

    // Still alive for the job while within its timeout of its last call.
    const [k] = await sql`select status::text, last_seen_at, timeout_ms from public.controllers where id = ${controllerId}`;
    expect(k.status).toBe('alive');
    const [early] = await sql`select private.reap_dead_controllers(${k.last_seen_at}::timestamptz + interval '1 millisecond' * (${k.timeout_ms} - 1)) as r`;
    expect(early.r).toMatchObject({ controllers_dead: 0, runs_failed: 0 });
    const [running] = await sql`select status::text from public.process_executions where id = ${processId}`;
    expect(running.status).toBe('running');

    // The silence passes; one run of the job.
    await until('the controller is silent past its timeout', async () =>
      (await sql`select now() > last_seen_at + timeout_ms * interval '1 millisecond' as silent from public.controllers where id = ${controllerId}`)[0].silent as boolean,
    TIMEOUT_MS * 10);
    const [job] = await sql`select private.reap_dead_controllers() as r`;
    expect(job.r).toMatchObject({ controllers_dead: 1, runs_failed: 1 });

    const [dead] = await sql`select status::text, ended_reason from public.controllers where id = ${controllerId}`;
    expect(dead.status).toBe('dead');
    expect(dead.ended_reason).toMatch(/^controller lost: controller .* silent since/);
    const [run] = await sql`select status::text, error_message from public.process_executions where id = ${processId}`;
    expect(run).toEqual({ status: 'failed', error_message: 'controller lost' });
    const [machine] = await sql`select status::text, status_reason, current_process_id from public.machines where id = ${reactor.machineId}`;
    expect(machine.status).toBe('error');
    expect(machine.status_reason).toMatch(/^controller lost: /);
    expect(machine.current_process_id).toBeNull();
    const [open] = await sql`select count(*)::int as n from public.step_executions where process_id = ${processId} and status = 'running'`;
    expect(open.n).toBe(0);

    // A new controller: no takeover needed, the machine is idle again, and a run goes to the end.
    const next = await db.controllers.register({ machineId: reactor.machineId, host: 'successor' });
    expect(next.status).toBe('alive');
    const [after] = await sql`select status::text, status_reason from public.machines where id = ${reactor.machineId}`;
    expect(after).toEqual({ status: 'idle', status_reason: null });
    const plan = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    for (const s of flattenPlan(plan)) {
      await db.process.advance({ processId: plan.process_id, stepId: s.step_id, stepIndex: s.step_index, loopIteration: s.loop_iteration });
    }
    expect((await db.process.complete({ processId: plan.process_id })).status).toBe('completed');
    await expect(db.controllers.heartbeat(controllerId)).rejects.toMatchObject({ code: 'RC005' });
  });
});

describe('a claim whose reply is lost', () => {
  let reactor: Reactor;
  let proxy: TcpProxy;
  let faults: FaultInjector;
  let db: AldDb;

  beforeAll(async () => {
    reactor = await cloneReactor(sql, 'claim reply lost');
    proxy = await startProxy();
    faults = new FaultInjector(proxy);
    db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), pool: { max: 1 }, timeoutMs: 5000 });
    await db.ready();
    await db.parameters.forMachine(reactor.machineId);
  });

  afterAll(async () => {
    faults?.detach();
    await db?.close();
    await proxy?.close();
    await dropReactor(sql, reactor);
  });

  it('is retried with its claim key and returns the same command; the next one stays pending', async () => {
    const [a] = await sql`insert into public.recipe_commands (machine_id, command_type, created_at)
      values (${reactor.machineId}, 'set_parameter', now() - interval '1 minute') returning id`;
    const [b] = await sql`insert into public.recipe_commands (machine_id, command_type) values (${reactor.machineId}, 'set_parameter') returning id`;
    const fault = faults.arm('reply');
    const claimed = await db.commands.claimNext(reactor.machineId, 'faulty');
    await fault;
    expect(faults.fired).toBe(1);
    expect(db.stats().retries).toBeGreaterThanOrEqual(1);
    expect(claimed?.id).toBe(a.id);
    const rows = await sql`select id, status::text, attempts from public.recipe_commands where machine_id = ${reactor.machineId} order by created_at`;
    expect(rows).toEqual([{ id: a.id, status: 'claimed', attempts: 1 }, { id: b.id, status: 'pending', attempts: 0 }]);
  });
});
