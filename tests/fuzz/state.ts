// Reading and arranging the database state the oracles depend on: roles, runs, commands.
// Everything here goes through the admin connection (postgres, a trusted controller session).
import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import type { Fixture } from './fixture.ts';
import { isService, USER_OF, type Who } from './harness.ts';

const RANK = { viewer: 1, operator: 2, admin: 3 } as const;

/** The caller's rank on a machine: 9 for the controller, 0 for none. */
export async function rankOn(sql: postgres.Sql, who: Who, machine: string): Promise<number> {
  if (isService(who)) return 9;
  const user = USER_OF[who];
  if (!user) return 0;
  const [row] = await sql`select role::text from public.machine_operators where machine_id = ${machine} and user_id = ${user}`;
  return row ? RANK[row.role as keyof typeof RANK] : 0;
}

export const mayOperate = async (sql: postgres.Sql, who: Who, machine: string) => (await rankOn(sql, who, machine)) >= RANK.operator;
export const maySee = async (sql: postgres.Sql, who: Who, machine: string) => (await rankOn(sql, who, machine)) >= RANK.viewer;

/** Machines the caller can see through RLS (null = all). */
export async function visibleMachines(sql: postgres.Sql, who: Who): Promise<string[] | null> {
  if (isService(who)) return null;
  const user = USER_OF[who];
  if (!user) return [];
  return (await sql`select machine_id from public.machine_operators where user_id = ${user}`).map((r) => r.machine_id as string);
}

export async function runningProcess(sql: postgres.Sql, machine: string): Promise<{ id: string; recipe_id: string } | undefined> {
  const [row] = await sql`select id, recipe_id from public.process_executions where machine_id = ${machine} and status = 'running'`;
  return row as { id: string; recipe_id: string } | undefined;
}

export async function endRuns(sql: postgres.Sql, machine: string): Promise<void> {
  const run = await runningProcess(sql, machine);
  if (run) await sql`select public.complete_process(${run.id}::uuid, 'aborted', 'fuzz: make room')`;
}

/** A running process of `recipe` on `machine`, started (after ending another run) if needed. */
export async function ensureRunning(sql: postgres.Sql, machine: string, recipe: string): Promise<string> {
  const run = await runningProcess(sql, machine);
  if (run?.recipe_id === recipe) return run.id;
  await endRuns(sql, machine);
  const [row] = await sql`select public.start_process(${machine}::uuid, ${recipe}::uuid) ->> 'process_id' as id`;
  return row.id as string;
}

/** An ended process of the machine (one is run and ended if there is none). */
export async function endedProcess(sql: postgres.Sql, fx: Fixture, machine: string): Promise<string> {
  const [row] = await sql`select id from public.process_executions where machine_id = ${machine} and status <> 'running'
                          order by started_at desc limit 1`;
  if (row) return row.id as string;
  const recipe = machine === fx.F ? fx.recipes.fMain : fx.recipes.g;
  const pid = await ensureRunning(sql, machine, recipe);
  await sql`select public.complete_process(${pid}::uuid, 'completed')`;
  return pid;
}

/** A step execution of a process (one step is opened if none exists yet; a fresh id if it cannot be). */
export async function stepExecutionOf(sql: postgres.Sql, process: string): Promise<string> {
  if (!/^[0-9a-f-]{36}$/i.test(process)) return randomUUID();
  const [row] = await sql`select id from public.step_executions where process_id = ${process} order by step_index desc limit 1`;
  if (row) return row.id as string;
  const [first] = await sql`select s.id from public.process_executions e join public.recipe_steps s on s.recipe_id = e.recipe_id
    where e.id = ${process} and e.status = 'running' and s.parent_step_id is null order by s.sequence_number limit 1`;
  if (!first) return randomUUID();
  const [r] = await sql`select public.advance_step(${process}::uuid, ${first.id}::uuid) ->> 'step_execution_id' as id`;
  return r.id as string;
}

export type CommandKind = 'start_recipe' | 'stop_recipe' | 'pause_recipe' | 'resume_recipe' | 'set_parameter';

export async function addCommand(sql: postgres.Sql, machine: string, type: CommandKind, recipe: string | null,
  status: 'pending' | 'cancelled' = 'pending'): Promise<string> {
  const id = randomUUID();
  await sql`insert into public.recipe_commands (id, machine_id, command_type, recipe_id, status, completed_at)
            values (${id}, ${machine}, ${type}::public.command_type, ${recipe}, ${status}::public.command_status,
                    ${status === 'cancelled' ? sql`now()` : null})`;
  return id;
}

export type Row = Record<string, unknown>;
export async function one(sql: postgres.Sql, text: string, params: unknown[] = []): Promise<Row | undefined> {
  const rows = await sql.unsafe(text, params as never[]);
  return rows[0] as Row | undefined;
}
