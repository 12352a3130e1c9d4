// The third column: the journaled controller (src/sdk/journal.ts, issue 16).
//
//   steps   the seed recipe run with db.journal(): a tick recorded and a step advanced every
//           `stepGapMs` (a recipe scaled down in time), the drain running beside it through the
//           same latency-injecting proxy. Timed: advance() itself (validation, the journal's
//           durable commit: an fsync), per step type. Round trips are counted at the proxy while
//           advance() runs: the call is synchronous, so nothing can cross the network meanwhile.
//           A run of the large machine's recipe through a proxy without latency alternates with
//           it step by step: the RTT-0 figure, taken on the same disk at the same moments (an
//           fsync's latency moves with other work on the machine, far more than by 1 ms).
//   drain   a backlog of `ticks` ticks of the large machine (484 readings each): journaled, then
//           drained (time until flush() resolves), and the same ticks through db.recorder()
//           (time until its flush() resolves), both through the proxy at the injected RTT. Each
//           backlog is built in one synchronous loop, so its drain starts with all of it pending.
//           Then the same for the machine's ticks outside a run: journal.recorder() against
//           db.recorder() (record_readings).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAldDb, type JournaledRun } from '../src/index.ts';
import type { TcpProxy } from '../support/tcp-proxy.ts';
import { distribution, round } from './stats.ts';

export interface JournaledSteps {
  /** advance() latency in ms, by step type, and over every step. */
  byType: Record<string, { p50: number; p95: number; p99: number; n: number }>;
  all: { p50: number; p95: number; p99: number; n: number };
  /** record() latency in ms (a tick of the seed reactor: journaled, durable). */
  tick: { p50: number; p95: number; p99: number; n: number };
  /** Round trips counted at the proxy while advance() or record() ran (0: never waits for the network). */
  roundTripsWhileStepping: number;
  /** Round trips of the whole drain of the runs, and the journal entries they carried. */
  drain: { roundTrips: number; entries: number };
  runs: number;
}

export interface DrainThroughput {
  rows: number;
  ticks: number;
  /** rows/s from the end of journaling until flush() resolved. */
  journal: number;
  /** rows/s of db.recorder() for the same ticks, from record() until flush() resolved. */
  recorder: number;
  journalCalls: number;
  recorderCalls: number;
  /** The same ticks as the machine's (no run): journal.recorder() vs db.recorder(), rows/s and calls. */
  machine: { journal: number; recorder: number; journalCalls: number; recorderCalls: number };
}

export interface JournaledResult {
  /** Through the proxy with the injected RTT. */
  steps: JournaledSteps;
  /** Steps through a proxy without latency, interleaved one for one with `steps`: the RTT-0 figure of the same run. */
  reference: JournaledSteps;
  drain: DrainThroughput;
}

