// The OLD controller's access patterns, reimplemented with postgres.js against our schema: the
// baseline of the benchmark (docs/design.md §1 and §8).
//
// The old controller was a Python program talking to PostgREST: every request was one HTTP call,
// one network round trip, sent one after another. Here each such request is one SQL statement,
// awaited before the next is sent, so the proxy counts exactly one round trip per old request.
// Every statement really runs against the benchmark database (no sleeps stand in for queries).
//
// Request counts per action (docs/design.md §1, "What it spent per controller action, read from its code"):
//
//   recording tick   1 + N + ⌈P/50⌉
//                      1  select the machine's components
//                      N  select the parameters of each component, one component at a time
//                      ⌈P/50⌉ insert the tick's rows in batches of 50 into the old layout (bench/legacy-layout.ts)
//                    (the old recorder copied a stale current_value; here the rows carry simulated
//                    PLC readings, which costs the same requests)
//
//   valve step       12
//                      1 read the step config            (recipe_steps ⋈ valve_step_configs)
//                      2 read the process state          (process_execution_state)
//                      3 write progress                  (client-computed read-modify-write)
//                      4 read the execution              (process_executions)
//                      5 touch the execution             (same-value update; our table has no updated_at)
//                      6 insert the step audit           (step_executions)
//                      7 read the valve parameter by id  (component_parameters, no cache)
//                      8 write the valve set_value
//                      9 insert the parameter_changes audit row
//                     10 read the machine
//                     11 update the machine              (status, current process; touches updated_at)
//                     12 update the step audit           (completed, ended_at)
//
//   purge step       9
//                      1 config (⋈ purge_step_configs), 2 state read, 3 progress write,
//                      4 execution read, 5 execution touch, 6 audit insert, 7 machine read,
//                      8 machine update, 9 audit update
//
//   set-parameter    10, plus 2 in the background
//   step               1 config (⋈ parameter_step_configs), 2 state read, 3 progress write,
//                      4 execution read, 5 execution touch, 6 audit insert,
//                      7 read the parameter BY ID (every time, no cache), 8 write set_value,
//                      9 insert the parameter_changes audit row, 10 audit update
//                    background: 11 re-read the parameter by id (read-back check),
//                                12 touch the machine (heartbeat)
//
//   parameter read   1: select the parameter by id (the old controller had no working cache)
import type { Sql } from 'postgres';
import type { BenchRecipe } from './fixtures.ts';
import { LEGACY_TABLE } from './legacy-layout.ts';

/** docs/design.md §1: the old recorder inserted in batches of this many rows. */
export const OLD_INSERT_BATCH = 50;

/** Requests per action, from docs/design.md §1 (the benchmark checks the proxy counts against these). */
export function oldRoundTrips(components: number, parameters: number) {
  return {
    recordingTick: 1 + components + Math.ceil(parameters / OLD_INSERT_BATCH),
    valveStep: 12,
    purgeStep: 9,
    parameterStep: 10,
    parameterStepBackground: 2,
    cachedParameterRead: 1,
  };
}

interface Row {
  [column: string]: any;
}

export class OldController {
  private stepIndex = 0;
  private parameterStepTurn = 0;

  /** sql must be a client through the proxy; processId an execution created by createOldExecution. */
  constructor(
    private readonly sql: Sql,
    private readonly recipe: BenchRecipe,
    private readonly processId: string,
  ) {}

  /** 1 + N + ⌈P/50⌉ requests. Returns the number of rows inserted. */
  async recordingTick(ts: Date, reading: (parameterIndex: number) => number): Promise<number> {
    const { sql } = this;
    const components = await sql<Row[]>`
      select id, name, component_type, is_activated
      from public.machine_components where machine_id = ${this.recipe.machineId} order by name`;
    const parameters: Row[] = [];
    for (const c of components) {
      const rows = await sql<Row[]>`
        select * from public.component_parameters where component_id = ${c.id} order by name`;
      parameters.push(...rows);
    }
    for (let i = 0; i < parameters.length; i += OLD_INSERT_BATCH) {
      const batch = parameters.slice(i, i + OLD_INSERT_BATCH).map((p, j) => ({
        process_id: this.processId,
        parameter_id: p.id,
        ts,
        value: reading(i + j),
        set_point: p.set_value,
      }));
      await sql`insert into ${sql.unsafe(LEGACY_TABLE)} ${sql(batch, 'process_id', 'parameter_id', 'ts', 'value', 'set_point')}`;
    }
    return parameters.length;
  }

  /** 12 requests. */
  async valveStep(): Promise<void> {
    const { sql } = this;
    const stepId = this.recipe.valveStepId;
    const [config] = await sql<Row[]>`
      select s.id, s.name, v.valve_number, v.duration_ms
      from public.recipe_steps s join public.valve_step_configs v on v.step_id = s.id where s.id = ${stepId}`;
    const index = await this.openStep(stepId, 'valve');
    const [valve] = await sql<Row[]>`select * from public.component_parameters where id = ${this.recipe.valveParameterId}`;
    const open = valve.set_value === 1 ? 0 : 1;
    const [written] = await sql<Row[]>`
      update public.component_parameters set set_value = ${open} where id = ${valve.id} returning id, version, set_value`;
    await this.auditSetpoint(valve, written, `valve ${config.valve_number} pulse`);
    const [machine] = await sql<Row[]>`select * from public.machines where id = ${this.recipe.machineId}`;
    await sql`update public.machines set status = 'running', current_process_id = ${this.processId} where id = ${machine.id}`;
    await this.closeStep(index.stepExecutionId, { valve_number: config.valve_number, duration_ms: config.duration_ms });
  }

