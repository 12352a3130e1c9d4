// A controller process for tests/faults/journal.test.ts, run with tsx and killed with SIGKILL.
// It drives a journaled run of the seed recipe, one tick before each step, and prints one JSON line
// after each call returned (so the parent knows what was acknowledged before the kill):
//   {"event":"started","processId":…}  {"event":"tick","i":n}  {"event":"step","i":n}  {"event":"done"}
// MODE=start  claims nothing, starts the recipe on MACHINE/RECIPE and runs it
// MODE=resume reopens the journal, takes the run it holds and carries on from its next step
// Tick i is stamped started_at + 1 ms + i × 10 ms: the same tick recorded again after a restart has
// the same key, so the database can hold it only once.
// TICKS=machine records the ticks through journal.recorder(machineId) (record_readings, as the
// README's controller does) instead of run.record (record_process_data); the server files each
// tick under the run holding its time.
import { createAldDb } from '../../src/index.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const db = createAldDb({ databaseUrl: env('DB_URL'), listenUrl: env('LISTEN_URL'), timeoutMs: 2000 });
const journal = db.journal({ path: env('JOURNAL'), retryBaseMs: 50, retryMaxMs: 300 });
const stepMs = Number(process.env.STEP_MS ?? '20');
const run = process.env.MODE === 'resume'
  ? journal.current()
  : await journal.start({ machineId: env('MACHINE'), recipeId: env('RECIPE') });
if (!run) throw new Error('no run in the journal');
say({ event: 'started', processId: run.processId, next: run.next()?.step_index ?? null });
const t0 = Date.parse(run.plan.started_at) + 1;
const readings = (i: number) => Object.fromEntries(run.plan.parameters.slice(0, 20).map((p, j) => [p.id, i * 1000 + j]));
const recorder = process.env.TICKS === 'machine' ? journal.recorder(run.plan.machine_id) : null;
for (let step = run.next(); step; step = run.next()) {
  if (recorder) recorder.record(readings(step.step_index), new Date(t0 + step.step_index * 10));
  else run.record(readings(step.step_index), new Date(t0 + step.step_index * 10));
  say({ event: 'tick', i: step.step_index });
  run.advance();
  say({ event: 'step', i: step.step_index });
  await pause(stepMs);
}
run.complete();
await journal.flush({ timeoutMs: 60_000 });
say({ event: 'done' });
await db.close();
