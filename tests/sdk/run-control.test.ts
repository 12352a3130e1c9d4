// Runs as operators drive them (issue 13), through the SDK on both transports: pause, resume and
// stop cost the controller the round trips the README states, a recording controller's heartbeat
// costs none, a claim retried after a lost reply returns the same command, and a controller that
// goes silent is declared dead by the job, its run failed, and a new controller takes over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { flattenPlan, type AldDb } from '../../src/index.ts';
import type { PostgrestEndpoint } from '../../support/postgrest-endpoint.ts';
import { TRANSPORTS, adminSql, clientFor, cloneReactor, dropReactor, startEndpoint, type Reactor } from './support.ts';

let sql: postgres.Sql;
let endpoint: PostgrestEndpoint;

beforeAll(async () => {
  sql = adminSql();
  endpoint = await startEndpoint();
});

afterAll(async () => {
  await endpoint?.close();
  await sql.end();
});

async function cost(db: AldDb, action: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = db.stats().roundTrips;
  await action();
  const after = db.stats().roundTrips;
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));
}

describe.each(TRANSPORTS)('run control (%s transport)', (transport) => {
  let db: AldDb;
  let reactor: Reactor;

  beforeAll(async () => {
    reactor = await cloneReactor(sql, `run control ${transport}`);
    db = clientFor(transport, endpoint);
    await db.ready();
  });

  afterAll(async () => {
    await db.close();
    await dropReactor(sql, reactor);
  });

  it('pause, resume and stop: the operator one round trip each, the controller one claim and one apply each', async () => {
    const controller = await db.controllers.register({ machineId: reactor.machineId, host: 'vitest', version: 'test' });
    expect(controller.status).toBe('alive');
    await expect(db.controllers.register({ machineId: reactor.machineId, host: 'second' })).rejects.toMatchObject({ code: 'RC004' });

    const plan = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const steps = flattenPlan(plan);
    await db.process.advance({ processId: plan.process_id, stepId: steps[0].step_id, stepIndex: 0 });

    await expect(db.commands.resume(reactor.machineId)).rejects.toMatchObject({ code: 'RC002' });
    let pause;
    expect(await cost(db, async () => { pause = await db.commands.pause(reactor.machineId); })).toEqual({ issue_run_command: 1 });
    let applied;
    expect(await cost(db, async () => {
      const claimed = await db.commands.claimNext(reactor.machineId, 'vitest');
      expect(claimed?.id).toBe(pause!.id);
      applied = await db.commands.apply(claimed!.id);
    })).toEqual({ claim_next_command: 1, apply_run_command: 1 });
    expect(applied).toMatchObject({ process_status: 'paused', machine_status: 'paused', command_status: 'completed' });
    await expect(db.process.advance({ processId: plan.process_id, stepId: steps[1].step_id, stepIndex: 1 })).rejects.toMatchObject({ code: '55000' });

    const resume = await db.commands.resume(reactor.machineId);
    expect(await cost(db, async () => {
      const claimed = await db.commands.claimNext(reactor.machineId, 'vitest');
      expect(claimed?.id).toBe(resume.id);
      expect(await db.commands.apply(claimed!.id)).toMatchObject({ process_status: 'running', machine_status: 'running' });
    })).toEqual({ claim_next_command: 1, apply_run_command: 1 });
    expect((await db.process.advance({ processId: plan.process_id, stepId: steps[1].step_id, stepIndex: 1 })).step_index).toBe(1);

    const stop = await db.commands.stop(reactor.machineId, { reason: 'vitest stop' });
    expect(await cost(db, async () => {
      const claimed = await db.commands.claimNext(reactor.machineId, 'vitest');
      expect(claimed?.id).toBe(stop.id);
      expect(await db.commands.apply(claimed!.id)).toMatchObject({ process_status: 'aborted', machine_status: 'idle' });
    })).toEqual({ claim_next_command: 1, apply_run_command: 1 });
    await expect(db.commands.stop(reactor.machineId)).rejects.toMatchObject({ code: 'RC001' });
    const [run] = await sql`select status::text, error_message from public.process_executions where id = ${plan.process_id}`;
    expect(run).toEqual({ status: 'aborted', error_message: 'vitest stop' });
  });

  it('the heartbeat rides on the steps: no round trip beyond the step itself', async () => {
    const [k] = await sql`select id from public.controllers where machine_id = ${reactor.machineId} and status = 'alive'`;
    const plan = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    const [first] = flattenPlan(plan);
    await sql`update public.controllers set last_seen_at = now() - interval '1 minute' where id = ${k.id}`;
    const spent = await cost(db, () => db.process.advance({ processId: plan.process_id, stepId: first.step_id, stepIndex: 0 }));
    expect(spent).toEqual({ advance_step: 1 });
    const [seen] = await sql`select now() - last_seen_at < interval '1 minute' as fresh from public.controllers where id = ${k.id}`;
    expect(seen.fresh).toBe(true);
    await db.process.complete({ processId: plan.process_id });
  });

  it('every recorded tick is a heartbeat too, at no extra round trip', async () => {
    const [k] = await sql`select id from public.controllers where machine_id = ${reactor.machineId} and status = 'alive'`;
    await sql`update public.controllers set last_seen_at = now() - interval '1 minute' where id = ${k.id}`;
    const recorder = db.recorder(reactor.machineId);
    const readings = Object.fromEntries(reactor.parameterIds.map((id, i) => [id, i]));
    const spent = await cost(db, async () => {
      recorder.record(readings, new Date());
      await recorder.flush();
    });
    expect(spent).toEqual({ record_readings: 1 });
    const [seen] = await sql`select now() - last_seen_at < interval '1 minute' as fresh from public.controllers where id = ${k.id}`;
    expect(seen.fresh).toBe(true);
    await recorder.close();
  });

  it('a claim retried with its claim key returns the same command, never a second one', async () => {
    const [a] = await sql`insert into public.recipe_commands (machine_id, command_type, created_at) values (${reactor.machineId}, 'set_parameter', now() - interval '1 minute') returning id`;
    const [b] = await sql`insert into public.recipe_commands (machine_id, command_type) values (${reactor.machineId}, 'set_parameter') returning id`;
    const claimKey = '5e4c1a1e-0000-4000-8000-000000000001';
    const first = await db.commands.claimNext(reactor.machineId, 'vitest', { claimKey });
    const retry = await db.commands.claimNext(reactor.machineId, 'vitest', { claimKey });
    expect([first?.id, retry?.id]).toEqual([a.id, a.id]);
    const [other] = await sql`select status::text from public.recipe_commands where id = ${b.id}`;
    expect(other.status).toBe('pending');
    expect((await db.commands.complete(a.id)).status).toBe('completed');
    await expect(db.commands.complete(a.id, 'failed', 'late')).rejects.toMatchObject({ code: 'RC006' });
    expect((await db.commands.complete((await db.commands.claimNext(reactor.machineId))!.id, 'failed', 'no PLC')).error_message).toBe('no PLC');
  });
});

