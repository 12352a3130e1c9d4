// The demo's controller: one recipe run, end to end, the way a controller beside the reactor does it.
//
//   the controller registers (db.controllers.register; every later call is its heartbeat)
//   an operator queues a start_recipe command (SQL, under the operator's identity and RLS)
//   db.commands.claimNext → db.process.start({ commandId }) → the plan
//   for each step of flattenPlan(plan): db.process.advance(...) (one round trip), drive the PLC
//     with rows from the parameter cache (no round trip), let the step's time pass
//   db.processRecorder(processId) gets every parameter once per simulated second, all along
//   recorder.flush() → db.process.complete(...)
//   db.setpoints.subscribe: every setpoint request of the machine (the recipe's parameter steps, and
//     one the operator makes that the PLC's interlock refuses on purpose) is written to the PLC and
//     acked, so the database shows each one applied or failed
//   once, the operator pauses the run (issue_run_command, under the operator's identity) and
//   resumes it when it is paused: the controller learns of the pause from the pending_command of
//   its next advance_step reply, finishes that step, then claims and applies it (2 round trips);
//   while paused it polls claimNext until the resume comes, then applies it (2 round trips)
//
// Simulated time and the recorder's ticks: src/demo/sim-clock.ts.
import { performance } from 'node:perf_hooks';
import type postgres from 'postgres';
import type { AldDb } from '../sdk/client.ts';
import { flattenPlan, type PlannedStep } from '../sdk/plan.ts';
import type { ExecutionStatus, Parameter, ProcessSummary, StepReply, StepType } from '../sdk/types.ts';
import { SimulatedPlc, type Component, type Register } from './plc.ts';
import { InterruptedError, SimClock, TICK_MS } from './sim-clock.ts';

/** The seed's fixed ids (supabase/seed.sql). */
export const SEED = {
  machineId: '00000000-0000-4000-8000-000000000001',
  recipeId: '00000000-0000-4000-8000-000000003001',
  operatorId: '00000000-0000-4000-8000-000000000102',
} as const;

/** A parameter step gives up waiting for its heater after this long (simulated) and goes on. */
const MAX_SETTLE_MS = 10 * 60_000;
/** The recorder's and the setpoint loop's calls run beside the steps; everything else is a step's. */
const BACKGROUND_RPCS = new Set(['record_process_data', 'claim_setpoint_requests', 'ack_setpoint_requests']);

export interface StepRecord {
  index: number;
  total: number;
  name: string;
  type: StepType;
  loopIteration: number | null;
  /** RPC round trips the step itself cost (the advance, plus any cache miss). */
  roundTrips: number;
  /** Wall time of the advance() call. */
  latencyMs: number;
  /** Simulated start and duration. */
  simStartMs: number;
  simMs: number;
  detail: string;
  /** Ctrl-C came while the step's time ran: it was opened but not finished. */
  interrupted: boolean;
}

export interface Progress {
  done: number;
  total: number;
  step: string;
  simMs: number;
  detail: string;
}

export interface RunOptions {
  db: AldDb;
  /** A direct connection: queues the command (as the operator) and reads the machine's components. */
  sql: postgres.Sql;
  machineId?: string;
  recipeId?: string;
  operatorId?: string;
  speed: number;
  signal: AbortSignal;
  onStart?: (info: { commandId: string; processId: string; recipe: string; totalSteps: number; parameters: number }) => void;
  onStep?: (step: StepRecord) => void;
  onProgress?: (progress: Progress) => void;
  /** The operator pauses the run after this step_index (its next step finishes first); null: never. Default 4. */
  pauseAfterStep?: number | null;
  onControl?: (event: ControlRecord) => void;
}

/** A stop/pause/resume the controller applied between two steps. */
export interface ControlRecord {
  command: 'pause_recipe' | 'resume_recipe' | 'stop_recipe';
  /** 1-based index of the step after which it was applied. */
  afterStep: number;
  total: number;
  processStatus: string;
  machineStatus: string;
  /** The controller's round trips for it: claims (including polls while paused) and the apply. */
  roundTrips: number;
  latencyMs: number;
}

