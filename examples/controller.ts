// The controller loop of the README, type-checked by `npm run typecheck` so the example cannot rot.
// register → claim → start → advance … → complete, with a recorder running beside it, honouring an
// operator's stop, pause and resume between two steps.
import { randomUUID } from 'node:crypto';
import { AldDbError, createAldDb, flattenPlan, type AldDb, type PlannedStep, type Readings, type StepReply } from '../src/index.ts';

declare function readPlc(): Readings;                                   // your Modbus reads: { [parameterId]: value }
declare function runOnPlc(step: PlannedStep, reply: StepReply): Promise<void>; // valve pulse, purge, setpoint …
declare function alarm(error: Error): void;
const CONTROLLER_ID = randomUUID();                                     // one per controller process

export async function runNextCommand(machineId: string): Promise<void> {
  const db = createAldDb({ databaseUrl: process.env.DATABASE_URL! });
  try {
    await db.controllers.register({ machineId, host: 'bay-3', controllerId: CONTROLLER_ID }); // 1 (RC004: another is alive)
    const command = await db.commands.claimNext(machineId, 'controller-1');      // 1 round trip; also the heartbeat
    if (!command) return;
    const plan = await db.process.start({ machineId, commandId: command.id });   // 1: execution, state, whole plan
    const recorder = db.processRecorder(plan.process_id);
    recorder.on('overflow', alarm);                                             // buffer full: explicit, never silent
    const timer = setInterval(() => recorder.record(readPlc()), 1000);         // 1 per tick, never blocks a step
    try {
      for (const step of flattenPlan(plan)) {
        const reply = await db.process.advance({                                // 1 per step, whatever its type
          processId: plan.process_id, stepId: step.step_id, stepIndex: step.step_index,
          loopIteration: step.loop_iteration,
        });
        await runOnPlc(step, reply);
        if (reply.pending_command && !(await honour(db, machineId))) return;     // an operator's stop or pause, between steps
      }
      await db.process.advance({ processId: plan.process_id, stepId: null });   // close the last step
      await recorder.flush();                                                   // every tick stored
      await db.process.complete({ processId: plan.process_id });                // 1: run ended, machine idle
    } catch (error) {
      if (error instanceof AldDbError && error.code === '22003') alarm(error);  // a recipe setpoint out of range
      await recorder.flush().catch(() => {});
      await db.process.complete({ processId: plan.process_id, status: 'failed', errorMessage: String(error) });
    } finally {
      clearInterval(timer);
      await recorder.close();
    }
  } finally {
    await db.close();
  }
}

// A stop, pause or resume, once the step in progress is done: claim + apply, 2 round trips each.
// Returns false when the run was stopped (apply_run_command ended it as aborted).
async function honour(db: AldDb, machineId: string): Promise<boolean> {
  for (let paused = false; ;) {
    const command = await db.commands.claimNext(machineId, 'controller-1');
    if (!command) {
      if (!paused) return true;
      await new Promise((resolve) => setTimeout(resolve, 1000));                // paused: poll for the resume
      continue;
    }
    if (!['stop_recipe', 'pause_recipe', 'resume_recipe'].includes(command.command_type)) {
      await db.commands.complete(command.id, 'failed', 'not while a recipe runs'); // never left claimed
      continue;
    }
    const applied = await db.commands.apply(command.id).catch(async (error: AldDbError) => {
      await db.commands.complete(command.id, 'failed', error.message);          // RC001/RC002/RC003: the state moved
      return null;
    });
    if (applied?.process_status === 'aborted') return false;
    if (applied) paused = applied.process_status === 'paused';
    if (!paused) return true;
  }
}

// Setpoints outside a recipe: one round trip, checked on the server; reads of cached rows cost none.
export async function rampHeater(db: ReturnType<typeof createAldDb>, parameterId: string, value: number) {
  const before = await db.parameters.get(parameterId);                         // 0 when cached
  return db.parameters.set(parameterId, value, { expectedVersion: before.version, reason: 'manual ramp' });
}
