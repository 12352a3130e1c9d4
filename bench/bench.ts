// The benchmark: the old controller's access patterns and the new one, against the same
// throwaway database, each through its own latency-injecting TcpProxy (docs/design.md §8).
//
// Per machine, the old phase runs first (its own execution, created with plain inserts as the old
// controller did), then the new phase (start_process … complete_process): a machine runs one
// execution at a time. Then a whole seed recipe run measures the cache hit ratio, and ingestion
// throughput is measured over a direct connection and through a proxy with the injected RTT.
import os from 'node:os';
import postgres, { type Sql } from 'postgres';
import { SdkController } from './sdk-controller.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { DEFAULT_SERVER_URL, dropDatabase, prepareDatabase, uniqueDatabaseName } from '../src/database/database.ts';
import {
  LARGE_MACHINE_ID, SEED_MACHINE_ID, SEED_RECIPE_ID, createBenchRecipe, createLargeMachine, machineInfo,
  machineParameterIds, simulatedReading, type BenchRecipe, type MachineInfo,
} from './fixtures.ts';
import { Meter } from './meter.ts';
import { OldController, createOldExecution, endOldExecution, oldRoundTrips } from './old-controller.ts';
import { createLegacyLayout } from './legacy-layout.ts';
import type { NewController } from './new-controller.ts';
import { ingestionPlan, measureIngestion, type IngestionResult } from './ingestion.ts';
import { runRecipe } from './recipe-run.ts';
import { measureJournaled } from './journaled.ts';
import { round } from './stats.ts';
import { compare, evaluateTargets, type BenchResult, type MachineResult } from './results.ts';

export { STEP_TYPES, evaluateTargets } from './results.ts';
export type { BenchResult, MachineResult, StepResult, StepType, Target } from './results.ts';

export interface BenchOptions {
  /** Keep the benchmark's database (for `npm run doctor` on it) instead of dropping it. */
  keep?: boolean;
  serverUrl?: string;
  rttMs?: number;
  iterations?: number;
  quick?: boolean;
  /** Which machines get the old-vs-SDK step phase (default both; 'seed' keeps a run at 850 ms RTT short). */
  machines?: 'both' | 'seed';
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export async function runBenchmark(options: BenchOptions = {}): Promise<BenchResult> {
  const t0 = Date.now();
  const serverUrl = options.serverUrl ?? DEFAULT_SERVER_URL;
  const rttMs = options.rttMs ?? 20;
  const quick = options.quick ?? false;
  const iterations = options.iterations ?? (quick ? 5 : 30);
  const warmup = quick ? 1 : 2;
  const log = options.log ?? (() => {});
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`iterations must be a positive integer, but got: ${iterations}`);
  if (!(rttMs >= 0)) throw new Error(`rttMs must be 0 or more, but got: ${rttMs}`);

  const name = uniqueDatabaseName('ald_bench');
  log(`preparing throwaway database ${name}`);
  const url = await prepareDatabase(serverUrl, name, { seed: true });
  const target = new URL(url);
  const proxyTo = { targetHost: target.hostname, targetPort: Number(target.port || 5432) };
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  const proxies: TcpProxy[] = [];
  const clients: Sql[] = [];
  let controller: NewController | undefined;
  const proxy = async (rtt: number) => {
    const p = new TcpProxy({ ...proxyTo, rttMs: rtt });
    await p.start();
    proxies.push(p);
    return p;
  };
  const client = (p: TcpProxy) => {
    const c = postgres(proxiedUrl(url, p), { max: 1, onnotice: () => {} });
    clients.push(c);
    return c;
  };