describe('run control under concurrency (direct transport, a pool of connections)', () => {
  let db: AldDb;
  let reactor: Reactor;

  beforeAll(async () => {
    reactor = await cloneReactor(sql, 'run control concurrency');
    db = clientFor('postgres', undefined);
    await db.ready();
  });

  afterAll(async () => {
    await db.close();
    await dropReactor(sql, reactor);
  });

  it('eight controllers registering at once: exactly one is alive, the others get RC004', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) =>
      db.controllers.register({ machineId: reactor.machineId, host: `racer-${i}` })));
    const alive = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => (o.reason as { code: string }).code);
    expect(alive).toHaveLength(1);
    expect(refused).toEqual(Array(7).fill('RC004'));
    const rows = await sql`select status::text from public.controllers where machine_id = ${reactor.machineId}`;
    expect(rows).toEqual([{ status: 'alive' }]);
  });

  it('five claims racing with one claim key return the same command; the other pending command stays pending', async () => {
    const [a] = await sql`insert into public.recipe_commands (machine_id, command_type, created_at) values (${reactor.machineId}, 'set_parameter', now() - interval '1 minute') returning id`;
    const [b] = await sql`insert into public.recipe_commands (machine_id, command_type) values (${reactor.machineId}, 'set_parameter') returning id`;
    const claimKey = '5e4c1a1e-0000-4000-8000-000000000002';
    const claims = await Promise.all(Array.from({ length: 5 }, () => db.commands.claimNext(reactor.machineId, 'racer', { claimKey })));
    expect(new Set(claims.map((c) => c?.id))).toEqual(new Set([a.id]));
    const rows = await sql`select id, status::text, attempts from public.recipe_commands where id in (${a.id}, ${b.id}) order by created_at`;
    expect(rows).toEqual([{ id: a.id, status: 'claimed', attempts: 1 }, { id: b.id, status: 'pending', attempts: 0 }]);
  });
});
