// The database side of the dashboard: a cheap check every tick (is it reachable, how many
// connections) and the doctor's heavier report every doctorIntervalMs.
//
// Neither ever throws: a failure becomes `reachable: false` with the reason, and the last known
// values (connections, the doctor's report) are kept and marked as such. Every call is bounded by
// timeoutMs, because a database behind a dead network may never answer at all.
import { runDoctor, type DoctorOptions, type Sql } from '../doctor/index.ts';
import type { DatabaseStatus, DoctorStatus, MachineRunStatus } from './types.ts';

export interface DatabaseMonitorOptions {
  timeoutMs: number;
  doctorIntervalMs: number;
  doctor: DoctorOptions;
}

/** The message of a postgres.js or network error, with its code when the message lacks it. */
export function describeError(error: unknown): string {
  const e = error as { message?: string; code?: string };
  const message = e?.message ?? String(error);
  const code = e?.code && !message.includes(e.code) ? ` (${e.code})` : '';
  return `${message}${code}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Every machine, its live (else latest) controller and its latest run with the run's live progress. */
async function readMachines(sql: Sql): Promise<MachineRunStatus[]> {
  const rows = await sql`
    select m.id, m.name, m.status::text as status, m.status_reason,
      (select jsonb_build_object('id', c.id, 'host', c.host, 'version', c.version, 'status', c.status,
                'lastSeenAt', c.last_seen_at, 'timeoutMs', c.timeout_ms,
                'silentMs', greatest(0, round(extract(epoch from (now() - c.last_seen_at)) * 1000)))
       from public.controllers c where c.machine_id = m.id
       order by (c.status = 'alive') desc, c.started_at desc limit 1) as controller,
      (select jsonb_build_object('processId', e.id, 'status', e.status, 'completedSteps', s.completed_steps,
                'totalSteps', s.total_steps, 'progressPercent', s.progress_percent, 'currentStep', s.current_step_name,
                'currentStepType', s.current_step_type, 'loopIteration', s.current_loop_iteration, 'loopCount', s.current_loop_count,
                'elapsedMs', case when e.status in ('running', 'paused')
                                 then greatest(0, round(extract(epoch from (now() - e.started_at)) * 1000)) else s.elapsed_ms end,
                'estimatedRemainingMs', s.estimated_remaining_ms)
       from public.process_executions e join public.process_execution_state s on s.process_id = e.id
       where e.machine_id = m.id order by e.started_at desc limit 1) as run
    from public.machines m order by m.name`;
  return rows.map((r) => ({
    id: r.id as string, name: r.name as string, status: r.status as string, statusReason: (r.status_reason as string | null) ?? null,
    controller: (r.controller as MachineRunStatus['controller']) ?? null,
    run: r.run ? { ...(r.run as NonNullable<MachineRunStatus['run']>), progressPercent: Number((r.run as { progressPercent: unknown }).progressPercent) } : null,
  }));
}

export class DatabaseMonitor {
  private readonly state: DatabaseStatus;
  private readonly doctorState: DoctorStatus;
  private checking: Promise<void> | undefined;
  private doctoring: Promise<void> | undefined;
  private doctorTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly sql: Sql | undefined, private readonly options: DatabaseMonitorOptions) {
    this.state = {
      configured: sql !== undefined, reachable: null, error: null, checkedAt: null, latencyMs: null,
      lastReachableAt: null, unreachableSince: null, name: null, version: null, connections: null, setpoints: null,
      machines: null, machinesError: null,
    };
    this.doctorState = { report: null, at: null, error: null, stale: false, intervalMs: options.doctorIntervalMs };
  }

  /** Runs the doctor now and then every doctorIntervalMs (the next run waits for the previous one). */
  start(): void {
    if (!this.sql || this.stopped) return;
    const loop = () => {
      this.doctoring = this.runDoctor().finally(() => {
        if (!this.stopped) this.doctorTimer = setTimeout(loop, this.options.doctorIntervalMs);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.doctorTimer);
    // Both are bounded by timeoutMs.
    await Promise.allSettled([this.checking, this.doctoring]);
  }

  status(): DatabaseStatus {
    return {
      ...this.state,
      connections: this.state.connections && { ...this.state.connections },
      setpoints: this.state.setpoints && { ...this.state.setpoints, recentFailures: [...this.state.setpoints.recentFailures] },
      machines: this.state.machines && [...this.state.machines],
    };
  }

  doctor(): DoctorStatus {
    return { ...this.doctorState };
  }

  /**
   * Starts a check unless one is still running, and waits for it at most waitMs: a slow database
   * delays the tick by no more than that, and the check's result lands in a later snapshot.
   * Without waitMs it waits for the check's end (at most timeoutMs).
   */
  async check(waitMs?: number): Promise<void> {
    if (!this.sql || this.stopped) return;
    this.checking ??= this.runCheck().finally(() => { this.checking = undefined; });
    if (waitMs === undefined) return this.checking;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.checking, new Promise<void>((r) => { timer = setTimeout(r, waitMs); })]);
    clearTimeout(timer);
  }

  private async runCheck(): Promise<void> {
    const sql = this.sql!;
    const started = performance.now();
    try {
      const [row] = await withTimeout(sql`
        select current_database() as name,
               current_setting('server_version') as version,
               current_setting('max_connections')::int as max,
               (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as in_use`,
      this.options.timeoutMs, 'database check');
      const s = this.state;
      s.latencyMs = performance.now() - started;
      s.checkedAt = s.lastReachableAt = new Date().toISOString();
      s.reachable = true;
      s.error = null;
      s.unreachableSince = null;
      s.name = row.name;
      s.version = row.version;
      s.connections = { inUse: row.in_use, max: row.max, usedPercent: row.max > 0 ? (row.in_use / row.max) * 100 : 0 };
    } catch (error) {
      this.unreachable(error);
      return;
    }
    try {
      this.state.machines = await withTimeout(readMachines(sql), this.options.timeoutMs, 'machines');
      this.state.machinesError = null;
    } catch (error) {
      this.state.machinesError = describeError(error);
    }
    await this.checkSetpoints();
  }

  /** The setpoint queue (pending and failed requests); a database without the table shows none. */
  private async checkSetpoints(): Promise<void> {
    const sql = this.sql!;
    try {
      const [exists] = await withTimeout(sql`select to_regclass('public.setpoint_requests') is not null as yes`, this.options.timeoutMs, 'setpoint check');
      if (!exists.yes) {
        this.state.setpoints = null;
        return;
      }
      const [counts] = await withTimeout(sql`
        select count(*) filter (where status = 'pending')::int as pending,
               count(*) filter (where status = 'claimed')::int as claimed,
               count(*) filter (where status = 'claimed' and claim_expires_at < now())::int as overdue,
               count(*) filter (where status = 'failed' and acked_at > now() - interval '1 hour')::int as failed_last_hour,
               (extract(epoch from now() - min(created_at) filter (where status in ('pending', 'claimed'))) * 1000)::float8 as oldest_open_ms
        from public.setpoint_requests
        where status in ('pending', 'claimed') or (status = 'failed' and acked_at > now() - interval '1 hour')`,
      this.options.timeoutMs, 'setpoint check');
      const failures = await withTimeout(sql<{ machine: string; parameter: string; value: number; error: string; at: Date }[]>`
        select m.name as machine, c.name || '.' || p.name as parameter, r.value, r.error, r.acked_at as at
        from public.setpoint_requests r
        join public.machines m on m.id = r.machine_id
        join public.component_parameters p on p.id = r.parameter_id
        join public.machine_components c on c.id = p.component_id
        where r.status = 'failed'
        order by r.acked_at desc limit 5`, this.options.timeoutMs, 'setpoint check');
      this.state.setpoints = {
        pending: counts.pending, claimed: counts.claimed, overdue: counts.overdue, failedLastHour: counts.failed_last_hour,
        oldestOpenMs: counts.oldest_open_ms,
        recentFailures: failures.map((f) => ({ machine: f.machine, parameter: f.parameter, value: f.value, error: f.error, at: new Date(f.at).toISOString() })),
      };
    } catch {
      // The queue is extra information: its failure never marks the database unreachable.
    }
  }

  private unreachable(error: unknown): void {
    const s = this.state;
    const now = new Date().toISOString();
    s.checkedAt = now;
    s.latencyMs = null;
    if (s.reachable !== false) s.unreachableSince = now;
    s.reachable = false;
    s.error = describeError(error);
  }

  private async runDoctor(): Promise<void> {
    try {
      const report = await withTimeout(runDoctor(this.sql!, this.options.doctor), this.options.timeoutMs * 4, 'doctor');
      Object.assign(this.doctorState, { report, at: report.generatedAt, error: null, stale: false });
    } catch (error) {
      Object.assign(this.doctorState, { error: describeError(error), stale: this.doctorState.report !== null });
    }
  }
}
