// What a benchmark run returns (the --json output) and the targets BENCHMARKS.md reports.
import type { MachineInfo } from './fixtures.ts';
import type { IngestionResult } from './ingestion.ts';
import type { JournaledResult } from './journaled.ts';
import type { Measurement } from './meter.ts';
import type { oldRoundTrips } from './old-controller.ts';
import type { RecipeRunResult } from './recipe-run.ts';
import { ratio, round } from './stats.ts';

export const STEP_TYPES = ['recordingTick', 'valveStep', 'purgeStep', 'parameterStep', 'cachedParameterRead'] as const;
export type StepType = (typeof STEP_TYPES)[number];

export interface StepResult {
  old: Measurement;
  new: Measurement;
  /** old / new; null where new is 0 (a cached read costs no round trip). */
  ratio: { roundTrips: number | null; p50: number | null; p95: number | null; p99: number | null };
}

export interface MachineResult {
  machine: MachineInfo;
  steps: Record<StepType, StepResult>;
  /** Requests docs/design.md §1 gives for the old pattern on this machine (checked against the proxy's counts). */
  expectedOldRoundTrips: ReturnType<typeof oldRoundTrips>;
  /** Round trips the old set-parameter step sent in the background (not in its latency). */
  oldParameterStepBackgroundRoundTrips: number;
  /** Round trips of start_process and complete_process through the new controller. */
  newProcessRoundTrips: { start: number; complete: number };
}

export interface Target {
  name: string;
  value: number | null;
  target: string;
  met: boolean;
}

export interface BenchResult {
  rttMs: number;
  iterations: number;
  quick: boolean;
  /** What implemented the new pattern (always the SDK; older result files may say 'direct-rpc'). */
  newImplementation: 'sdk' | 'direct-rpc';
  environment: {
    node: string; nproc: number; memoryGiB: number; cpu: string; postgres: string; platform: string;
    /** 1-minute load average when the run started and when it ended (other work on the machine skews timings). */
    loadAverage: { start: number; end: number };
  };
  /** `select 1` through the proxy: the latency floor of one round trip at rttMs on this machine. */
  rttFloor: Measurement;
  /** large is absent when the run was limited to the seed machine (--machines seed). */
  machines: { seed: MachineResult; large?: MachineResult };
  /** rows/s over a direct connection (no proxy, no injected latency): the database's capacity. */
  ingestion: IngestionResult;
  /** rows/s through a proxy with rttMs injected; null when rttMs is 0. */
  ingestionWithRtt: IngestionResult | null;
  /** The journaled controller (absent in result files from before issue 16). */
  journaled?: JournaledResult;
  cacheHitRatio: number;
  recipeRun: RecipeRunResult;
  /** Round trips of the SDK's LISTEN session over the whole run (subscribe, heartbeats), through its own proxy. */
  listenerRoundTrips: number;
  targets: Target[];
  durationMs: number;
  /** The command line that produced the result (set by the CLI). */
  command?: string;
}

export function compare(old: Measurement, next: Measurement): StepResult {
  const r = (a: number, b: number) => {
    const x = ratio(a, b);
    return x === null ? null : round(x, 2);
  };
  return {
    old,
    new: next,
    ratio: {
      roundTrips: r(old.roundTrips, next.roundTrips),
      p50: r(old.p50, next.p50),
      p95: r(old.p95, next.p95),
      p99: r(old.p99, next.p99),
    },
  };
}

/** The targets BENCHMARKS.md reports (never asserted in tests: timings depend on the machine). */
export function evaluateTargets(r: BenchResult): Target[] {
  const targets: Target[] = [];
  for (const [key, m] of Object.entries(r.machines) as [string, MachineResult][]) {
    for (const step of ['recordingTick', 'valveStep', 'purgeStep', 'parameterStep'] as const) {
      const n = m.steps[step].new;
      targets.push({
        name: `${key} ${step}: new round trips`, value: n.roundTrips, target: '= 1',
        met: n.roundTripsMin === 1 && n.roundTripsMax === 1,
      });
      if (r.rttMs === 32) {
        targets.push({ name: `${key} ${step}: new p95 at 32 ms RTT`, value: n.p95, target: '<= 35 ms', met: n.p95 <= 35 });
      }
    }
    const read = m.steps.cachedParameterRead.new;
    targets.push({ name: `${key} cachedParameterRead: new round trips`, value: read.roundTrips, target: '= 0', met: read.roundTripsMax === 0 });
  }
  const tick = r.machines.seed.steps.recordingTick;
  const tickRatio = tick.ratio.roundTrips;
  targets.push({ name: 'seed recordingTick: old/new round trips', value: tickRatio, target: '>= 20', met: (tickRatio ?? 0) >= 20 });
  const best = Math.max(r.ingestion.copy, r.ingestion.arrayInsert);
  const ingestRatio = round(best / r.ingestion.batch50, 1);
  targets.push({ name: 'ingestion: max(copy, arrayInsert) / batch50 (direct, no RTT)', value: ingestRatio, target: '>= 10', met: ingestRatio >= 10 });
  if (r.ingestionWithRtt) {
    const w = r.ingestionWithRtt;
    const v = round(Math.max(w.copy, w.arrayInsert) / w.batch50, 1);
    targets.push({ name: `ingestion: max(copy, arrayInsert) / batch50 (${r.rttMs} ms RTT)`, value: v, target: '>= 10', met: v >= 10 });
  }
  if (r.journaled) {
    const j = r.journaled;
    targets.push({ name: 'journaled: round trips while advance()/record() ran', value: j.steps.roundTripsWhileStepping, target: '= 0', met: j.steps.roundTripsWhileStepping === 0 });
    const d = round(j.steps.all.p95 - j.reference.all.p95, 2);
    targets.push({ name: `journaled: step p95 at ${r.rttMs} ms RTT minus at RTT 0 (same run)`, value: d, target: '<= 1 ms', met: d <= 1 });
    const v = round(j.drain.journal / j.drain.recorder, 2);
    targets.push({ name: `journaled: drain rows/s / recorder rows/s (${r.rttMs} ms RTT)`, value: v, target: '>= 1', met: v >= 1 });
    const vm = round(j.drain.machine.journal / j.drain.machine.recorder, 2);
    targets.push({ name: `journaled: machine ticks' drain rows/s / db.recorder rows/s (${r.rttMs} ms RTT)`, value: vm, target: '>= 1', met: vm >= 1 });
  }
  return targets;
}