  try {
    await createLargeMachine(admin);
    await createLegacyLayout(admin);
    const environment = await describeEnvironment(admin);

    const oldProxy = await proxy(rttMs);
    const newProxy = await proxy(rttMs);
    // The SDK's LISTEN session gets a proxy of its own: its heartbeat must not land in a step's count.
    const listenProxy = await proxy(rttMs);
    const oldSql = client(oldProxy);
    controller = await SdkController.create(proxiedUrl(url, newProxy), proxiedUrl(url, listenProxy));
    await controller.warmUp();
    log(`new pattern through: ${controller.implementation === 'sdk' ? 'the SDK (src/index.ts)' : 'direct RPC calls (SDK not available)'}`);

    // The floor: the cheapest possible statement through the same proxy, i.e. the injected RTT
    // plus the proxy's timer granularity and this machine's scheduling jitter.
    const rttFloor = await new Meter(oldProxy).measure(() => oldSql`select 1`, { iterations: Math.max(iterations, 30), warmup: 2 });

    const machines = {} as BenchResult['machines'];
    const recipes = {} as Record<keyof BenchResult['machines'], BenchRecipe>;
    for (const [key, machineId] of [['seed', SEED_MACHINE_ID], ['large', LARGE_MACHINE_ID]] as const) {
      const info = await machineInfo(admin, machineId);
      const recipe = (recipes[key] = await createBenchRecipe(admin, machineId));
      if (key === 'large' && options.machines === 'seed') continue;
      log(`${key} machine: ${info.name}, ${info.components} components, ${info.parameters} parameters`);
      machines[key] = await benchMachine({
        admin, info, recipe, oldSql, oldMeter: new Meter(oldProxy), controller, newMeter: new Meter(newProxy),
        iterations, warmup, log,
      });
    }

    log('cache hit ratio: the seed recipe through the new controller');
    await controller.warmUp();
    const components = new Map((await admin`select id, name from public.machine_components`).map((r) => [r.id as string, r.name as string]));
    const recipeRun = await runRecipe(controller, SEED_MACHINE_ID, SEED_RECIPE_ID, components, () => newProxy.stats().roundTrips);

    log('ingestion throughput');
    // Without injected RTT the rows go over a direct connection: the proxy would only add its own
    // CPU (it shares this process's event loop with the client) to the database's capacity.
    // With RTT they go through a proxy like everything else.
    const ingestDirect = postgres(url, { max: 1, onnotice: () => {} });
    clients.push(ingestDirect);
    const [{ plan }] = await admin`select public.start_process(${LARGE_MACHINE_ID}::uuid, ${recipes.large.recipeId}::uuid) as plan`;
    const ingestProcess = plan.process_id as string;
    const parameterIds = await machineParameterIds(admin, LARGE_MACHINE_ID);
    // Eight hours back: every key the runs write (up to 7 hours later) is within the database's
    // accepted tick window (now() - 31 days .. now() + 5 minutes).
    const monthStart = Date.now() - 8 * 3_600_000;
    const ingestion = await measureIngestion(ingestDirect, ingestProcess, parameterIds, ingestionPlan(0, quick), monthStart, 'direct');
    let ingestionWithRtt: IngestionResult | null = null;
    if (rttMs > 0) {
      const ingestSql = client(await proxy(rttMs));
      ingestionWithRtt = await measureIngestion(ingestSql, ingestProcess, parameterIds, ingestionPlan(rttMs, quick), monthStart + 4 * 3_600_000, 'proxy');
    }
    await admin`select public.complete_process(${ingestProcess}::uuid)`;

    log('journaled controller: steps from local state, the journal drained beside them');
    const journalProxy = await proxy(rttMs);
    const journalListenProxy = await proxy(rttMs);
    const referenceProxy = await proxy(0);
    const journaled = await measureJournaled({
      databaseUrl: proxiedUrl(url, journalProxy), listenUrl: proxiedUrl(url, journalListenProxy), proxy: journalProxy,
      referenceUrl: proxiedUrl(url, referenceProxy), referenceProxy,
      seed: { machineId: SEED_MACHINE_ID, recipeId: SEED_RECIPE_ID },
      large: { machineId: LARGE_MACHINE_ID, recipeId: recipes.large.recipeId },
      runs: quick ? 1 : 4, stepGapMs: 10, ticks: quick ? 40 : 200, log,
    });

    const result: BenchResult = {
      rttMs, iterations, quick,
      rttFloor,
      newImplementation: controller.implementation,
      environment,
      machines,
      ingestion,
      ingestionWithRtt,
      journaled,
      cacheHitRatio: round(recipeRun.cacheHitRatio, 4),
      listenerRoundTrips: 0,
      recipeRun,
      targets: [],
      durationMs: 0,
    };
    result.listenerRoundTrips = listenProxy.stats().roundTrips;
    result.environment.loadAverage.end = round(os.loadavg()[0], 2);
    result.targets = evaluateTargets(result);
    result.durationMs = Date.now() - t0;
    return result;
  } finally {
    await controller?.close().catch(() => {});
    await Promise.all(clients.map((c) => c.end({ timeout: 1 }).catch(() => {})));
    await Promise.all(proxies.map((p) => p.close()));
    await admin.end({ timeout: 1 }).catch(() => {});
    if (options.keep) log(`kept ${url} (npm run doctor -- --db-url '${url}')`);
    else {
      await dropDatabase(serverUrl, name);
      log(`dropped ${name}`);
    }
  }
}

