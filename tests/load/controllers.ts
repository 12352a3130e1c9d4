// N simulated controllers, each driving its own machine for a while: recording a tick of all 137
// readings every tickMs (10 Hz) and stepping through the machine's recipe (start, advance per
// step, close, complete, again), then checking that the database holds every recorded row once.
// Used by tests/load/load.test.ts (npm test: 50 controllers, 10 s) and scripts/soak.ts (60 s).
//
// Connections. A real controller is its own process with its own client: a pool plus the LISTEN
// session, so at least two connections each, and 50 controllers would need 100+ connections,
// PostgreSQL's default max_connections here. The SDK cannot switch LISTEN off, so the simulated
// controllers share clients: controllersPerClient (default 5) per createAldDb, each with a pool
// of poolMax (default 2). 50 controllers: 10 clients, 10 × (2 + 1) = 30 connections.
//
// Pool waits. Each controller has at most three calls in flight: its step loop awaits each call,
// and each of its recorders sends one call at a time (a backlog goes as one call); a run's
// recorder drains its last ticks while the next run's records, so two recorders for a moment.
// With the cache's background calls (a resync and a hot refresh at most), a client's calls in
// flight never exceed 3 × controllersPerClient + 2, so stats().pool.waiting stays at or below
// that minus poolMax however slow the database gets: a backlog grows in the recorders' buffers,
// not as queued calls.
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { createAldDb, flattenPlan, type AldDb, type AldDbError } from '../../src/index.ts';
import { createFleet, type FleetMachine } from './fleet.ts';

export interface LoadOptions {
  controllers: number;
  durationMs: number;
  /** Interval of the recording ticks (default 100 ms: 10 Hz). */
  tickMs?: number;
  /** Pause after each step (default 100 ms). */
  stepMs?: number;
  controllersPerClient?: number;
  poolMax?: number;
  /** Progress lines (soak). */
  log?: (line: string) => void;
}

export interface LoadResult {
  controllers: number;
  clients: number;
  /** Connections the clients may open: pools plus LISTEN sessions. */
  connections: number;
  /** From the first tick to the last one. */
  recordingMs: number;
  ticks: number;
  /** Fewest and most ticks one controller recorded. */
  ticksPerController: { min: number; max: number };
  /** Rows recorded (ticks × parameters), acknowledged by the database, and found there. */
  rows: { recorded: number; acknowledged: number; stored: number; lost: number; duplicated: number; unexpected: number };
  /** Stored rows per second of recording. */
  throughput: number;
  runs: { started: number; completed: number; aborted: number };
  steps: number;
  /** Errors any SDK call surfaced (by code), failed attempts inside the SDK, rows the recorders dropped. */
  errors: { surfaced: Record<string, number>; attempts: Record<string, number>; dropped: number };
  /** Milliseconds. record: from record() to the database acknowledging the tick. */
  latency: { record: Percentiles; advance: Percentiles };
  pool: { maxWaiting: number; maxInUse: number; waitBound: number };
  /** This process over the run: CPU (1 = one core busy) and event-loop utilisation (0..1). */
  node: { cpu: number; eventLoopUtilization: number };
}

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]);
  return { n: s.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(s.at(-1) ?? 0) };
}

const spread = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs) });

const round = (x: number) => Math.round(x * 100) / 100;

interface Tally {
  ticks: { processId: string; ts: string }[];
  ticksOf: Map<string, number>;
  surfaced: Record<string, number>;
  recordMs: number[];
  advanceMs: number[];
  runs: { started: number; completed: number; aborted: number };
  steps: number;
  acknowledged: number;
  dropped: number;
}

