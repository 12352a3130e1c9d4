/**
 * The benchmark in quick mode, without injected latency: the round trips each pattern costs,
 * counted exactly at the TcpProxy. Timings are never asserted (they depend on the machine).
 * Needs the server of TEST_DATABASE_URL (the benchmark creates and drops a database of its own):
 * run through `npm test -- --only vitest tests/bench`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runBenchmark, STEP_TYPES, type BenchResult } from '../bench/bench.ts';

/** The server of TEST_DATABASE_URL: the same URL pointing at its maintenance database. */
function serverUrl(): string {
  if (process.env.ALD_TEST_SERVER_URL) return process.env.ALD_TEST_SERVER_URL;
  const db = process.env.TEST_DATABASE_URL;
  if (!db) throw new Error('TEST_DATABASE_URL is not set: run these tests with `npm test -- --only vitest tests/bench`');
  const u = new URL(db);
  u.pathname = '/postgres';
  return u.toString();
}

describe('npm run bench (quick, 0 ms RTT)', () => {
  let r: BenchResult;

  beforeAll(async () => {
    r = await runBenchmark({ serverUrl: serverUrl(), rttMs: 0, quick: true, iterations: 3 });
  }, 240_000);

  it('benchmarks the seed reactor and a generated machine of 60 components and 484 parameters', () => {
    expect(r.machines.seed.machine).toMatchObject({ components: 21, parameters: 137 });
    expect(r.machines.large!.machine).toMatchObject({ components: 60, parameters: 484 });
    expect(r.rttMs).toBe(0);
    expect(r.iterations).toBe(3);
  });

  it('counts 1 + N + ceil(P/50) = 25 round trips for an old recording tick on the seed reactor, 71 on the large machine', () => {
    for (const [machine, expected] of [['seed', 1 + 21 + 3], ['large', 1 + 60 + 10]] as const) {
      const old = r.machines[machine]!.steps.recordingTick.old;
      expect({ machine, min: old.roundTripsMin, max: old.roundTripsMax }).toEqual({ machine, min: expected, max: expected });
      expect(r.machines[machine]!.expectedOldRoundTrips.recordingTick).toBe(expected);
    }
  });

  it('counts 12 round trips for an old valve step, 9 for a purge step and 10 (+2 in the background) for a set-parameter step', () => {
    for (const machine of ['seed', 'large'] as const) {
      const m = r.machines[machine]!;
      const exact = (step: (typeof STEP_TYPES)[number]) => [m.steps[step].old.roundTripsMin, m.steps[step].old.roundTripsMax];
      expect(exact('valveStep')).toEqual([12, 12]);
      expect(exact('purgeStep')).toEqual([9, 9]);
      expect(exact('parameterStep')).toEqual([10, 10]);
      expect(m.oldParameterStepBackgroundRoundTrips).toBe(2);
      expect(exact('cachedParameterRead')).toEqual([1, 1]);
    }
  });

  it('counts exactly 1 round trip for every new step and recording tick, and 0 for a cached parameter read', () => {
    for (const machine of ['seed', 'large'] as const) {
      const m = r.machines[machine]!;
      for (const step of ['recordingTick', 'valveStep', 'purgeStep', 'parameterStep'] as const) {
        const n = m.steps[step].new;
        expect({ machine, step, min: n.roundTripsMin, max: n.roundTripsMax, newConnections: n.newConnections })
          .toEqual({ machine, step, min: 1, max: 1, newConnections: 0 });
      }
      expect([m.steps.cachedParameterRead.new.roundTripsMin, m.steps.cachedParameterRead.new.roundTripsMax]).toEqual([0, 0]);
      expect(m.newProcessRoundTrips).toEqual({ start: 1, complete: 1 });
    }
  });

  it('reports the old/new round-trip ratio, 25 for the seed recording tick and none (infinite) for a cached read', () => {
    expect(r.machines.seed.steps.recordingTick.ratio.roundTrips).toBe(25);
    expect(r.machines.seed.steps.valveStep.ratio.roundTrips).toBe(12);
    expect(r.machines.seed.steps.cachedParameterRead.ratio.roundTrips).toBeNull();
  });

  it('measures all four ingestion methods and the cache hit ratio of a whole seed recipe run', () => {
    for (const method of ['perRow', 'batch50', 'arrayInsert', 'copy'] as const) {
      expect(r.ingestion[method]).toBeGreaterThan(0);
    }
    expect(r.ingestionWithRtt).toBeNull();
    // the seed recipe: 2 parameter steps, 2 purges, a loop of 10 × 4 steps, 1 final purge
    expect(r.recipeRun.steps).toBe(45);
    expect(r.recipeRun.hits + r.recipeRun.misses).toBe(r.recipeRun.reads);
    expect(r.cacheHitRatio).toBeCloseTo(r.recipeRun.hits / r.recipeRun.reads, 3);
  });

  it('runs the journaled controller: no round trip while a step or tick is journaled, the backlog drained in few calls', () => {
    const j = r.journaled!;
    expect(j.steps.roundTripsWhileStepping).toBe(0);
    expect(j.steps.all.n).toBe(45 * j.steps.runs);
    expect(Object.keys(j.steps.byType).sort()).toEqual(['loop', 'parameter', 'purge', 'valve']);
    // 45 steps + 45 ticks + the end of the run per recipe run, drained in fewer calls than entries
    expect(j.steps.drain.entries).toBe(91 * j.steps.runs);
    expect(j.steps.drain.roundTrips).toBeLessThanOrEqual(j.steps.drain.entries + 2 * j.steps.runs);
    // 40 ticks × 484 rows: within both row limits per call (recorder 20 000, journal 50 000), one call each way
    expect(j.drain).toMatchObject({ rows: 40 * 484, journalCalls: 1, recorderCalls: 1 });
    // the machine's ticks (record_readings) through the journal: one call too; db.recorder sends ticks of up to 20 000 rows a call
    expect(j.drain.machine.journalCalls).toBe(1);
    expect(j.drain.machine.recorderCalls).toBeGreaterThanOrEqual(1);
    expect(r.targets.find((t) => t.name.startsWith('journaled: round trips'))?.met).toBe(true);
  });
});
