// The fleet soak of issue 12: N machines, each with its own SDK recorder (db.recorder(machineId),
// record_readings), recording every parameter once a second with no process running, for a given
// time, against a database of its own. Afterwards every recorded tick is looked up: stored once,
// none lost, none extra. Reports the database server's CPU for the soak's own connections (their
// backends' utime + stime from /proc, same host only) and the bytes of public.readings per
// machine-day.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { createAldDb, type AldDb } from '../../src/index.ts';
import { createFleet, type FleetMachine } from './fleet.ts';
import { percentiles, type Percentiles } from './controllers.ts';

export interface TelemetryOptions {
  machines: number;
  durationMs: number;
  /** Default 1000 (1 Hz). */
  tickMs?: number;
  /** Machines per SDK client (default 10; each client has a pool of 2). */
  machinesPerClient?: number;
  log?: (line: string) => void;
}

export interface TelemetryResult {
  machines: number;
  parameters: number;
  clients: number;
  recordingMs: number;
  ticks: { recorded: number; stored: number; lost: number; duplicated: number; unexpected: number };
  readings: number;
  readingsPerSecond: number;
  latency: Percentiles;
  dropped: number;
  errors: Record<string, number>;
  /** CPU seconds of the soak's database backends per wall second (1 = one core), or null when not on this host. */
  serverCpu: number | null;
  bytes: number;
  bytesPerReading: number;
  bytesPerMachineDay: number;
}

const CLK_TCK = 100; // USER_HZ on Linux

/** utime + stime of one backend, in seconds; null when /proc does not have it (another host, gone). */
async function backendCpu(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * The CPU the soak's backends spend: each backend is read when first seen (pools open connections
 * as they need them) and at the end, while the pools are still open.
 */
class BackendCpu {
  private readonly first = new Map<number, number>();
  private missing = false;
  constructor(private readonly sql: postgres.Sql, private readonly applicationName: string) {}