/** One controller: runs its recipe again and again until `stopAt`. */
async function drive(db: AldDb, machine: FleetMachine, stopAt: number, tickMs: number, stepMs: number, tally: Tally): Promise<void> {
  const fail = (error: unknown): undefined => {
    const code = String((error as AldDbError).code ?? 'UNEXPECTED');
    tally.surfaced[code] = (tally.surfaced[code] ?? 0) + 1;
    return undefined;
  };
  await pause(Math.random() * tickMs); // controllers do not tick in lockstep
  let draining: Promise<void> | undefined;
  while (performance.now() < stopAt) {
    const plan = await db.process.start({ machineId: machine.machineId, recipeId: machine.recipeId }).catch(fail);
    if (!plan) {
      await pause(stepMs);
      continue;
    }
    tally.runs.started++;
    const recorder = db.processRecorder(plan.process_id);
    const pending: number[] = []; // record() times of the ticks not yet acknowledged, in order
    recorder.on('sent', ({ ticks, rows }) => {
      const now = performance.now();
      for (const t of pending.splice(0, ticks)) tally.recordMs.push(now - t);
      tally.acknowledged += rows;
    });
    recorder.on('error', (error, { ticks }) => {
      fail(error);
      pending.splice(0, ticks);
    });
    let last = 0;
    const tick = () => {
      const ts = Math.max(Date.now(), last + 1);
      last = ts;
      const n = tally.ticks.length;
      const readings = Object.fromEntries(machine.parameterIds.map((id, j) => [id, (n % 100_000) * 1000 + j]));
      pending.push(performance.now());
      recorder.record(readings, ts);
      tally.ticks.push({ processId: plan.process_id, ts: new Date(ts).toISOString() });
      tally.ticksOf.set(machine.machineId, (tally.ticksOf.get(machine.machineId) ?? 0) + 1);
    };
    tick();
    const ticker = setInterval(tick, tickMs);
    let status: 'completed' | 'aborted' = 'completed';
    try {
      for (const s of flattenPlan(plan)) {
        if (performance.now() >= stopAt) {
          status = 'aborted';
          break;
        }
        const started = performance.now();
        await db.process.advance({ processId: plan.process_id, stepId: s.step_id, stepIndex: s.step_index, loopIteration: s.loop_iteration });
        tally.advanceMs.push(performance.now() - started);
        tally.steps++;
        await pause(stepMs);
      }
      if (status === 'completed') await db.process.advance({ processId: plan.process_id, stepId: null });
    } catch (error) {
      fail(error);
      status = 'aborted';
    } finally {
      clearInterval(ticker);
    }
    try {
      await db.process.complete({ processId: plan.process_id, status });
      tally.runs[status]++;
    } catch (error) {
      fail(error);
    }
    // The run's last ticks (all stamped before its end) drain while the next run starts; the run
    // before must have drained by then, so one recorder at most drains at a time.
    await draining;
    draining = recorder.close({ timeoutMs: 120_000 }).then(() => undefined, fail).finally(() => { tally.dropped += recorder.dropped; });
  }
  await draining;
}