const dist = (xs: number[]) => {
  const d = distribution(xs);
  return { p50: round(d.p50, 3), p95: round(d.p95, 3), p99: round(d.p99, 3), n: d.n };
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StepSamples { byType: Record<string, number[]>; all: number[]; ticks: number[]; trips: number; drainTrips: number; entries: number; runs: number }

/** record() then advance() of the run's next step, timed, with the round trips crossing `proxy` meanwhile. */
function timedStep(run: JournaledRun, proxy: TcpProxy, ids: string[], into: StepSamples): boolean {
  const step = run.next();
  if (!step) return false;
  const readings = Object.fromEntries(ids.map((id, j) => [id, step.step_index + j / 1000]));
  let before = proxy.stats().roundTrips;
  let t = performance.now();
  run.record(readings);
  into.ticks.push(performance.now() - t);
  into.trips += proxy.stats().roundTrips - before;
  before = proxy.stats().roundTrips;
  t = performance.now();
  run.advance();
  const ms = performance.now() - t;
  into.trips += proxy.stats().roundTrips - before;
  into.all.push(ms);
  (into.byType[step.step.step_type] ??= []).push(ms);
  into.entries += 2;
  return true;
}

function summarizeSteps(x: StepSamples): JournaledSteps {
  return {
    byType: Object.fromEntries(Object.entries(x.byType).map(([k, v]) => [k, dist(v)])),
    all: dist(x.all), tick: dist(x.ticks), roundTripsWhileStepping: x.trips,
    drain: { roundTrips: x.drainTrips, entries: x.entries }, runs: x.runs,
  };
}

const emptySamples = (): StepSamples => ({ byType: {}, all: [], ticks: [], trips: 0, drainTrips: 0, entries: 0, runs: 0 });

export async function measureJournaled(options: {
  databaseUrl: string; listenUrl: string; proxy: TcpProxy;
  /** The same database through a proxy without injected latency: the RTT-0 reference, interleaved step by step. */
  referenceUrl: string; referenceProxy: TcpProxy;
  seed: { machineId: string; recipeId: string };
  large: { machineId: string; recipeId: string };
  runs: number; stepGapMs: number; ticks: number;
  log: (line: string) => void;
}): Promise<JournaledResult> {
  const { proxy, log } = options;
  const dir = mkdtempSync(join(tmpdir(), 'ald-bench-journal-'));
  const db = createAldDb({ databaseUrl: options.databaseUrl, listenUrl: options.listenUrl, cache: { hotRefreshMs: 0 } });
  const ref = createAldDb({ databaseUrl: options.referenceUrl, listenUrl: options.referenceUrl, cache: { hotRefreshMs: 0 } });
  try {
    await Promise.all([db.ready(), ref.ready()]);
    const journal = db.journal({ path: join(dir, 'journal.db') });
    const refJournal = ref.journal({ path: join(dir, 'reference.db') });
    // ---- steps: the seed recipe through the RTT proxy and, step by step in alternation, a run of
    // the large machine's recipe through a proxy without latency: the RTT-0 figure taken on the same
    // disk at the same moments (the journal's commit is an fsync; other work on the machine moves it).
    const atRtt = emptySamples();
    const atZero = emptySamples();
    for (let r = 0; r < options.runs; r++) {
      const trips0 = proxy.stats().roundTrips;
      const refTrips0 = options.referenceProxy.stats().roundTrips;
      const run = await journal.start({ machineId: options.seed.machineId, recipeId: options.seed.recipeId });
      const refRun = await refJournal.start({ machineId: options.large.machineId, recipeId: options.large.recipeId });
      const ids = run.plan.parameters.map((p) => p.id);
      const refIds = refRun.plan.parameters.slice(0, ids.length).map((p) => p.id);
      while (timedStep(run, proxy, ids, atRtt)) {
        timedStep(refRun, options.referenceProxy, refIds, atZero);
        await pause(options.stepGapMs);
      }
      run.complete();
      refRun.abort('bench: RTT-0 reference run');
      atRtt.entries++;
      atZero.entries++;
      await Promise.all([journal.flush({ timeoutMs: 600_000 }), refJournal.flush({ timeoutMs: 600_000 })]);
      atRtt.drainTrips += proxy.stats().roundTrips - trips0;
      atZero.drainTrips += options.referenceProxy.stats().roundTrips - refTrips0;
      atRtt.runs++;
      atZero.runs++;
    }
    refJournal.close();
    const steps = summarizeSteps(atRtt);
    const reference = summarizeSteps(atZero);
    log(`  journaled steps: p95 ${steps.all.p95} ms (RTT-0 reference ${reference.all.p95} ms) over ${steps.all.n} steps, ` +
      `${steps.roundTripsWhileStepping} round trips while stepping; drain ${steps.drain.roundTrips} round trips for ${steps.drain.entries} entries`);

    // ---- drain throughput: the same backlog through the journal and through the recorder
    const run = await journal.start({ machineId: options.large.machineId, recipeId: options.large.recipeId });
    const ids = run.plan.parameters.map((p) => p.id);
    const base = Date.parse(run.plan.started_at) + 1;
    const tickReadings = (i: number) => Object.fromEntries(ids.map((id, j) => [id, i + j / 1000]));
    // A backlog (as after an outage): journaled in one synchronous loop, so the drain, scheduled
    // after it, finds every tick pending. Timed from the end of the loop (the fsyncs are not in it).
    const calls0 = db.stats().roundTrips.apply_journal ?? 0;
    for (let i = 0; i < options.ticks; i++) run.record(tickReadings(i), new Date(base + i * 1000));
    const tj = performance.now();
    await journal.flush({ timeoutMs: 600_000 });
    const journalSec = (performance.now() - tj) / 1000;
    const journalCalls = (db.stats().roundTrips.apply_journal ?? 0) - calls0;
    run.complete();
    await journal.flush({ timeoutMs: 600_000 });
    journal.close();

    const plan = await db.process.start({ machineId: options.large.machineId, recipeId: options.large.recipeId });
    const recorder = db.processRecorder(plan.process_id);
    const base2 = Date.parse(plan.started_at) + 1;
    const rcalls0 = db.stats().roundTrips.record_process_data ?? 0;
    for (let i = 0; i < options.ticks; i++) recorder.record(tickReadings(i), new Date(base2 + i * 1000));
    const tr = performance.now();
    await recorder.flush({ timeoutMs: 600_000 });
    const recorderSec = (performance.now() - tr) / 1000;
    const recorderCalls = (db.stats().roundTrips.record_process_data ?? 0) - rcalls0;
    await recorder.close();
    await db.process.complete({ processId: plan.process_id });
    const rows = options.ticks * ids.length;

    // The machine's ticks outside a run (record_readings): journal.recorder() vs db.recorder(),
    // a second backlog each, an hour after the first so that no key repeats.
    const machineId = options.large.machineId;
    const base3 = Date.now() - 3_600_000;
    const journal2 = db.journal({ path: join(dir, 'machine.db') });
    const jrec = journal2.recorder(machineId);
    const mj0 = db.stats().roundTrips.apply_journal ?? 0;
    for (let i = 0; i < options.ticks; i++) jrec.record(tickReadings(i), new Date(base3 + i * 1000));
    const tm = performance.now();
    await jrec.flush();
    const machineJournalSec = (performance.now() - tm) / 1000;
    const machineJournalCalls = (db.stats().roundTrips.apply_journal ?? 0) - mj0;
    await jrec.close();
    journal2.close();
    const mrec = db.recorder(machineId);
    const mr0 = db.stats().roundTrips.record_readings ?? 0;
    for (let i = 0; i < options.ticks; i++) mrec.record(tickReadings(i), new Date(base3 + 1_800_000 + i * 1000));
    const tm2 = performance.now();
    await mrec.flush({ timeoutMs: 600_000 });
    const machineRecorderSec = (performance.now() - tm2) / 1000;
    const machineRecorderCalls = (db.stats().roundTrips.record_readings ?? 0) - mr0;
    await mrec.close();

    const drain: DrainThroughput = {
      rows, ticks: options.ticks, journal: Math.round(rows / journalSec), recorder: Math.round(rows / recorderSec), journalCalls, recorderCalls,
      machine: {
        journal: Math.round(rows / machineJournalSec), recorder: Math.round(rows / machineRecorderSec),
        journalCalls: machineJournalCalls, recorderCalls: machineRecorderCalls,
      },
    };
    log(`  drain of ${rows} rows: journal ${drain.journal} rows/s (${journalCalls} calls), recorder ${drain.recorder} rows/s (${recorderCalls} calls); ` +
      `machine ticks: journal ${drain.machine.journal} rows/s (${machineJournalCalls} calls), recorder ${drain.machine.recorder} rows/s (${machineRecorderCalls} calls)`);
    return { steps, reference, drain };
  } finally {
    await Promise.all([db.close(), ref.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
