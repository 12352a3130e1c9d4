// The controller loop of the README, type-checked by `npm run typecheck` so the example cannot rot.
// claim → start → advance … → complete, with a recorder running beside it.
import { AldDbError, createAldDb, flattenPlan, type PlannedStep, type Readings, type StepReply } from '../src/index.ts';

declare function readPlc(): Readings;                                   // your Modbus reads: { [parameterId]: value }
declare function runOnPlc(step: PlannedStep, reply: StepReply): Promise<void>; // valve pulse, purge, setpoint …
declare function alarm(error: Error): void;

export async function runNextCommand(machineId: string): Promise<void> {
  const db = createAldDb({ databaseUrl: process.env.DATABASE_URL! });
  try {
    const command = await db.commands.claimNext(machineId, 'controller-1');      // 1 round trip
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

// Setpoints outside a recipe: one round trip, checked on the server; reads of cached rows cost none.
export async function rampHeater(db: ReturnType<typeof createAldDb>, parameterId: string, value: number) {
  const before = await db.parameters.get(parameterId);                         // 0 when cached
  return db.parameters.set(parameterId, value, { expectedVersion: before.version, reason: 'manual ramp' });
}
