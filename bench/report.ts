// The stdout table of `npm run bench`.
import { STEP_TYPES, type BenchResult, type MachineResult, type StepType } from './results.ts';
import type { IngestionMethod, IngestionResult } from './ingestion.ts';

const STEP_LABELS: Record<StepType, string> = {
  recordingTick: 'recording tick',
  valveStep: 'valve step',
  purgeStep: 'purge step',
  parameterStep: 'parameter (set) step',
  cachedParameterRead: 'cached parameter read',
};

const INGESTION_LABELS: Record<IngestionMethod, string> = {
  perRow: 'per-row INSERT',
  batch50: '50-row INSERT batches (old)',
  arrayInsert: 'array insert (record_process_data)',
  copy: 'COPY FROM STDIN',
};

function ms(x: number): string {
  if (x === 0) return '0';
  if (x < 0.1) return x.toFixed(4);
  if (x < 10) return x.toFixed(2);
  return x.toFixed(1);
}

function times(x: number | null): string {
  return x === null ? '∞' : `${x >= 100 ? Math.round(x) : x.toFixed(1)}×`;
}

function count(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

function table(rows: string[][], align: ('l' | 'r')[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => [...r[c]].length)));
  return rows
    .map((r) => r.map((cell, c) => (align[c] === 'l' ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd())
    .join('\n');
}

function machineTable(key: string, m: MachineResult): string {
  const head = [
    ['step', 'RT old', 'RT new', 'p50 old', 'p50 new', 'p95 old', 'p95 new', 'p99 old', 'p99 new', 'RT ×', 'p50 ×'],
  ];
  const body = STEP_TYPES.map((step) => {
    const s = m.steps[step];
    const oldRt = step === 'parameterStep' ? `${count(s.old.roundTrips)} (+${count(m.oldParameterStepBackgroundRoundTrips)})` : count(s.old.roundTrips);
    return [
      STEP_LABELS[step], oldRt, count(s.new.roundTrips),
      ms(s.old.p50), ms(s.new.p50), ms(s.old.p95), ms(s.new.p95), ms(s.old.p99), ms(s.new.p99),
      times(s.ratio.roundTrips), times(s.ratio.p50),
    ];
  });
  const title = `${m.machine.name} (${key}): ${m.machine.components} components, ${m.machine.parameters} parameters — latency in ms`;
  const notes = `old parameter step: +${count(m.oldParameterStepBackgroundRoundTrips)} background round trips (counted, not timed); ` +
    `new: start_process ${m.newProcessRoundTrips.start}, complete_process ${m.newProcessRoundTrips.complete} round trip(s)`;
  return `${title}\n${table([...head, ...body], ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'])}\n${notes}`;
}

function ingestionTable(r: BenchResult): string {
  const cols: IngestionResult[] = [r.ingestion, ...(r.ingestionWithRtt ? [r.ingestionWithRtt] : [])];
  const label = (c: IngestionResult) => (c.via === 'direct' ? 'direct' : `${c.rttMs} ms RTT`);
  const head = ['method', ...cols.map((c) => `rows/s ${label(c)}`), ...cols.map((c) => `× batch50 ${label(c)}`)];
  const methods: IngestionMethod[] = ['perRow', 'batch50', 'arrayInsert', 'copy'];
  const body = methods.map((m) => [
    INGESTION_LABELS[m],
    ...cols.map((c) => c[m].toLocaleString('en-US')),
    ...cols.map((c) => `${(c[m] / c.batch50).toFixed(c[m] / c.batch50 < 10 ? 2 : 1)}×`),
  ]);
  const sizes = cols.map((c) => `${label(c)}: ${methods.map((m) => `${m} ${c.rows[m]}`).join(', ')} (median of ${c.repeats})`).join('; ');
  return `ingestion (large machine; per row, batches of 50 and COPY into the previous one-row-per-reading layout, record_process_data into readings; direct connection, and through the proxy with the injected RTT)\n` +
    table([head, ...body], ['l', ...head.slice(1).map(() => 'r' as const)]) +
    `\nrows measured — ${sizes}; record_process_data takes ${r.ingestion.arrayChunkRows} rows per call`;
}

/** The seed reactor's steps in three columns: the old pattern, the SDK (one round trip), the journaled controller. */
function threeColumns(r: BenchResult): string {
  const m = r.machines.seed;
  const j = r.journaled!;
  const rows: [string, StepType, string][] = [
    ['recording tick', 'recordingTick', 'tick'], ['valve step', 'valveStep', 'valve'],
    ['purge step', 'purgeStep', 'purge'], ['parameter (set) step', 'parameterStep', 'parameter'],
  ];
  const head = ['step (seed reactor)', 'old RT', 'old p50', 'old p95', 'SDK RT', 'SDK p50', 'SDK p95', 'journaled RT', 'journaled p50', 'journaled p95'];
  const body = rows.map(([label, step, kind]) => {
    const s = m.steps[step];
    const d = kind === 'tick' ? j.steps.tick : j.steps.byType[kind];
    return [label, count(s.old.roundTrips), ms(s.old.p50), ms(s.old.p95), count(s.new.roundTrips), ms(s.new.p50), ms(s.new.p95),
      '0', d ? ms(d.p50) : '-', d ? ms(d.p95) : '-'];
  });
  const all = j.steps.all;
  return `three patterns at ${r.rttMs} ms RTT — latency in ms; journaled = db.journal(): advance()/record() from local state, durable (fsync) before they return
` +
    table([head, ...body], ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']) +
    `
journaled, every step: p50 ${ms(all.p50)} / p95 ${ms(all.p95)} / p99 ${ms(all.p99)} ms over ${all.n} steps (${j.steps.runs} seed recipe runs, a tick before each step, 10 ms apart); ` +
    `${j.steps.roundTripsWhileStepping} round trips while stepping; the drain beside them: ${j.steps.drain.roundTrips} round trips for ${j.steps.drain.entries} journal entries` +
    `
drain of a backlog of ${j.drain.ticks} ticks (${j.drain.rows.toLocaleString('en-US')} rows, large machine) at ${r.rttMs} ms RTT: ` +
    `journal ${j.drain.journal.toLocaleString('en-US')} rows/s in ${j.drain.journalCalls} calls, recorder ${j.drain.recorder.toLocaleString('en-US')} rows/s in ${j.drain.recorderCalls} calls; ` +
    `the machine's ticks outside a run: journal.recorder ${j.drain.machine.journal.toLocaleString('en-US')} rows/s in ${j.drain.machine.journalCalls} calls, ` +
    `db.recorder ${j.drain.machine.recorder.toLocaleString('en-US')} rows/s in ${j.drain.machine.recorderCalls} calls`;
}

export function formatReport(r: BenchResult): string {
  const e = r.environment;
  const out: string[] = [];
  out.push(`ald-db benchmark — old controller patterns vs ${r.newImplementation === 'sdk' ? 'the SDK' : 'direct RPC calls (SDK integration pending)'}`);
  out.push(`${r.rttMs} ms RTT injected by TcpProxy · ${r.iterations} iterations${r.quick ? ' (quick)' : ''} · round trips counted at the proxy`);
  out.push(`node ${e.node} · PostgreSQL ${e.postgres} · ${e.nproc} CPUs (${e.cpu}) · ${e.memoryGiB} GiB RAM · ${e.platform}`);
  if (e.loadAverage) out.push(`load average (1 min) ${e.loadAverage.start} at start, ${e.loadAverage.end} at the end`);
  if (r.rttFloor) {
    const f = r.rttFloor;
    out.push(`floor: \`select 1\` through the proxy takes p50 ${ms(f.p50)} / p95 ${ms(f.p95)} / p99 ${ms(f.p99)} ms (1 round trip)`);
  }
  out.push('');
  out.push(machineTable('seed', r.machines.seed));
  if (r.machines.large) {
    out.push('');
    out.push(machineTable('large', r.machines.large));
  }
  if (r.journaled) {
    out.push('');
    out.push(threeColumns(r));
  }
  out.push('');
  out.push(ingestionTable(r));
  out.push('');
  const rr = r.recipeRun;
  out.push(`cache hit ratio over the seed recipe run: ${(100 * r.cacheHitRatio).toFixed(1)}% ` +
    `(${rr.hits} hits, ${rr.misses} misses over ${rr.reads} reads; ${rr.steps} steps; the run cost ${rr.roundTrips} round trips)`);
  if (r.listenerRoundTrips !== undefined) {
    out.push(`the SDK's LISTEN session (own proxy, not in any count above): ${r.listenerRoundTrips} round trips over the run (LISTEN, then a heartbeat every 30 s)`);
  }
  out.push('');
  out.push('targets');
  for (const t of r.targets) out.push(`  ${t.met ? 'met   ' : 'MISSED'}  ${t.name}: ${t.value ?? '∞'} (target ${t.target})`);
  out.push('');
  out.push(`finished in ${(r.durationMs / 1000).toFixed(1)} s${r.command ? ` · ${r.command}` : ''}`);
  return out.join('\n');
}