  /** 9 requests. */
  async purgeStep(): Promise<void> {
    const { sql } = this;
    const stepId = this.recipe.purgeStepId;
    const [config] = await sql<Row[]>`
      select s.id, s.name, g.duration_ms, g.gas_type, g.flow_rate_sccm
      from public.recipe_steps s join public.purge_step_configs g on g.step_id = s.id where s.id = ${stepId}`;
    const index = await this.openStep(stepId, 'purge');
    const [machine] = await sql<Row[]>`select * from public.machines where id = ${this.recipe.machineId}`;
    await sql`update public.machines set status = 'running', current_process_id = ${this.processId} where id = ${machine.id}`;
    await this.closeStep(index.stepExecutionId, { gas_type: config.gas_type, duration_ms: config.duration_ms });
  }

  /**
   * 10 requests. The 2 background requests of the old controller are returned as a function so
   * the caller can run (and count) them after the step's latency is taken, as they were not on
   * the step's critical path.
   */
  async parameterStep(): Promise<() => Promise<void>> {
    const { sql } = this;
    const turn = this.parameterStepTurn++ % 2;
    const stepId = this.recipe.parameterStepIds[turn];
    const [config] = await sql<Row[]>`
      select s.id, s.name, c.parameter_id, c.value
      from public.recipe_steps s join public.parameter_step_configs c on c.step_id = s.id where s.id = ${stepId}`;
    const index = await this.openStep(stepId, 'parameter');
    const [parameter] = await sql<Row[]>`select * from public.component_parameters where id = ${config.parameter_id}`;
    const [written] = await sql<Row[]>`
      update public.component_parameters set set_value = ${config.value} where id = ${parameter.id} returning id, version, set_value`;
    await this.auditSetpoint(parameter, written, config.name);
    await this.closeStep(index.stepExecutionId, { parameter_id: parameter.id, value: config.value });
    return async () => {
      await sql`select * from public.component_parameters where id = ${parameter.id}`;
      await sql`update public.machines set status = status where id = ${this.recipe.machineId}`;
    };
  }

  /** 1 request: the old controller re-read a parameter by id every time it needed it. */
  async readParameter(id: string): Promise<Row> {
    const [row] = await this.sql<Row[]>`select * from public.component_parameters where id = ${id}`;
    return row;
  }

  /** Requests 2–6 of every step: state read, progress write, execution read and touch, audit insert. */
  private async openStep(stepId: string, stepType: string): Promise<{ stepExecutionId: string }> {
    const { sql } = this;
    const index = this.stepIndex++;
    const [state] = await sql<Row[]>`select * from public.process_execution_state where process_id = ${this.processId}`;
    const completed = state.completed_steps + 1;
    const percent = Math.min(100, Math.round((10000 * completed) / Math.max(state.total_steps, 1)) / 100);
    await sql`
      update public.process_execution_state
      set current_step_id = ${stepId}, current_step_index = ${index}, completed_steps = ${completed},
          progress_percent = ${percent}, updated_at = now()
      where process_id = ${this.processId}`;
    const [execution] = await sql<Row[]>`select id, status, machine_id from public.process_executions where id = ${this.processId}`;
    await sql`update public.process_executions set error_message = error_message where id = ${execution.id}`;
    const [audit] = await sql<Row[]>`
      insert into public.step_executions (process_id, step_id, step_index, step_type)
      values (${this.processId}, ${stepId}, ${index}, ${stepType}) returning id`;
    return { stepExecutionId: audit.id };
  }

  private async closeStep(stepExecutionId: string, details: Record<string, unknown>): Promise<void> {
    await this.sql`
      update public.step_executions set status = 'completed', ended_at = now(), details = ${this.sql.json(details as any)}
      where id = ${stepExecutionId}`;
  }

  /** The old controller wrote its own audit row (our trigger writes one as well; that is server time only). */
  private async auditSetpoint(before: Row, after: Row, reason: string): Promise<void> {
    await this.sql`
      insert into public.parameter_changes
        (parameter_id, machine_id, old_value, new_value, old_version, new_version, changed_by_role, source, reason, process_id)
      values (${before.id}, ${this.recipe.machineId}, ${before.set_value}, ${after.set_value}, ${before.version},
              ${after.version}, 'controller', 'recipe', ${reason}, ${this.processId})`;
  }
}

/**
 * The execution the old pattern writes to, created the way the old controller did (plain inserts,
 * not measured). Only one execution per machine may run, so the old and new phases of a machine
 * run one after the other, each with its own execution.
 */
export async function createOldExecution(sql: Sql, recipe: BenchRecipe): Promise<string> {
  return sql.begin(async (tx) => {
    const [e] = await tx`
      insert into public.process_executions (machine_id, recipe_id, recipe_snapshot)
      values (${recipe.machineId}, ${recipe.recipeId}, ${tx.json({ recipe: { id: recipe.recipeId }, steps: [], note: 'old controller pattern' })})
      returning id`;
    await tx`insert into public.process_execution_state (process_id, total_steps) values (${e.id}, ${recipe.totalSteps})`;
    await tx`update public.machines set status = 'running', current_process_id = ${e.id} where id = ${recipe.machineId}`;
    return e.id as string;
  });
}

export async function endOldExecution(sql: Sql, recipe: BenchRecipe, processId: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`update public.step_executions set status = 'completed', ended_at = now() where process_id = ${processId} and status = 'running'`;
    await tx`update public.process_executions set status = 'completed', ended_at = now() where id = ${processId}`;
    await tx`update public.machines set status = 'idle', current_process_id = null where id = ${recipe.machineId}`;
  });
}