  async sample(): Promise<void> {
    const rows = await this.sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${this.applicationName}`;
    for (const { pid } of rows) {
      if (this.first.has(pid)) continue;
      const cpu = await backendCpu(pid);
      if (cpu === null) this.missing = true;
      else this.first.set(pid, cpu);
    }
  }

  /** CPU seconds since each backend was first seen; null when the server is not on this host. */
  async total(): Promise<number | null> {
    if (this.missing || this.first.size === 0) return null;
    let sum = 0;
    for (const [pid, start] of this.first) sum += ((await backendCpu(pid)) ?? start) - start;
    return sum;
  }
}

export async function runTelemetry(databaseUrl: string, sql: postgres.Sql, options: TelemetryOptions): Promise<TelemetryResult> {
  const tickMs = options.tickMs ?? 1000;
  const perClient = options.machinesPerClient ?? 10;
  const log = options.log ?? (() => {});
  const fleet: FleetMachine[] = await createFleet(sql, options.machines, `soak ${Date.now().toString(36)}`);
  const clientCount = Math.ceil(options.machines / perClient);
  const applicationName = `ald-db soak ${process.pid}`;
  const clients: AldDb[] = Array.from({ length: clientCount }, () => createAldDb({ databaseUrl, pool: { max: 2 }, applicationName }));
  const recorded: { machineId: string; ts: number }[] = [];
  const latency: number[] = [];
  const errors: Record<string, number> = {};
  let dropped = 0;
  try {
    await Promise.all(clients.map((db) => db.ready()));
    const cpu = new BackendCpu(sql, applicationName);
    await cpu.sample();
    const recorders = fleet.map((m, i) => {
      const r = clients[Math.floor(i / perClient)].recorder(m.machineId);
      const pending: number[] = [];
      r.on('sent', ({ ticks }) => {
        const now = performance.now();
        for (const t of pending.splice(0, ticks)) latency.push(now - t);
      });
      r.on('error', (e, { ticks }) => {
        errors[String(e.code)] = (errors[String(e.code)] ?? 0) + 1;
        pending.splice(0, ticks);
      });
      return { machine: m, recorder: r, pending };
    });
    const started = performance.now();
    const stopAt = started + options.durationMs;
    const progress = setInterval(() => log(`  ${recorded.length} ticks recorded`), 60_000);
    const sampler = setInterval(() => void cpu.sample().catch(() => {}), 2000);
    // every machine ticks once per tickMs, at its own phase
    await Promise.all(recorders.map(async ({ machine, recorder, pending }, i) => {
      const phase = (i * tickMs) / recorders.length;
      for (let n = 0; ; n++) {
        const due = started + phase + n * tickMs;
        if (due >= stopAt) break;
        await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        const ts = Date.now();
        pending.push(performance.now());
        recorder.record(Object.fromEntries(machine.parameterIds.map((id, k) => [id, k + Math.sin(n / 60) * 10 + Math.random()])), ts);
        recorded.push({ machineId: machine.machineId, ts });
      }
    }));
    clearInterval(progress);
    clearInterval(sampler);
    const recordingMs = performance.now() - started;
    await cpu.sample();
    const cpuSeconds = await cpu.total();
    await Promise.all(recorders.map(async ({ recorder }) => {
      await recorder.close({ timeoutMs: 120_000 }).catch(() => {});
      dropped += recorder.dropped;
    }));
    const serverCpu = cpuSeconds === null ? null : Math.round((cpuSeconds / (recordingMs / 1000)) * 1000) / 1000;
    const ticks = await sql.begin(async (tx) => {
      await tx`create temporary table soak_ticks (machine_id uuid not null, ts timestamptz not null) on commit drop`;
      for (let i = 0; i < recorded.length; i += 10_000) {
        const chunk = recorded.slice(i, i + 10_000);
        await tx`insert into soak_ticks select * from unnest(${tx.array(chunk.map((t) => t.machineId))}::uuid[], ${tx.array(chunk.map((t) => new Date(t.ts).toISOString()))}::timestamptz[])`;
      }
      await tx`analyze soak_ticks`;
      const ids = fleet.map((m) => m.machineId);
      const [row] = await tx<{ recorded: number; stored: number; lost: number; duplicated: number; unexpected: number }[]>`
        with stored as (select r.machine_id, r.ts from public.readings r where r.machine_id = any (${ids}::uuid[]))
        select (select count(*) from soak_ticks)::int as recorded,
               (select count(*) from stored)::int as stored,
               (select count(*) from soak_ticks t where not exists (
                  select 1 from public.readings r where r.machine_id = t.machine_id and r.ts = t.ts))::int as lost,
               (select count(*) - count(distinct (machine_id, ts)) from stored)::int as duplicated,
               (select count(*) from stored s where not exists (
                  select 1 from soak_ticks t where t.machine_id = s.machine_id and t.ts = s.ts))::int as unexpected`;
      return row;
    });
    await sql`vacuum (analyze) public.readings`;
    const [{ bytes }] = await sql<{ bytes: string }[]>`
      select (sum(pg_total_relation_size(relid)) + pg_total_relation_size('public.reading_layouts'))::bigint as bytes
      from pg_partition_tree('public.readings')`;
    const parameters = fleet[0]?.parameterIds.length ?? 0;
    const readings = ticks.stored * parameters;
    const machineDays = (options.machines * recordingMs) / 86_400_000;
    return {
      machines: options.machines, parameters, clients: clientCount, recordingMs: Math.round(recordingMs), ticks, readings,
      readingsPerSecond: Math.round(readings / (recordingMs / 1000)), latency: percentiles(latency), dropped, errors, serverCpu,
      bytes: Number(bytes), bytesPerReading: Math.round((Number(bytes) / readings) * 10) / 10,
      bytesPerMachineDay: Math.round(Number(bytes) / machineDays),
    };
  } finally {
    await Promise.all(clients.map((db) => db.close({ timeoutMs: 30_000 })));
  }
}
