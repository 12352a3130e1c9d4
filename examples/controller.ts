// The controller loop of the README, type-checked by `npm run typecheck` so the example cannot rot.
// claim → start (the only round trips) → advance … → complete from local state, every write first
// made durable in the journal on local disk, then drained to the database in the background:
// steps, the machine's ticks, setpoint acks, and the operator's pause, resume and stop.
import { randomUUID } from 'node:crypto';
import {
  AldDbError, createAldDb, type ClaimedSetpoint, type JournaledRun, type LocalStepReply, type PlannedStep, type Readings, type SetpointOutcome,
} from '../src/index.ts';

declare function readPlc(): Readings;                                   // your Modbus reads: { [parameterId]: value }
declare function runOnPlc(step: PlannedStep, reply: LocalStepReply): Promise<void>; // valve pulse, purge, setpoint …
declare function writePlc(requests: ClaimedSetpoint[]): Promise<SetpointOutcome[]>; // setpoints from the UI, one outcome each
declare function alarm(error: Error, context?: unknown): void;
const CONTROLLER_ID = randomUUID();                                     // one per controller process

export async function runNextCommand(machineId: string): Promise<void> {
  const db = createAldDb({ databaseUrl: process.env.DATABASE_URL! });
  // Durable when a call returns: the journal's SQLite commit (WAL, synchronous=FULL) reached the disk.
  const journal = db.journal({ path: '/var/lib/ald/journal.db', maxPendingBytes: 2 ** 30 });
  journal.on('refused', (error, info) => alarm(error, info));                  // the database refused step info.stepIndex
  journal.on('full', (error) => alarm(error));                                 // outage outlasted the disk budget: ticks refused
  const recorder = journal.recorder(machineId);                                // the machine's ticks, in a run or not
  const timer = setInterval(() => recorder.record(readPlc()), 1000);         // 0: journaled, durable, drained later
  const setpoints = db.setpoints.subscribe(machineId, writePlc, { journal });   // UI setpoints: claimed online, acks journaled
  try {
    await db.controllers.register({ machineId, host: 'bay-3', controllerId: CONTROLLER_ID }); // 1 (RC004: another is alive)
    // After a restart: the run this journal was in. Its entries drain on their own, exactly once.
    let run: JournaledRun | null = journal.current();
    if (run && run.completed === null) run.abort('controller restarted mid-run');  // or resume it: run.control(), run.next()
    const command = await db.commands.claimNext(machineId, 'controller-1');      // 1 round trip
    if (!command) return;
    run = await journal.start({ machineId, commandId: command.id });             // 1: execution, whole plan, kept on disk
    const control = run.control({ claimedBy: 'controller-1' });                 // pause/resume/stop, claimed in the background
    try {
      for (let step = run.next(); step; step = run.next()) {
        if (!(await control.between())) break;                                  // 0: applies a claimed pause or stop; waits while paused
        const reply = run.advance();                                            // 0: checked against plan + cache, journaled
        await runOnPlc(step, reply);                                            // the recipe's timing is the PLC's, not the network's
      }
      if (run.completed === null) run.complete();                               // 0: journaled (a stop has ended the run already)
    } catch (error) {
      if (error instanceof AldDbError && error.code === '22003') alarm(error);  // a recipe setpoint out of range, refused locally
      if (run.completed === null) run.complete({ status: 'failed', errorMessage: String(error) });
    } finally {
      control.close();
    }
    await journal.flush({ timeoutMs: 10_000 }).catch(() => {});                  // optional: what is not drained stays on disk
  } finally {
    clearInterval(timer);
    await setpoints.close();
    await db.close();                                                           // closes the journal; pending entries stay for the next start
  }
}

// Setpoints outside a recipe: one round trip, checked on the server; reads of cached rows cost none.
export async function rampHeater(db: ReturnType<typeof createAldDb>, parameterId: string, value: number) {
  const before = await db.parameters.get(parameterId);                         // 0 when cached
  return db.parameters.set(parameterId, value, { expectedVersion: before.version, reason: 'manual ramp' });
}
