// A whole recipe run through the SDK, on both transports: the command queue, start, one
// advance() per flattened step, complete; and the idempotency keys that make retries safe.
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

async function addCommand(reactor: Reactor): Promise<string> {
  const [row] = await sql<{ id: string }[]>`insert into public.recipe_commands (machine_id, command_type, recipe_id)
    values (${reactor.machineId}, 'start_recipe', ${reactor.recipeId}) returning id`;
  return row.id;
}

describe.each(TRANSPORTS)('running a recipe (%s transport)', (transport) => {
  let db: AldDb;
  let reactor: Reactor;

  beforeAll(async () => {
    reactor = await cloneReactor(sql, `process ${transport}`);
    db = clientFor(transport, endpoint);
    await db.ready();
  });

  afterAll(async () => {
    await db?.close();
    await dropReactor(sql, reactor);
  });

  it('claims the oldest pending command exactly once, and null when none is left', async () => {
    expect(await db.commands.claimNext(reactor.machineId)).toBeNull();
    const first = await addCommand(reactor);
    const second = await addCommand(reactor);
    const claims = await Promise.all([db.commands.claimNext(reactor.machineId, 'a'), db.commands.claimNext(reactor.machineId, 'b')]);
    expect(claims.map((c) => c?.id).sort()).toEqual([first, second].sort());
    expect(claims.every((c) => c?.status === 'claimed')).toBe(true);
    expect(await db.commands.claimNext(reactor.machineId)).toBeNull();
    await sql`update public.recipe_commands set status = 'cancelled' where id in ${sql([first, second])}`;
  });

  it('drives every step of the plan in flattenPlan order and completes with all steps counted', async () => {
    const commandId = await addCommand(reactor);
    const command = await db.commands.claimNext(reactor.machineId, 'controller');
    expect(command?.id).toBe(commandId);
    const plan = await db.process.start({ machineId: command!.machine_id, commandId });
    expect(plan).toMatchObject({ machine_id: reactor.machineId, command_id: commandId, status: 'running', replayed: false });
    expect(plan.parameters).toHaveLength(137);
    const steps = flattenPlan(plan);
    expect(steps).toHaveLength(plan.total_steps);

    for (const s of steps) {
      const reply = await db.process.advance({ processId: plan.process_id, stepId: s.step_id, stepIndex: s.step_index, loopIteration: s.loop_iteration });
      expect(reply).toMatchObject({ step_index: s.step_index, step_id: s.step_id, loop_iteration: s.loop_iteration, replayed: false });
      if (s.step.step_type === 'parameter') {
        const target = s.step.config as { parameter_id: string; value: number };
        expect(reply.parameter).toMatchObject({ id: target.parameter_id, set_value: target.value });
        // The setpoint the step applied is what the cache now holds.
        expect((await db.parameters.get(target.parameter_id)).version).toBeGreaterThanOrEqual(reply.parameter!.version);
      }
    }
    const last = await db.process.advance({ processId: plan.process_id, stepId: null });
    expect(last.completed_steps).toBe(plan.total_steps);
    const summary = await db.process.complete({ processId: plan.process_id });
    expect(summary).toMatchObject({ status: 'completed', completed_steps: plan.total_steps, total_steps: plan.total_steps, replayed: false });
    const [cmd] = await sql<{ status: string }[]>`select status::text from public.recipe_commands where id = ${commandId}`;
    expect(cmd.status).toBe('completed');
    expect(await db.process.complete({ processId: plan.process_id })).toMatchObject({ replayed: true });
  });

  it('replays a start with the same requestId instead of starting twice', async () => {
    const requestId = crypto.randomUUID();
    const first = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId, requestId });
    const again = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId, requestId });
    expect(again).toMatchObject({ process_id: first.process_id, replayed: true });
    const repeatStep = { processId: first.process_id, stepId: first.steps[0].id, stepIndex: 0 };
    await db.process.advance(repeatStep);
    expect(await db.process.advance(repeatStep)).toMatchObject({ step_index: 0, replayed: true });
    await db.process.complete({ processId: first.process_id, status: 'aborted', errorMessage: 'test' });
  });

  it('writes a setpoint once per requestId, however often the call is repeated', async () => {
    const id = reactor.param('carrier_gas_mfc/gas_correction_factor');
    const requestId = crypto.randomUUID();
    const before = await db.parameters.get(id);
    const value = before.set_value === 1.5 ? 1.25 : 1.5;
    const first = await db.parameters.set(id, value, { requestId, source: 'controller', reason: 'retry test' });
    const repeat = await db.parameters.set(id, value, { requestId, source: 'controller', reason: 'retry test' });
    expect(first.version).toBe(before.version + 1);
    expect(repeat.version).toBe(first.version);
    const [audit] = await sql<{ n: number }[]>`select count(*)::int as n from public.parameter_changes where request_id = ${requestId}`;
    expect(audit.n).toBe(1);
  });
});
