// The demo's report: round trips and latency per step type, the cache, and the recorder's
// bookkeeping checked against what the database stored. Plain data (for --json) and its text form.
import type { AldDbStats } from '../sdk/client.ts';
import type { RunResult, StepRecord } from './controller.ts';

export interface StepTypeSummary {
  steps: number;
  roundTrips: number;
  roundTripsPerStep: number;
  latencyMs: { p50: number; max: number };
}

export interface DemoSummary {
  ok: boolean;
  status: RunResult['status'];
  error: string | null;
  recipe: string;
  processId: string;
  commandId: string;
  database: { name: string; server: string; embedded: boolean; kept: boolean };
  speed: number;
  steps: { completed: number; total: number };
  time: { simulatedS: number; wallS: number; setupS: number };
  stepTypes: Record<string, StepTypeSummary>;
  /** Round trips of the whole run by RPC (the recorder's included), and their sum. */
  roundTrips: { byRpc: Record<string, number>; total: number };
  calls: { claimMs: number | null; startMs: number | null; completeMs: number | null };
  cache: { hits: number; misses: number; hitRatio: number };
  points: {
    ticks: number; perTick: number; recorded: number; sent: number; stored: number;
    dropped: number; retried: number; ok: boolean; errors: string[];
  };
  perStep: { index: number; name: string; type: string; roundTrips: number; latencyMs: number }[];
  /** Setpoint requests the PLC loop handled: applied (confirmed by the PLC), failed (with why), still open at the end. */
  setpoints: RunResult['setpoints'];
  /** Pauses, resumes and stops the controller applied between steps, with their round trips. */
  control: { command: string; afterStep: number; processStatus: string; roundTrips: number; latencyMs: number }[];
}

/** Nearest-rank percentile of an unsorted list; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

const TYPE_ORDER = ['parameter', 'purge', 'valve', 'loop'];

export function stepTypeSummaries(steps: readonly StepRecord[]): Record<string, StepTypeSummary> {
  const groups = new Map<string, StepRecord[]>();
  for (const s of steps) groups.set(s.type, [...(groups.get(s.type) ?? []), s]);
  const types = [...groups.keys()].sort((a, b) => (TYPE_ORDER.indexOf(a) + 1 || 99) - (TYPE_ORDER.indexOf(b) + 1 || 99));
  return Object.fromEntries(types.map((type) => {
    const list = groups.get(type)!;
    const roundTrips = list.reduce((n, s) => n + s.roundTrips, 0);
    const latencies = list.map((s) => s.latencyMs);
    return [type, {
      steps: list.length, roundTrips, roundTripsPerStep: round(roundTrips / list.length),
      latencyMs: { p50: round(percentile(latencies, 50)), max: round(Math.max(...latencies)) },
    }];
  }));
}

export interface SummaryInput {
  run: RunResult;
  /** db.stats() after the run, and before it (the setup's readiness checks are not the run's). */
  stats: AldDbStats;
  statsBefore: AldDbStats;
  stored: number;
  database: DemoSummary['database'];
  speed: number;
  setupMs: number;
}

export function buildSummary(input: SummaryInput): DemoSummary {
  const { run, stats, statsBefore, stored } = input;
  const byRpc: Record<string, number> = {};
  for (const [rpc, n] of Object.entries(stats.roundTrips)) {
    const delta = n - (statsBefore.roundTrips[rpc] ?? 0);
    if (delta > 0) byRpc[rpc] = delta;
  }
  const hits = stats.cache.hits - statsBefore.cache.hits;
  const misses = stats.cache.misses - statsBefore.cache.misses;
  const callMs = (name: string) => {
    const call = run.calls.find((c) => c.name === name);
    return call ? round(call.latencyMs) : null;
  };
  const pointsOk = run.pointsRecorded === stored;
  return {
    ok: run.status === 'completed' && pointsOk,
    status: run.status,
    error: run.error,
    recipe: run.recipe,
    processId: run.processId,
    commandId: run.commandId,
    database: input.database,
    speed: input.speed,
    steps: { completed: run.steps.filter((st) => !st.interrupted).length, total: run.totalSteps },
    time: { simulatedS: round(run.simMs / 1000, 1), wallS: round(run.wallMs / 1000), setupS: round(input.setupMs / 1000) },
    stepTypes: stepTypeSummaries(run.steps),
    roundTrips: { byRpc, total: Object.values(byRpc).reduce((a, b) => a + b, 0) },
    calls: { claimMs: callMs('claim'), startMs: callMs('start'), completeMs: callMs('complete') },
    cache: { hits, misses, hitRatio: hits + misses === 0 ? 0 : round(hits / (hits + misses), 4) },
    points: {
      ticks: run.ticks, perTick: run.ticks === 0 ? 0 : run.pointsRecorded / run.ticks,
      recorded: run.pointsRecorded, sent: run.recorder.sent, stored,
      dropped: run.recorder.dropped, retried: run.recorder.retried, ok: pointsOk, errors: run.recorder.errors,
    },
    perStep: run.steps.map((s) => ({ index: s.index, name: s.name, type: s.type, roundTrips: s.roundTrips, latencyMs: round(s.latencyMs) })),
    setpoints: run.setpoints,
    control: run.control.map((c) => ({
      command: c.command, afterStep: c.afterStep, processStatus: c.processStatus, roundTrips: c.roundTrips, latencyMs: round(c.latencyMs),
    })),
  };
}

