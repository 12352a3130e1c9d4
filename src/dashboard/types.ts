// What the dashboard server sends the page (GET /api/snapshot, GET /api/events): plain JSON.
// Units are in the names: *Ms milliseconds, *Percent 0–100, *PerSecond per second of wall time.
// "Since start" values count since the registry was created; "window" values cover the last
// windowMs (or since the dashboard started, if that is shorter).
import type { DoctorReport } from '../doctor/index.ts';

export interface LatencyQuantiles {
  /** Interpolated from the histogram's buckets (see prometheus.ts); null without observations. */
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface OperationStats {
  /** The RPC name: one controller step or read. */
  operation: string;
  /** Attempts sent since start, one round trip each (ald_db_client_round_trips_total). */
  roundTrips: number;
  /** Attempts that repeated a call after a transient error (client retries; recorder retries for record_process_data). */
  retries: number;
  /** Failed attempts since start (ald_db_client_errors_total). */
  errors: number;
  /** roundTrips / (roundTrips − retries): 1 when every call cost exactly one round trip. null before the first call. */
  roundTripsPerCall: number | null;
  /** Attempts per second over the window; null until a second reading exists. */
  roundTripsPerSecond: number | null;
  /** Latency of the attempts finished in the window. */
  window: LatencyQuantiles & { count: number };
  /** Latency of every attempt since start. */
  total: LatencyQuantiles & { count: number };
}

export interface SdkStats {
  /** Sorted by operation name. */
  operations: OperationStats[];
  /** Every operation together. */
  all: Omit<OperationStats, 'operation'>;
  cache: {
    hits: number;
    misses: number;
    /** hits / (hits + misses) × 100 since start (ald_db_cache_hit_ratio × 100); null before the first read. */
    hitRatioPercent: number | null;
    /** The same over the window; null without reads in it. */
    windowHitRatioPercent: number | null;
    /** Misses because memory could not be trusted (listener down, resync pending), since start. */
    revalidatingReads: number;
    revalidatingReadsPerSecond: number | null;
    /** Rows held in memory; null when the registry does not have the metric. */
    entries: number | null;
    /** True while memory may be served; null when the registry does not have the metric. */
    coherent: boolean | null;
  };
  recorder: {
    backlogRows: number;
    backlogTicks: number;
    /** Rows the database acknowledged, since start. */
    rowsSent: number;
    rowsDropped: number;
    /** Rows acknowledged per second over the window (the rate of ald_db_recorder_rows_sent_total). */
    pointsPerSecond: number | null;
  };
  pool: { max: number; inUse: number; waiting: number };
}

export interface DatabaseStatus {
  /** False when the dashboard was given no database (SDK metrics only). */
  configured: boolean;
  /** null until the first check finished. */
  reachable: boolean | null;
  /** Why the last check failed; null when it succeeded. */
  error: string | null;
  checkedAt: string | null;
  /** The last check's round trip, ms. */
  latencyMs: number | null;
  lastReachableAt: string | null;
  /** Since when checks fail; null while reachable. */
  unreachableSince: string | null;
  name: string | null;
  version: string | null;
  /** Client connections of the whole server, as last seen (kept while unreachable). */
  connections: { inUse: number; max: number; usedPercent: number } | null;
  /** The setpoint queue of every machine, as last seen; null before the first check or without the table. */
  setpoints: SetpointQueueStatus | null;
  /** Every machine with its controller and its latest run, as last seen (kept while unreachable); null before the first read. */
  machines: MachineRunStatus[] | null;
  /** Why the machines could not be read (e.g. a schema without controllers); null when they were. */
  machinesError: string | null;
}

export interface SetpointQueueStatus {
  /** Asked, not yet claimed by a controller. */
  pending: number;
  /** Claimed: being written to the PLC. */
  claimed: number;
  /** Claimed longer than their claim timeout: the controller may be down (they are delivered again). */
  overdue: number;
  /** Failed in the last hour. */
  failedLastHour: number;
  /** The oldest open request's age, ms; null when none is open. */
  oldestOpenMs: number | null;
  /** The last failures (newest first, at most 5): what the controller said. */
  recentFailures: { machine: string; parameter: string; value: number; error: string; at: string }[];
}

/** One machine on the "Machines and runs" panel. */
export interface MachineRunStatus {
  id: string;
  name: string;
  /** idle, running, paused, error, maintenance or offline. */
  status: string;
  /** Why it is in error or offline. */
  statusReason: string | null;
  /** Its live controller, else the latest one; null when none ever registered. */
  controller: {
    id: string; host: string | null; version: string | null;
    /** alive, dead, replaced or stopped. */
    status: string;
    lastSeenAt: string;
    /** How long it has been silent, at the check. */
    silentMs: number;
    timeoutMs: number;
  } | null;
  /** Its latest run with its live progress; null when it never ran. */
  run: {
    processId: string; status: string; completedSteps: number; totalSteps: number; progressPercent: number;
    currentStep: string | null; currentStepType: string | null; loopIteration: number | null; loopCount: number | null;
    elapsedMs: number; estimatedRemainingMs: number | null;
  } | null;
}

export interface DoctorStatus {
  /** The last report that succeeded; kept (stale: true) when a later run failed. */
  report: DoctorReport | null;
  /** When `report` was made. */
  at: string | null;
  /** Why the last run failed; null when it succeeded. */
  error: string | null;
  stale: boolean;
  /** The doctor runs every this many ms (it reads the catalog: heavier than a tick). */
  intervalMs: number;
}

export interface Snapshot {
  /** Increases by one per snapshot; GET /api/snapshot?id=N returns snapshot N while it is in the history. */
  id: number;
  at: string;
  atMs: number;
  intervalMs: number;
  windowMs: number;
  /** null when the dashboard has no registry (doctor only) or it could not be read (sdkError). */
  sdk: SdkStats | null;
  /** Why the registry could not be read; null when it was, or when there is none. */
  sdkError: string | null;
  database: DatabaseStatus;
  doctor: DoctorStatus;
}

/** A snapshot without the doctor's report: the points of the page's charts (GET /api/history). */
export type HistoryPoint = Omit<Snapshot, 'doctor'>;
