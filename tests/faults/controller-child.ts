// A controller in a process of its own, for controller-lost.test.ts to kill mid-run: registers on
// the machine (timeout from CONTROLLER_TIMEOUT_MS), starts the recipe and walks its steps, a
// recorded tick per step, printing one JSON line per event so the parent knows where it is.
//   TEST_DATABASE_URL, MACHINE_ID, RECIPE_ID, CONTROLLER_TIMEOUT_MS, STEP_PAUSE_MS
import { createAldDb, flattenPlan } from '../../src/index.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

const db = createAldDb({ databaseUrl: env('TEST_DATABASE_URL'), pool: { max: 1 } });
await db.ready();
const machineId = env('MACHINE_ID');
const controller = await db.controllers.register({
  machineId, host: `child-${process.pid}`, version: 'fault-test', timeoutMs: Number(env('CONTROLLER_TIMEOUT_MS')),
});
say({ controller: controller.id });
const plan = await db.process.start({ machineId, recipeId: env('RECIPE_ID') });
say({ process: plan.process_id, total: plan.total_steps });
const recorder = db.processRecorder(plan.process_id);
const parameterId = (plan.parameters[0] as { id: string }).id;
for (const s of flattenPlan(plan)) {
  await db.process.advance({ processId: plan.process_id, stepId: s.step_id, stepIndex: s.step_index, loopIteration: s.loop_iteration });
  recorder.record({ [parameterId]: s.step_index });
  await recorder.flush();
  say({ step: s.step_index });
  await new Promise((resolve) => setTimeout(resolve, Number(env('STEP_PAUSE_MS'))));
}
await recorder.close();
await db.process.complete({ processId: plan.process_id });
say({ completed: plan.process_id });
await db.close();