const ms = (n: number | null) => (n === null ? '-' : `${n.toFixed(1)} ms`);

export function formatSummary(s: DemoSummary): string {
  const lines: string[] = [];
  const verdict = s.status === 'completed' ? 'completed' : `${s.status.toUpperCase()}${s.error ? ` (${s.error})` : ''}`;
  lines.push(`summary: ${s.recipe}: ${verdict}, ${s.steps.completed}/${s.steps.total} steps, `
    + `${s.time.simulatedS} s simulated in ${s.time.wallS} s at speed ${s.speed} (setup ${s.time.setupS} s)`);
  lines.push('');
  lines.push('  step type   steps  round trips  per step  latency p50       max');
  let steps = 0;
  let trips = 0;
  for (const [type, t] of Object.entries(s.stepTypes)) {
    steps += t.steps;
    trips += t.roundTrips;
    lines.push(`  ${type.padEnd(10)}  ${String(t.steps).padStart(5)}  ${String(t.roundTrips).padStart(11)}  ${t.roundTripsPerStep.toFixed(2).padStart(8)}  `
      + `${ms(t.latencyMs.p50).padStart(11)}  ${ms(t.latencyMs.max).padStart(8)}`);
  }
  const all = s.perStep.map((p) => p.latencyMs);
  if (steps > 0) {
    lines.push(`  ${'all steps'.padEnd(10)}  ${String(steps).padStart(5)}  ${String(trips).padStart(11)}  ${(trips / steps).toFixed(2).padStart(8)}  `
      + `${ms(percentile(all, 50)).padStart(11)}  ${ms(Math.max(...all)).padStart(8)}`);
  }
  lines.push('');
  const rpc = s.roundTrips.byRpc;
  const recordCalls = rpc.record_process_data ?? 0;
  lines.push(`  round trips: ${s.roundTrips.total} in all = ${Object.entries(rpc).map(([k, v]) => `${k} ${v}`).join(' + ')}`);
  const run = s.perStep.length;
  lines.push(`    (docs/design.md §2: S + T + 2 with S = ${run} steps and T = ${s.points.ticks} ticks is ${run + s.points.ticks + 2}, plus the claim${s.roundTrips.byRpc.register_controller ? ', the registration' : ''}`
    + `${s.control.length ? `, ${s.control.reduce((n, c) => n + c.roundTrips, 0)} for ${s.control.length} pause/resume/stop` : ''}`
    + `${rpc.claim_setpoint_requests ? `, ${rpc.claim_setpoint_requests + (rpc.ack_setpoint_requests ?? 0)} for the setpoint queue (claims on each wake or poll, one ack per batch)` : ''}; `
    + `the recorder sent its ${s.points.ticks} ticks in ${recordCalls} calls)`);
  lines.push(`  claim ${ms(s.calls.claimMs)}, start ${ms(s.calls.startMs)}, complete ${ms(s.calls.completeMs)}`);
  for (const c of s.control) {
    lines.push(`  ${c.command} after step ${c.afterStep}: run ${c.processStatus}, ${c.roundTrips} controller round trips (claim + apply), ${ms(c.latencyMs)}`);
  }
  lines.push(`  parameter cache: ${s.cache.hits} hits, ${s.cache.misses} misses, hit ratio ${(s.cache.hitRatio * 100).toFixed(1)} %`);
  const p = s.points;
  lines.push(`  recorder: ${p.ticks} ticks × ${p.perTick} readings, ${p.sent} sent, ${p.dropped} dropped, ${p.retried} retried`);
  for (const e of p.errors) lines.push(`    recorder error: ${e}`);
  lines.push(`  points recorded ${p.recorded} ${p.ok ? '=' : '≠'} points stored ${p.stored}: ${p.ok ? 'ok' : 'MISMATCH'}`);
  const sp = s.setpoints;
  lines.push(`  setpoint requests: ${sp.applied} written to the PLC and confirmed (applied), ${sp.failed.length} failed, ${sp.open} still open`);
  for (const f of sp.failed) lines.push(`    failed: ${f.parameter} = ${f.value}: ${f.error}`);
  return lines.join('\n') + '\n';
}