/** Creates the fleet on `sql`, runs the controllers against `databaseUrl`, and checks the rows. */
export async function runLoad(databaseUrl: string, sql: postgres.Sql, options: LoadOptions): Promise<LoadResult & { fleet: FleetMachine[] }> {
  const tickMs = options.tickMs ?? 100;
  const stepMs = options.stepMs ?? 100;
  const perClient = options.controllersPerClient ?? 5;
  const poolMax = options.poolMax ?? 2;
  const log = options.log ?? (() => {});
  const fleet = await createFleet(sql, options.controllers, `${Date.now().toString(36)}`);
  const clientCount = Math.ceil(options.controllers / perClient);
  const clients = Array.from({ length: clientCount }, () => createAldDb({ databaseUrl, pool: { max: poolMax }, applicationName: 'ald-db load' }));
  const tally: Tally = {
    ticks: [], ticksOf: new Map(), surfaced: {}, recordMs: [], advanceMs: [], runs: { started: 0, completed: 0, aborted: 0 }, steps: 0, acknowledged: 0, dropped: 0,
  };
  const pool = { maxWaiting: 0, maxInUse: 0 };
  try {
    await Promise.all(clients.map((db) => db.ready()));
    const sampler = setInterval(() => {
      for (const db of clients) {
        const p = db.stats().pool;
        pool.maxWaiting = Math.max(pool.maxWaiting, p.waiting);
        pool.maxInUse = Math.max(pool.maxInUse, p.inUse);
      }
    }, 10);
    const progress = setInterval(() => log(`  ${tally.ticks.length} ticks, ${tally.acknowledged} rows stored, ${tally.steps} steps`), 10_000);
    const started = performance.now();
    const stopAt = started + options.durationMs;
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    try {
      await Promise.all(fleet.map((machine, i) => drive(clients[Math.floor(i / perClient)], machine, stopAt, tickMs, stepMs, tally)));
    } finally {
      clearInterval(sampler);
      clearInterval(progress);
    }
    const elapsed = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const node = {
      cpu: round((cpu.user + cpu.system) / 1000 / elapsed),
      eventLoopUtilization: round(performance.eventLoopUtilization(eluBefore).utilization),
    };
    const recordingMs = Math.min(performance.now(), stopAt) - started;
    const attempts: Record<string, number> = {};
    for (const db of clients) for (const [code, n] of Object.entries(db.stats().errors)) attempts[code] = (attempts[code] ?? 0) + n;
    const rows = await compareRows(sql, tally.ticks);
    return {
      fleet,
      controllers: options.controllers,
      clients: clientCount,
      connections: clientCount * (poolMax + 1),
      recordingMs: Math.round(recordingMs),
      ticks: tally.ticks.length,
      ticksPerController: spread(fleet.map((m) => tally.ticksOf.get(m.machineId) ?? 0)),
      rows: { acknowledged: tally.acknowledged, ...rows },
      throughput: Math.round(rows.stored / (recordingMs / 1000)),
      runs: tally.runs,
      steps: tally.steps,
      errors: { surfaced: tally.surfaced, attempts, dropped: tally.dropped },
      latency: { record: percentiles(tally.recordMs), advance: percentiles(tally.advanceMs) },
      pool: { ...pool, waitBound: 3 * perClient + 2 - poolMax },
      node,
    };
  } finally {
    await Promise.all(clients.map((db) => db.close({ timeoutMs: 30_000 })));
  }
}

/**
 * The recorded keys against the stored rows, by key: every tick recorded all of its machine's
 * parameters, so the expected set is ticks × parameters. A temp table keeps it on one connection.
 */
async function compareRows(sql: postgres.Sql, ticks: { processId: string; ts: string }[]) {
  return sql.begin(async (tx) => {
    await tx`create temporary table load_ticks (process_id uuid not null, ts timestamptz not null, primary key (process_id, ts)) on commit drop`;
    for (let i = 0; i < ticks.length; i += 10_000) {
      const chunk = ticks.slice(i, i + 10_000);
      await tx`insert into load_ticks select * from unnest(${tx.array(chunk.map((t) => t.processId))}::uuid[], ${tx.array(chunk.map((t) => t.ts))}::timestamptz[])`;
    }
    await tx`analyze load_ticks`;
    const [row] = await tx<{ recorded: number; stored: number; lost: number; duplicated: number; unexpected: number }[]>`
      with expected as (
        select t.process_id, p.id as parameter_id, t.ts
        from load_ticks t
        join public.process_executions e on e.id = t.process_id
        join public.component_parameters p on p.machine_id = e.machine_id
      ),
      stored as (
        select d.process_id, d.parameter_id, d.ts from public.process_data_points d
        where d.process_id in (select distinct process_id from load_ticks)
      )
      select (select count(*) from expected)::int as recorded,
             (select count(*) from stored)::int as stored,
             (select count(*) from expected x where not exists (
                select 1 from public.process_data_points d where d.process_id = x.process_id and d.parameter_id = x.parameter_id and d.ts = x.ts))::int as lost,
             (select count(*) - count(distinct (process_id, parameter_id, ts)) from stored)::int as duplicated,
             (select count(*) from stored s where not exists (select 1 from load_ticks t where t.process_id = s.process_id and t.ts = s.ts))::int as unexpected`;
    return row;
  });
}