export interface RunResult {
  commandId: string;
  processId: string;
  recipe: string;
  status: Exclude<ExecutionStatus, 'running'>;
  error: string | null;
  totalSteps: number;
  steps: StepRecord[];
  /** Pauses, resumes and stops applied between steps. */
  control: ControlRecord[];
  /** Round trips of claim, start and complete, and their wall times. */
  calls: { name: 'claim' | 'start' | 'complete'; latencyMs: number }[];
  ticks: number;
  /** Readings handed to the recorder (each one row of process_data_points). */
  pointsRecorded: number;
  recorder: { sent: number; dropped: number; retried: number; errors: string[] };
  simMs: number;
  wallMs: number;
  summary: ProcessSummary | null;
  /** The setpoint requests the demo's PLC loop handled: applied (PLC confirmed) and failed, with why. */
  setpoints: { applied: number; failed: { parameter: string; value: number; error: string }[]; open: number };
}

/**
 * Round trips so far, the recorder's excluded. A step's count is the difference around its
 * foreground work (the advance and the cache reads that drive the PLC), a few milliseconds; a
 * background cache refresh finishing inside that window would be counted too (at most one a minute).
 */
function stepRoundTrips(db: AldDb): number {
  let n = 0;
  for (const [rpc, count] of Object.entries(db.stats().roundTrips)) if (!BACKGROUND_RPCS.has(rpc)) n += count;
  return n;
}

/** The operator queues the command through RLS, as the app would (not as the service role). */
async function queueStartCommand(sql: postgres.Sql, machineId: string, recipeId: string, operatorId: string): Promise<string> {
  return sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: operatorId, role: 'authenticated' })}, true)`;
    await tx`set local role authenticated`;
    const [row] = await tx<{ id: string }[]>`
      insert into public.recipe_commands (machine_id, command_type, recipe_id, created_by)
      values (${machineId}, 'start_recipe', ${recipeId}, ${operatorId})
      returning id`;
    return row.id;
  });
}

/** The operator's request the PLC refuses (its interlock): shown as a failed request in the summary. */
async function requestAsOperator(sql: postgres.Sql, operatorId: string, parameterId: string, value: number, reason: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: operatorId, role: 'authenticated' })}, true)`;
    await tx`set local role authenticated`;
    await tx`select 1 from public.set_parameter_value(${parameterId}, ${value}, source => 'operator', reason => ${reason})`;
  });
}

/**
 * The controller's setpoint loop against the simulated PLC: each request is written to its
 * register (a recipe step's value is there already) and confirmed by reading it back; a request
 * the PLC refuses, or for a parameter not wired to an address, is failed with the reason.
 */