interface MachineRun {
  admin: Sql;
  info: MachineInfo;
  recipe: BenchRecipe;
  oldSql: Sql;
  oldMeter: Meter;
  controller: NewController;
  newMeter: Meter;
  iterations: number;
  warmup: number;
  log: (line: string) => void;
}

/**
 * Ticks are one second apart, as the recorder runs, from an hour back (the database refuses tick
 * times more than 5 minutes ahead of its clock); old and new write different executions.
 */
const tickTime = (base: number, i: number) => new Date(base - 3_600_000 + i * 1000);

async function benchMachine(run: MachineRun): Promise<MachineResult> {
  const { admin, info, recipe, oldSql, oldMeter, controller, newMeter, iterations, warmup, log } = run;
  const opts = { iterations, warmup };
  const parameterIds = await machineParameterIds(admin, info.id);
  // a parameter no step writes: its cache entry stays valid for the whole phase
  const readId = parameterIds.find((id) => id !== recipe.setpointParameterId && id !== recipe.valveParameterId)!;
  const base = Date.now();

  log(`  old pattern (${info.name})`);
  const oldProcess = await createOldExecution(admin, recipe);
  const old = new OldController(oldSql, recipe, oldProcess);
  const oldTick = await oldMeter.measure((i) => old.recordingTick(tickTime(base, i), (p) => simulatedReading(p, i)), opts);
  const oldValve = await oldMeter.measure(() => old.valveStep(), opts);
  const oldPurge = await oldMeter.measure(() => old.purgeStep(), opts);
  const backgroundTasks: (() => Promise<void>)[] = [];
  const oldParameter = await oldMeter.measure(async () => {
    backgroundTasks.push(await old.parameterStep());
  }, opts);
  // The old controller ran these off the step's critical path: counted, not timed.
  const background: number[] = [];
  for (const task of backgroundTasks) background.push(await oldMeter.count(task));
  const oldRead = await oldMeter.measure(() => old.readParameter(readId), opts);
  await endOldExecution(admin, recipe, oldProcess);

  log(`  new pattern (${info.name})`);
  // The old phase may have outlasted the pool's idle timeout (60 s): a running controller's
  // connection is open, so reopen it before counting (its handshake is not a step's cost).
  await controller.warmUp();
  let started!: Awaited<ReturnType<NewController['start']>>;
  const start = await newMeter.count(async () => {
    started = await controller.start(info.id, recipe.recipeId);
  });
  const pid = started.processId;
  const readings = started.parameters.map((p, i) => ({ parameterId: p.id, value: simulatedReading(i, 0) }));
  let index = 0;
  const step = (stepId: string) => controller.advance(pid, stepId, ++index, 1 + Math.floor(index / 4));
  await controller.advance(pid, recipe.loopStepId, index); // the loop step opens the run (index 0)
  const newTick = await newMeter.measure(
    (i) => controller.recordTick(pid, readings.map((r, j) => ({ ...r, value: simulatedReading(j, i) })), tickTime(base, i)),
    opts,
  );
  const newValve = await newMeter.measure(() => step(recipe.valveStepId), opts);
  const newPurge = await newMeter.measure(() => step(recipe.purgeStepId), opts);
  let turn = 0;
  const newParameter = await newMeter.measure(() => step(recipe.parameterStepIds[turn++ % 2]), opts);
  await controller.get(readId); // fill the cache (unmeasured): a cached read is the steady state
  const newRead = await newMeter.measure(() => controller.get(readId), opts);
  const complete = await newMeter.count(() => controller.complete(pid));

  return {
    machine: info,
    steps: {
      recordingTick: compare(oldTick, newTick),
      valveStep: compare(oldValve, newValve),
      purgeStep: compare(oldPurge, newPurge),
      parameterStep: compare(oldParameter, newParameter),
      cachedParameterRead: compare(oldRead, newRead),
    },
    expectedOldRoundTrips: oldRoundTrips(info.components, info.parameters),
    oldParameterStepBackgroundRoundTrips: round(background.reduce((a, b) => a + b, 0) / background.length, 2),
    newProcessRoundTrips: { start, complete },
  };
}

/** The URL of the same database through the proxy. */
function proxiedUrl(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

async function describeEnvironment(sql: Sql): Promise<BenchResult['environment']> {
  const [{ version }] = await sql`select current_setting('server_version') as version`;
  return {
    node: process.version,
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    postgres: String(version),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: { start: round(os.loadavg()[0], 2), end: 0 },
  };
}