function subscribeSetpoints(db: AldDb, plc: SimulatedPlc, machineId: string, result: RunResult['setpoints']) {
  return db.setpoints.subscribe(machineId, async (requests) => requests.map((q) => {
    const what = `${plc.componentName(q.parameter_id) ?? '?'}.${q.parameter_name}`;
    try {
      if (q.write_modbus_type === null || q.write_modbus_address === null) throw new Error('not wired to a PLC address');
      const register = { type: q.write_modbus_type, address: q.write_modbus_address };
      if (plc.readRegister(register) !== q.value) plc.write(register, q.value);
      result.applied++;
      return { ok: true as const, appliedValue: plc.readRegister(register) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result.failed.push({ parameter: what, value: q.value, error: message });
      return { ok: false as const, error: message };
    }
  }), { claimedBy: 'ald-db demo', pollMs: 1000 });
}
/** The operator asks for a pause, resume or stop through RLS, as the app would. */
async function operatorRequest(sql: postgres.Sql, machineId: string, operatorId: string, type: ControlRecord['command']): Promise<string> {
  return sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: operatorId, role: 'authenticated' })}, true)`;
    await tx`set local role authenticated`;
    const [row] = await tx<{ id: string }[]>`select id from public.issue_run_command(${machineId}, ${type}::public.command_type)`;
    return row.id;
  });
}

const RUN_CONTROL = new Set(['pause_recipe', 'resume_recipe', 'stop_recipe']);

/** What a step does on the PLC: set up at its start, then time passes, then finish. */
interface StepAction {
  detail: string;
  /** Simulated duration; with `until`, the most to wait. */
  durationMs: number;
  until?: () => boolean;
  /** Describes the wait while it lasts (progress bar) and once it is over. */
  describe?: () => string;
  finish?: () => void;
}

function writeRegister(p: Parameter): Register {
  if (!p.write_modbus_type || p.write_modbus_address === null) throw new Error(`parameter ${p.id} (${p.name}) has no write register`);
  return { type: p.write_modbus_type, address: p.write_modbus_address };
}

/** Drives the PLC for one step, reading the parameter rows it needs from the SDK's cache. */
async function actionFor(db: AldDb, plc: SimulatedPlc, s: PlannedStep, reply: StepReply): Promise<StepAction> {
  const config = (reply.config ?? s.step.config ?? {}) as Record<string, unknown>;
  switch (s.step.step_type) {
    case 'valve': {
      const valve = await db.parameters.get(plc.parameterId(`valve_${config.valve_number}/state`));
      const coil = writeRegister(valve);
      plc.write(coil, 1);
      return { detail: `valve ${config.valve_number} open ${config.duration_ms} ms`, durationMs: Number(config.duration_ms), finish: () => plc.write(coil, 0) };
    }
    case 'purge': {
      const [flowSet, purgeValve] = await db.parameters.getMany([
        plc.parameterId(`${plc.layout.mfc}/flow_rate_set`), plc.parameterId(`${plc.layout.purgeValve}/state`),
      ]);
      const flow = writeRegister(flowSet!);
      const valve = writeRegister(purgeValve!);
      const idleFlow = plc.readRegister(flow) ?? 0;
      plc.write(flow, Number(config.flow_rate_sccm));
      plc.write(valve, 1);
      return {
        detail: `${config.gas_type} ${config.flow_rate_sccm} sccm for ${(Number(config.duration_ms) / 1000).toFixed(1)} s`,
        durationMs: Number(config.duration_ms),
        finish: () => {
          plc.write(valve, 0);
          plc.write(flow, idleFlow);
        },
      };
    }
    case 'parameter': {
      // advance() applied the setpoint in the database and returned the row: write it to the PLC.
      const row = reply.parameter ?? (await db.parameters.get(String(config.parameter_id)));
      const register = writeRegister(row);
      plc.write(register, Number(row.set_value));
      const heater = plc.heaterBehind(register);
      const what = `${plc.componentName(row.id) ?? '?'}.${row.name} = ${row.set_value}${row.unit ? ` ${row.unit}` : ''}`;
      if (!heater) return { detail: what, durationMs: 0 };
      return {
        detail: what,
        durationMs: MAX_SETTLE_MS,
        until: () => plc.settled(register),
        describe: () => `${heater} at ${plc.temperature(heater)!.toFixed(1)} °C`,
      };
    }
    default:
      return { detail: `${(config.iteration_count as number | undefined) ?? 0} iterations`, durationMs: 0 };
  }
}

/** Runs the recipe once; never leaves the process running (completes it as failed or aborted). */
export async function runRecipe(options: RunOptions): Promise<RunResult> {
  const { db, sql, speed, signal } = options;
  const machineId = options.machineId ?? SEED.machineId;
  const recipeId = options.recipeId ?? SEED.recipeId;
  const wallStart = performance.now();
  const calls: RunResult['calls'] = [];
  const timed = async <T>(name: 'claim' | 'start' | 'complete', call: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const result = await call();
    calls.push({ name, latencyMs: performance.now() - t });
    return result;
  };

  // The controller announces itself (the dashboard shows it; a kept database may hold an earlier demo's).
  await db.controllers.register({ machineId, host: 'ald-db demo', version: 'demo', takeover: true });
  const queued = await queueStartCommand(sql, machineId, recipeId, options.operatorId ?? SEED.operatorId);
  const command = await timed('claim', () => db.commands.claimNext(machineId, 'ald-db demo'));
  if (!command) throw new Error(`claim_next_command returned no command, but command ${queued} was just queued`);
  if (command.id !== queued) throw new Error(`claimed command ${command.id}, not the one just queued (${queued}): another command was pending on the machine`);
  const plan = await timed('start', () => db.process.start({ machineId, commandId: command.id }));

  const components = await sql<Component[]>`
    select id, name, component_type::text as component_type from public.machine_components where machine_id = ${machineId}`;
  const plc = new SimulatedPlc(plan.parameters, components);
  const steps = flattenPlan(plan);
  const recorder = db.processRecorder(plan.process_id);
  const recorderErrors: string[] = [];
  recorder.on('error', (e, info) => recorderErrors.push(`${e.code} ${e.message} (${info.rows} rows dropped)`));
  recorder.on('overflow', (e) => recorderErrors.push(`${e.code} ${e.message}`));
  const clock = new SimClock(speed, signal, plc, (readings, ts) => recorder.record(readings, ts));
  const setpoints: RunResult['setpoints'] = { applied: 0, failed: [], open: 0 };
  const setpointLoop = subscribeSetpoints(db, plc, machineId, setpoints);
  options.onStart?.({ commandId: command.id, processId: plan.process_id, recipe: plan.recipe.name, totalSteps: steps.length, parameters: plan.parameters.length });

  const records: StepRecord[] = [];
  const control: ControlRecord[] = [];
  const operatorId = options.operatorId ?? SEED.operatorId;
  const pauseAfter = options.pauseAfterStep === undefined ? 4 : options.pauseAfterStep;
  /** Claims the machine's next command and applies it if it is a stop/pause/resume; counts the round trips. */
  const applyControl = async (afterStep: number, waitFor?: ControlRecord['command']): Promise<ControlRecord | null> => {
    const before = stepRoundTrips(db);
    const t = performance.now();
    for (;;) {
      const claimed = await db.commands.claimNext(machineId, 'ald-db demo');
      if (claimed && RUN_CONTROL.has(claimed.command_type)) {
        const applied = await db.commands.apply(claimed.id);
        const record: ControlRecord = {
          command: applied.command_type, afterStep, total: steps.length, processStatus: String(applied.process_status),
          machineStatus: String(applied.machine_status), roundTrips: stepRoundTrips(db) - before, latencyMs: performance.now() - t,
        };
        control.push(record);
        options.onControl?.(record);
        return record;
      }
      if (claimed) await db.commands.complete(claimed.id, 'failed', 'the demo controller runs recipes only');
      if (!waitFor || signal.aborted) return null;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  let status: RunResult['status'] = 'completed';
  let error: string | null = null;
  let summary: ProcessSummary | null = null;
  try {
    try {
      await requestAsOperator(sql, options.operatorId ?? SEED.operatorId, plc.parameterId(`${plc.layout.pump}/power_on`), 0,
        'demo: a request the PLC refuses (interlock)');
      for (const s of steps) {
        if (signal.aborted) throw new InterruptedError(String(signal.reason ?? 'interrupted'));
        const before = stepRoundTrips(db);
        const t = performance.now();
        const reply = await db.process.advance({ processId: plan.process_id, stepId: s.step_id, stepIndex: s.step_index, loopIteration: s.loop_iteration });
        const latencyMs = performance.now() - t;
        const action = await actionFor(db, plc, s, reply);
        const roundTrips = stepRoundTrips(db) - before;
        const simStartMs = clock.simMs;
        const progress = () => options.onProgress?.({
          done: s.step_index, total: steps.length, step: s.step.name, simMs: clock.simMs, detail: action.describe?.() ?? action.detail,
        });
        progress();
        let interruption: InterruptedError | undefined;
        try {
          await clock.run(simStartMs + action.durationMs, action.until, progress);
        } catch (e) {
          if (!(e instanceof InterruptedError)) throw e;
          interruption = e;
        }
        action.finish?.();
        const after = `after ${((clock.simMs - simStartMs) / 1000).toFixed(1)} s`;
        const note = interruption ? `; interrupted ${after}` : action.describe ? `; ${action.until!() ? 'settled' : 'NOT settled'} ${after}` : '';
        const record: StepRecord = {
          index: s.step_index + 1, total: steps.length, name: s.step.name, type: s.step.step_type, loopIteration: s.loop_iteration,
          roundTrips, latencyMs, simStartMs, simMs: clock.simMs - simStartMs, detail: action.detail + note, interrupted: interruption !== undefined,
        };
        records.push(record);
        options.onProgress?.({ done: record.index, total: steps.length, step: s.step.name, simMs: clock.simMs, detail: 'done' });
        options.onStep?.(record);
        if (interruption) throw interruption;
        // The operator's pause, once: requested while this step ran, seen in the next step's reply.
        if (s.step_index === pauseAfter) await operatorRequest(sql, machineId, operatorId, 'pause_recipe');
        // Between two steps: a stop, pause or resume named by this step's reply.
        if (reply.pending_command && RUN_CONTROL.has(reply.pending_command.command_type)) {
          const applied = await applyControl(record.index);
          if (applied?.command === 'stop_recipe') {
            status = 'aborted';
            error = 'stopped by operator';
            break;
          }
          if (applied?.command === 'pause_recipe') {
            // The operator resumes the paused run; the paused controller polls until it sees it.
            await operatorRequest(sql, machineId, operatorId, 'resume_recipe');
            await applyControl(record.index, 'resume_recipe');
          }
        }
      }
      // The state after the last step, on the next whole simulated second.
      await clock.run(Math.ceil(clock.simMs / TICK_MS) * TICK_MS);
    } catch (e) {
      status = e instanceof InterruptedError ? 'aborted' : 'failed';
      error = e instanceof Error ? e.message : String(e);
    }
    // Every tick must be stored before the run ends: the database refuses rows stamped after it.
    try {
      await recorder.flush({ timeoutMs: 30_000 });
    } catch (e) {
      recorderErrors.push(`flush: ${(e as Error).message}`);
    }
    summary = await timed('complete', () => db.process.complete({ processId: plan.process_id, status, errorMessage: error ?? undefined }));
  } finally {
    await recorder.close({ timeoutMs: 5000 }).catch((e: Error) => recorderErrors.push(`close: ${e.message}`));
    // Let the loop finish what is queued (a recipe step's request made just before the end).
    const until = performance.now() + 10_000;
    for (;;) {
      const [{ open }] = await sql<{ open: number }[]>`
        select count(*)::int as open from public.setpoint_requests where machine_id = ${machineId} and status in ('pending', 'claimed')`;
      setpoints.open = open;
      if (open === 0 || performance.now() > until) break;
      setpointLoop.wake();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await setpointLoop.close();
  }

  return {
    commandId: command.id, processId: plan.process_id, recipe: plan.recipe.name, status, error,
    totalSteps: steps.length, steps: records, control, calls, ticks: clock.ticks, pointsRecorded: clock.points,
    recorder: { sent: recorder.sent, dropped: recorder.dropped, retried: recorder.retried, errors: recorderErrors },
    simMs: clock.simMs, wallMs: performance.now() - wallStart, summary, setpoints,
  };
}
