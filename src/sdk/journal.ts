// The durable local journal (issue 16, docs/journal.md): every write the controller makes during
// a run is appended to a file on local disk, durable before the call returns, and drained to the
// database in order in the background. A step never waits for the network.
//
//   journal.start(...)    1 round trip: start_process, the whole plan (configs, parameters); the
//                         plan is kept in the journal so a restarted controller knows its run
//   run.advance()         0 round trips: validated against the plan and the parameter cache as the
//                         server would (step order, min/max/writable/type), journaled, returned
//   run.record(readings)  0 round trips: one journal entry per tick
//   run.complete()        0 round trips: journaled
//   run.control()         run control (pause/resume/stop) claimed in the background and applied
//                         between steps (src/sdk/journal-control.ts): `await control.between()`
//   journal.recorder(id)  the machine's recorder, journaled (record_readings; journal-recorder.ts)
//   setpoint acks         db.setpoints.subscribe(machine, handler, { journal }) journals its acks
//
// Drain: the oldest entries go in one apply_journal call per batch (steps one call each inside it,
// consecutive ticks of a run, or of a machine, with the same parameters merged into one
// record_readings call: the ids once and one time per tick, the values a slice of a float8[]),
// in journal order;
// entries are deleted once the database acknowledged them. Every kind is idempotent, so a crash
// between send and acknowledge resends without duplicating. A transient failure is retried with
// backoff, forever (the data is on disk); a call the database refuses for good is moved to the
// journal's `refused` table and reported by a 'refused' event naming its step.
//
// Times: a step, the end of the run and an applied pause or stop are journaled with the moment of
// the call (`at`, the controller's clock, as its tick times), which the RPC stores as the step's,
// pause's or end's time: drained after an outage, they keep the times they happened at.
//
// Adding a kind: one line in JOURNAL_KINDS below and one `when` branch in public.apply_journal.
import { AldDbError, closedError, invalidArgument, isTransient } from './errors.ts';
import { Emitter } from './emitter.ts';
import { JournalStore, type RecoveryReport, type RefusedEntry, type StoredEntry } from './journal-store.ts';
import { flattenPlan, type PlannedStep } from './plan.ts';
import type { CommandsApi, ProcessApi, StartOptions } from './process-api.ts';
import { TickClock, firstOfEach, timestampOf, toTick, type Readings } from './recorder-ticks.ts';
import { RunControl, type RunControlOptions } from './journal-control.ts';
import { JournaledRecorder } from './journal-recorder.ts';
import { backoffDelay } from './retry.ts';
import type { RpcClient } from './rpc-client.ts';
import type { ExecutionStatus, Parameter, Plan, StepExecutionStatus, StepType } from './types.ts';
import { optionalString, requireObject } from './validate.ts';

/**
 * What the journal knows how to drain, and how each kind batches:
 *   merge 'rows'   a run's ticks (record_process_data entries): drained like 'ticks' below as
 *                  record_readings with the run's process_id; entries journaled without their
 *                  machine (older SDKs) go as ONE record_process_data call over keyed rows
 *   merge 'ticks'  consecutive entries of one machine with the same parameters (in the same order,
 *                  set points or none alike) become ONE record_readings call: the ids once and
 *                  one time per tick in its args, the values as a slice of the row arrays
 *   merge 'none'   one call each (still inside the one apply_journal round trip of its batch)
 */
export const JOURNAL_KINDS = {
  advance_step: { merge: 'none' },
  complete_process: { merge: 'none' },
  apply_run_command: { merge: 'none' },
  ack_setpoint_requests: { merge: 'none' },
  record_process_data: { merge: 'rows' },
  record_readings: { merge: 'ticks' },
} as const satisfies Record<string, { merge: 'none' | 'rows' | 'ticks' }>;

export type JournalKind = keyof typeof JOURNAL_KINDS;

export interface JournalOptions {
  /** The journal file (an SQLite database; created with its directory if missing). */
  path: string;
  /**
   * Pending (not yet acknowledged) bytes above which recording ticks are refused with a 'full'
   * event (ALD_JOURNAL_FULL). Steps and the end of a run are always journaled. Default 1 GiB.
   */
  maxPendingBytes?: number;
  /** Rows per drain call (default 50 000; the database takes up to 100 000 per record_process_data). */
  maxRowsPerCall?: number;
  /** Journal entries per drain call (default 2000). */
  maxEntriesPerCall?: number;
  /** First retry delay in ms (default 200), doubling per failed attempt up to retryMaxMs (default 5000). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Default wait of flush() in ms (default 60 000). */
  flushTimeoutMs?: number;
}

export interface RefusedInfo {
  seq: number;
  kind: string;
  processId: string | null;
  /** For refused machine ticks and setpoint acks: their machine. */
  machineId: string | null;
  /** For a refused advance_step: the step it belongs to. */
  stepIndex: number | null;
  stepId: string | null;
  /** For refused ticks: their rows. */
  rows: number;
}

/** One call the database applied (a 'applied' event). */
export interface AppliedInfo {
  kind: string;
  /** Its journal entries (several for merged ticks), oldest first. */
  seqs: number[];
  /** The arguments journaled with its first entry. */
  args: Record<string, unknown>;
  /** The RPC's reply: advance_step's step reply, ack_setpoint_requests' rows, apply_run_command's state, the ticks stored … */
  result: unknown;
  rows: number;
}

export interface JournalEvents {
  /** One drain call was acknowledged. */
  sent: [info: { entries: number; calls: number; rows: number }];
  /** One call of a drain call was applied by the database, with its reply (after 'sent'). */
  applied: [info: AppliedInfo];
  /** The database refused an entry for good (it is kept in the journal's refused table). */
  refused: [error: AldDbError, info: RefusedInfo];
  /** A drain call failed; its entries stay journaled and are resent after delayMs. */
  retry: [error: AldDbError, info: { attempt: number; delayMs: number; entries: number }];
  /** The pending data reached maxPendingBytes: the alarm. Ticks are refused until it drains. */
  full: [error: AldDbError, info: { pendingBytes: number; maxPendingBytes: number; droppedRows: number }];
}

/** A step as advance() returns it: decided locally, before the database has seen it. */
export interface LocalStepReply {
  process_id: string;
  step_id: string;
  step_index: number;
  step_type: StepType;
  loop_iteration: number | null;
  config: Record<string, unknown> | null;
  /** For a parameter step: the parameter row as validated, with the new set_value. */
  parameter: Parameter | null;
  completed_steps: number;
  total_steps: number;
  /** The journal entry of this step. */
  journal_seq: number;
  /**
   * When advance() ran, on the controller's clock (the clock of its tick times), ISO 8601: the
   * step's started_at (and the previous step's ended_at) once it drains, whenever that is.
   */
  at: string;
}

export interface JournalAdvanceOptions {
  /** Default: the step after the last one (0 for the first). */
  stepIndex?: number;
  /** How the open step ended (default 'completed'). */
  previousStatus?: Exclude<StepExecutionStatus, 'running'>;
  details?: Record<string, unknown>;
  errorMessage?: string;
}

export interface RunState {
  processId: string;
  machineId: string;
  totalSteps: number;
  /** The last step journaled (null: none yet). */
  stepIndex: number | null;
  /** The status journaled by complete() or by a stop (null: still running). */
  completed: ExecutionStatus | null;
  /** A pause was applied between two steps and no resume yet (run.control()). */
  paused: boolean;
}

export interface JournalState {
  run: RunState | null;
  pending: { entries: number; rows: number; bytes: number };
  refused: number;
  recovery: RecoveryReport | null;
}

const STEP_STATUSES = new Set(['completed', 'failed', 'skipped', 'aborted']);
const EXECUTION_STATUSES = new Set(['completed', 'failed', 'aborted']);

function serverError(code: string, message: string, details: string | null = null, hint: string | null = null): AldDbError {
  return new AldDbError({ code, message, details, hint, operation: 'advance' });
}

interface Waiter { target: number; resolve: () => void; reject: (e: AldDbError) => void; timer?: NodeJS.Timeout }

/** kind: the entries' kind (events name it); rpc: the call sent when it differs (a run's ticks as record_readings). */
interface DrainCall { kind: string; rpc?: string; args: Record<string, unknown>; entries: StoredEntry[]; tick?: TickArgs }

/** The journaled args of a tick (record_process_data: process_id; record_readings: machine_id). */
interface TickArgs {
  process_id?: string;
  machine_id?: string;
  ts: string;
  ids: string[];
  values: (number | null)[];
  setPoints: (number | null)[] | null;
}

function sameIds(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Journal extends Emitter<JournalEvents> {
  readonly store: JournalStore;
  /** Ticks refused by a full journal (rows). */
  droppedRows = 0;
  /** Drain calls made, retries, entries refused by the database. */
  calls = 0;
  retried = 0;
  refusedCount = 0;
  private readonly options: Required<Omit<JournalOptions, 'path'>>;
  private sending = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private lastError: AldDbError | undefined;
  private closed = false;
  private fullAlarm = false;
  /** Merged ticks up to this seq are sent one per call (a merged call was refused: find the bad tick). */
  private isolateUntil = 0;
  private waiters: Waiter[] = [];
  private run: JournaledRun | null = null;
  private readonly recorders = new Set<JournaledRecorder>();
  /** The last ALD_JOURNAL_FULL raised by admitTick. */
  lastFullError: AldDbError | undefined;

  constructor(
    options: JournalOptions,
    private readonly rpc: RpcClient,
    private readonly processApi: ProcessApi,
    /** @internal run control's claims and failures (src/sdk/journal-control.ts): the client's db.commands */
    readonly commands: CommandsApi,
    private readonly peekParameter: (id: string) => Parameter | undefined,
    private readonly onClose: (journal: Journal) => void = () => {},
  ) {
    super();
    const o = requireObject('journal', options);
    if (typeof o.path !== 'string' || o.path.length === 0) throw invalidArgument('journal', 'journal must be called with { path } (a file path)', o.path);
    for (const key of ['maxPendingBytes', 'maxRowsPerCall', 'maxEntriesPerCall', 'retryBaseMs', 'retryMaxMs', 'flushTimeoutMs'] as const) {
      const v = o[key];
      if (v !== undefined && !(typeof v === 'number' && v > 0)) throw invalidArgument('journal', `${key} must be a positive number`, v);
    }
    this.options = {
      maxPendingBytes: options.maxPendingBytes ?? 1024 ** 3,
      maxRowsPerCall: options.maxRowsPerCall ?? 50_000,
      maxEntriesPerCall: options.maxEntriesPerCall ?? 2000,
      retryBaseMs: options.retryBaseMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 5000,
      flushTimeoutMs: options.flushTimeoutMs ?? 60_000,
    };
    this.store = new JournalStore(options.path);
    const planText = this.store.meta('run.plan');
    if (planText) this.run = new JournaledRun(this, JSON.parse(planText) as Plan, this.store);
    queueMicrotask(() => void this.pump());
  }

  /** The run this journal is in (after a restart: the one it was in), or null. */
  current(): JournaledRun | null {
    return this.run;
  }

  state(): JournalState {
    return {
      run: this.run?.state() ?? null,
      pending: { entries: this.store.pendingEntries, rows: this.store.pendingRows, bytes: this.store.pendingBytes },
      refused: this.store.refusedEntries(1_000_000).length,
      recovery: this.store.recovery,
    };
  }

  refusedEntries(limit?: number): RefusedEntry[] {
    return this.store.refusedEntries(limit);
  }

  /**
   * Starts a run: one round trip (start_process, retried with its request_id), after the previous
   * run's entries have drained (its end must reach the database before the machine can start
   * again). The plan is kept in the journal. Refused (55000) while the journal's current run has
   * not been completed.
   */
  async start(options: StartOptions): Promise<JournaledRun> {
    if (this.closed) throw closedError('start', 'the journal');
    if (this.run && this.run.completed === null) {
      throw new AldDbError({
        code: '55000', operation: 'start',
        message: 'the journal is still in a run: complete() (or abort()) it before starting another',
        details: `process ${this.run.processId} is at step ${this.run.stepIndex ?? 'none'} of ${this.run.plan.total_steps}`,
      });
    }
    // The previous run's end must reach the database before the machine can start again.
    if (this.run && this.store.pendingEntries > 0) await this.flush();
    const plan = await this.processApi.start(options);
    this.run?.closeControl();
    const run = new JournaledRun(this, plan, this.store);
    this.store.writeMeta({ 'run.plan': JSON.stringify(plan), 'run.step': '', 'run.status': '', 'run.paused': '', 'run.control.queue': '' });
    this.run = run;
    return run;
  }

  /**
   * Journals one idempotent call of a known kind (durable when it returns) and schedules the
   * drain. Returns the entry's seq. The run's advance/record/complete use it; so may other
   * writers of the controller (e.g. setpoint acks, once their kind is added).
   */
  append(kind: JournalKind, args: Record<string, unknown>, rows = 0, meta: Record<string, string> = {}): number {
    if (this.closed) throw closedError(kind, 'the journal');
    if (!(kind in JOURNAL_KINDS)) throw invalidArgument('journal', `kind must be one of ${Object.keys(JOURNAL_KINDS).join(', ')}`, kind);
    const seq = this.store.append(kind, args, rows, meta);
    if (!this.sending && this.retryTimer === undefined) queueMicrotask(() => void this.pump());
    return seq;
  }

  /**
   * The machine's recorder through this journal: db.recorder's API (record, flush, close, events),
   * every tick journaled durably before record() returns and drained by record_readings, merged
   * into one call per batch while the parameters stay the same. See journal-recorder.ts.
   */
  recorder(machineId: string): JournaledRecorder {
    if (this.closed) throw closedError('recorder', 'the journal');
    const recorder = new JournaledRecorder(machineId, this, (r) => this.recorders.delete(r));
    this.recorders.add(recorder);
    return recorder;
  }

  /** The setpoint acks of a machine still in the journal (not yet acknowledged by the database). */
  pendingAcks(machineId: string): { seq: number; requestIds: string[] }[] {
    if (this.closed) return [];
    return this.store.pendingAcks()
      .filter((e) => e.args.machine_id === machineId)
      .map((e) => ({ seq: e.seq, requestIds: (e.args.request_ids ?? []) as string[] }));
  }

  /**
   * Resolves once every entry up to `seq` has left the journal (acknowledged or refused); no
   * timeout. Rejects with ALD_CLOSED when the journal is closed first.
   */
  drained(seq: number): Promise<void> {
    if (this.closed) return Promise.reject(closedError('drained', 'the journal'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ target: seq, resolve, reject });
      this.settleWaiters();
      if (!this.sending && this.retryTimer === undefined) void this.pump();
    });
  }

  /** Whether a tick of `rows` readings may still be journaled; raises the alarm ('full') when not. */
  admitTick(rows: number): boolean {
    // A generous estimate of the journaled size (uuid + number per row) to check the limit first.
    const bytes = rows * 60;
    if (this.store.pendingBytes + bytes <= this.options.maxPendingBytes) {
      this.fullAlarm = false;
      return true;
    }
    this.droppedRows += rows;
    const error = new AldDbError({
      code: 'ALD_JOURNAL_FULL', operation: 'record',
      message: `journal full: ${this.store.pendingBytes} of ${this.options.maxPendingBytes} bytes pending, so the tick of ${rows} rows was not journaled`,
      details: `${this.droppedRows} rows refused so far; steps and complete() are still journaled`,
      hint: 'the database has been unreachable for long; raise maxPendingBytes (disk permitting)',
    });
    this.lastFullError = error;
    this.fullAlarm = true;
    this.emit('full', error, { pendingBytes: this.store.pendingBytes, maxPendingBytes: this.options.maxPendingBytes, droppedRows: this.droppedRows });
    return false;
  }

  /** Resolves once every entry journaled before this call is acknowledged (or refused). */
  flush(options: { timeoutMs?: number } = {}): Promise<void> {
    const target = this.store.lastSeq;
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.options.flushTimeoutMs;
      const waiter: Waiter = {
        target, resolve, reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new AldDbError({
            code: 'ALD_TIMEOUT', operation: 'flush', cause: this.lastError,
            message: `the journal did not drain within ${timeoutMs} ms; ${this.store.pendingEntries} entries are still pending (kept on disk)`,
            details: this.lastError ? `last error: ${this.lastError.code} ${this.lastError.message}` : null,
          }));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
      this.settleWaiters();
      if (!this.sending && this.retryTimer === undefined) void this.pump();
    });
  }

  /** Stops draining and closes the file. Pending entries stay on disk for the next open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(closedError('flush', 'the journal'));
    }
    this.waiters = [];
    this.run?.closeControl();
    for (const r of [...this.recorders]) r.detach();
    if (!this.sending) this.store.close();
    this.onClose(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal */
  peek(id: string): Parameter | undefined {
    return this.peekParameter(id);
  }

  private settleWaiters(): void {
    const head = this.store.pendingEntries === 0 ? Infinity : this.store.head(1)[0]?.seq ?? Infinity;
    const done = this.waiters.filter((w) => w.target < head);
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.target >= head);
    for (const w of done) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  /** The next drain call: the oldest entries, batched per kind. */
  private nextBatch(): { calls: DrainCall[]; arrays: { ids: (string | null)[]; values: (number | null)[]; ts: (string | null)[]; setPoints: (number | null)[] | null } } {
    const entries = this.store.head(this.options.maxEntriesPerCall);
    const calls: DrainCall[] = [];
    const ids: (string | null)[] = [];
    const values: (number | null)[] = [];
    const ts: (string | null)[] = [];
    const setPoints: (number | null)[] = [];
    let withSetPoints = false;
    for (const e of entries) {
      const merge = (JOURNAL_KINDS as Record<string, { merge: string }>)[e.kind]?.merge ?? 'none';
      if (merge === 'none') {
        calls.push({ kind: e.kind, args: e.args, entries: [e] });
        continue;
      }
      // Ticks travel as rows of the typed arrays: one row per reading. A run's rows carry their id
      // and time (record_process_data); a machine's whole ticks carry only their values there, the
      // ids once and one time per tick in the call's args (record_readings' rectangular form).
      const t = e.args as unknown as TickArgs;
      if (ids.length > 0 && ids.length + t.ids.length > this.options.maxRowsPerCall) break;
      const last = calls[calls.length - 1];
      // A run's tick journaled with its machine (every tick since record_readings took process_id)
      // drains as record_readings with that process_id: the same checks, the rectangular form.
      // Older entries without machine_id go as record_process_data's keyed rows.
      const keyed = merge === 'rows' && t.machine_id === undefined;
      const mergeable = last !== undefined && last.kind === e.kind
        && e.seq > this.isolateUntil && last.entries[last.entries.length - 1].seq > this.isolateUntil
        && (keyed
          ? last.tick === undefined && last.args.process_id === t.process_id
          // record_readings: whole ticks of the same machine (and process) and parameters, in the same order
          : last.tick !== undefined && last.args.machine_id === t.machine_id && last.args.process_id === t.process_id
            && sameIds(last.tick.ids, t.ids) && (last.tick.setPoints === null) === (t.setPoints === null));
      const from = ids.length + 1;
      for (let i = 0; i < t.ids.length; i++) {
        ids.push(keyed ? t.ids[i] : null);
        values.push(t.values[i]);
        ts.push(keyed ? t.ts : null);
        setPoints.push(t.setPoints ? t.setPoints[i] : null);
      }
      if (t.setPoints) withSetPoints = true;
      if (mergeable) {
        last.args.to = ids.length;
        if (!keyed) (last.args.ts as string[]).push(t.ts);
        last.entries.push(e);
      } else if (keyed) {
        calls.push({ kind: e.kind, args: { process_id: t.process_id, from, to: ids.length }, entries: [e] });
      } else {
        const args: Record<string, unknown> = { machine_id: t.machine_id, from, to: ids.length, ids: t.ids, ts: [t.ts] };
        if (t.process_id !== undefined) args.process_id = t.process_id;
        calls.push({ kind: e.kind, rpc: e.kind === 'record_readings' ? undefined : 'record_readings', args, entries: [e], tick: t });
      }
    }
    return { calls, arrays: { ids, values, ts, setPoints: withSetPoints ? setPoints : null } };
  }

  private async pump(): Promise<void> {
    if (this.closed || this.sending || this.retryTimer !== undefined) return;
    if (this.store.pendingEntries === 0) return this.settleWaiters();
    this.sending = true;
    let again = true;
    let batchEntries = 0;
    try {
      const { calls, arrays } = this.nextBatch();
      batchEntries = calls.reduce((n, c) => n + c.entries.length, 0);
      const args: Record<string, unknown> = { calls: calls.map((c) => ({ kind: c.rpc ?? c.kind, args: c.args })) };
      if (arrays.ids.length > 0) {
        args.parameter_ids = arrays.ids;
        args.values = arrays.values;
        args.timestamps = arrays.ts;
        if (arrays.setPoints) args.set_points = arrays.setPoints;
      }
      this.calls++;
      const outcomes = await this.rpc.once<Outcome[]>('apply_journal', args);
      this.attempt = 0;
      this.lastError = undefined;
      if (this.closed) return;
      this.applyOutcomes(calls, outcomes ?? []);
    } catch (error) {
      const e = error instanceof AldDbError ? error : new AldDbError({ code: 'ALD_UNEXPECTED', message: String(error), cause: error });
      this.lastError = e;
      if (!this.closed && !this.rpc.isClosed) {
        // Transient or not, the entries stay on disk and are resent: a permanent failure of the
        // whole call (42501, a missing migration) must not lose data; it waits at the longest delay.
        const delayMs = isTransient(e)
          ? backoffDelay(this.attempt++, { baseMs: this.options.retryBaseMs, maxMs: this.options.retryMaxMs })
          : this.options.retryMaxMs;
        this.retried++;
        this.emit('retry', e, { attempt: this.attempt, delayMs, entries: batchEntries });
        again = false;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.pump();
        }, delayMs);
      } else {
        again = false;
      }
    } finally {
      this.sending = false;
      if (this.closed) this.store.close();
      else this.settleWaiters();
    }
    if (again) void this.pump();
  }

  private applyOutcomes(calls: DrainCall[], outcomes: Outcome[]): void {
    const done: StoredEntry[] = [];
    const refused: { entry: StoredEntry; code: string; message: string; detail: string | null }[] = [];
    const events: [AldDbError, RefusedInfo][] = [];
    const applied: AppliedInfo[] = [];
    let rows = 0;
    let sentCalls = 0;
    for (let i = 0; i < calls.length && i < outcomes.length; i++) {
      const call = calls[i];
      const o = outcomes[i];
      if (o.ok) {
        done.push(...call.entries);
        const callRows = call.entries.reduce((n, e) => n + e.rows, 0);
        rows += callRows;
        sentCalls++;
        applied.push({ kind: call.kind, seqs: call.entries.map((e) => e.seq), args: call.entries[0].args, result: o.result ?? null, rows: callRows });
        continue;
      }
      if (o.transient) break; // resent from here, in order
      if (call.entries.length > 1) {
        // A merged run of ticks was refused: send them one per call to find the ones that fail alone.
        this.isolateUntil = call.entries[call.entries.length - 1].seq;
        break;
      }
      const [entry] = call.entries;
      const error = new AldDbError({ code: o.code ?? 'ALD_UNEXPECTED', message: o.message ?? 'refused', details: o.detail ?? null, hint: o.hint ?? null, operation: entry.kind });
      refused.push({ entry, code: String(error.code), message: error.message, detail: error.details ?? null });
      const a = entry.args as { process_id?: string; machine_id?: string; step_index?: number; step_id?: string };
      events.push([error, {
        seq: entry.seq, kind: entry.kind, processId: a.process_id ?? null, machineId: a.machine_id ?? null,
        stepIndex: entry.kind === 'advance_step' ? (a.step_index ?? null) : null,
        stepId: entry.kind === 'advance_step' ? (a.step_id ?? null) : null,
        rows: entry.rows,
      }]);
    }
    this.store.settle(done, refused);
    this.refusedCount += refused.length;
    if (done.length > 0) this.emit('sent', { entries: done.length, calls: sentCalls, rows });
    for (const info of applied) this.emit('applied', info);
    for (const [error, info] of events) this.emit('refused', error, info);
  }
}

interface Outcome {
  ok: boolean;
  result?: unknown;
  code?: string;
  message?: string;
  detail?: string | null;
  hint?: string | null;
  transient?: boolean;
}

/** One run executed from local state. See the header of this file. */
export class JournaledRun {
  readonly steps: PlannedStep[];
  private lastIndex: number | null;
  private status: ExecutionStatus | null;
  private pausedFlag: boolean;
  private readonly clock = new TickClock();
  private readonly paramsInPlan = new Map<string, Parameter>();
  private runControl: RunControl | undefined;

  constructor(private readonly journal: Journal, readonly plan: Plan, private readonly store: JournalStore) {
    this.steps = flattenPlan(plan);
    for (const p of plan.parameters ?? []) this.paramsInPlan.set(p.id, p);
    // Resumed from the journal (restart): the step and status it had journaled for this run.
    const stored = JSON.parse(store.meta('run.plan') ?? 'null') as Plan | null;
    const same = stored?.process_id === plan.process_id;
    const step = same ? store.meta('run.step') : undefined;
    const status = same ? store.meta('run.status') : undefined;
    this.lastIndex = step ? Number(step) : null;
    this.status = status ? (status as ExecutionStatus) : null;
    this.pausedFlag = same && store.meta('run.paused') === '1';
  }

  get processId(): string {
    return this.plan.process_id;
  }

  /** The last step journaled, or null before the first. */
  get stepIndex(): number | null {
    return this.lastIndex;
  }

  /** The status complete() (or a stop of run control) journaled, or null while running. */
  get completed(): ExecutionStatus | null {
    return this.status;
  }

  /** A pause was applied (run control) and no resume yet: advance() is refused (55000) meanwhile. */
  get paused(): boolean {
    return this.pausedFlag;
  }

  /**
   * Run control for this run: claims the machine's commands in the background (a claim every
   * pollMs, and at once when a drained step's reply names a pending command) and applies a stop,
   * pause or resume between two steps, when the loop awaits `control.between()`. The server side
   * (apply_run_command) is journaled, so it drains after the steps before it. Other commands
   * claimed meanwhile are failed ('not while a recipe runs'). One per run: a second call returns
   * the same RunControl while it is open. See src/sdk/journal-control.ts.
   */
  control(options: RunControlOptions = {}): RunControl {
    if (this.journal.isClosed) throw closedError('control', 'the journal');
    if (this.runControl && !this.runControl.isClosed) return this.runControl;
    this.runControl = new RunControl(this, this.journal, this.store, options);
    return this.runControl;
  }

  /** @internal */
  closeControl(): void {
    this.runControl?.close();
  }

  /**
   * @internal Applies a claimed stop, pause or resume locally and journals its server side
   * (apply_run_command) with the run's new state, in one durable transaction.
   */
  applyControl(type: 'stop_recipe' | 'pause_recipe' | 'resume_recipe', commandId: string, meta: Record<string, string>): number {
    if (this.status !== null) throw serverError('RC001', 'machine has no open run', `process ${this.plan.process_id} was completed (${this.status}) in this journal`);
    const state: Record<string, string> = type === 'pause_recipe' ? { 'run.paused': '1' }
      : type === 'resume_recipe' ? { 'run.paused': '' }
        : { 'run.paused': '', 'run.status': 'aborted' };
    // at: the moment it was applied between two steps (a pause's paused_at, a stop's ended_at)
    const seq = this.journal.append('apply_run_command', { command_id: commandId, at: new Date().toISOString() }, 0, { ...meta, ...state });
    if (type === 'stop_recipe') {
      this.status = 'aborted';
      this.pausedFlag = false;
    } else {
      this.pausedFlag = type === 'pause_recipe';
    }
    return seq;
  }
  /** The next step to run (null after the last one, or once completed). */
  next(): PlannedStep | null {
    if (this.status !== null) return null;
    return this.steps[(this.lastIndex ?? -1) + 1] ?? null;
  }

  state(): RunState {
    return {
      processId: this.plan.process_id, machineId: this.plan.machine_id, totalSteps: this.plan.total_steps,
      stepIndex: this.lastIndex, completed: this.status, paused: this.pausedFlag,
    };
  }

  /**
   * Closes the open step and opens the next (or `stepIndex`), from local state: validated as
   * advance_step would, journaled (durable), returned. No round trip. Throws the SQLSTATE the
   * server would raise (22023, 22003, 55000) and journals nothing when the step is not allowed.
   */
  advance(options: JournalAdvanceOptions = {}): LocalStepReply {
    const o = requireObject('advance', options);
    if (this.status !== null) {
      throw serverError('55000', 'process is not running', `process ${this.plan.process_id} was completed (${this.status}) in this journal`);
    }
    if (this.pausedFlag) {
      throw serverError('55000', 'process is not running', `process ${this.plan.process_id} is paused (a pause was applied between two steps)`,
        'await control.between(): it returns once the run is resumed');
    }
    const previousStatus = optionalString('advance', 'previousStatus', o.previousStatus) ?? 'completed';
    if (!STEP_STATUSES.has(previousStatus)) {
      throw serverError('22023', 'previous_status must be completed, failed, skipped or aborted', `got ${previousStatus}`);
    }
    if (o.details !== undefined && (typeof o.details !== 'object' || o.details === null || Array.isArray(o.details))) {
      throw serverError('22023', 'details must be a JSON object');
    }
    const errorMessage = optionalString('advance', 'errorMessage', o.errorMessage);
    const stepIndex = o.stepIndex === undefined ? (this.lastIndex ?? -1) + 1 : o.stepIndex;
    if (typeof stepIndex !== 'number' || !Number.isInteger(stepIndex)) throw invalidArgument('advance', 'stepIndex must be an integer', stepIndex);
    if (stepIndex < 0 || stepIndex >= this.plan.total_steps) {
      throw serverError('22023', 'step_index out of range', `step_index ${stepIndex} is outside [0, ${this.plan.total_steps}) for process ${this.plan.process_id}`);
    }
    if (stepIndex <= (this.lastIndex ?? -1)) {
      throw serverError('22023', 'step_index must increase', `step_index ${stepIndex} after ${this.lastIndex}`);
    }
    const planned = this.steps[stepIndex];
    const config = (planned.step.config ?? null) as Record<string, unknown> | null;
    let parameter: Parameter | null = null;
    if (planned.step.step_type === 'parameter') parameter = this.checkSetpoint(config);
    const args: Record<string, unknown> = {
      process_id: this.plan.process_id, step_id: planned.step_id, step_index: stepIndex,
      loop_iteration: planned.loop_iteration ?? undefined,
      previous_status: previousStatus === 'completed' ? undefined : previousStatus,
      details: o.details as Record<string, unknown> | undefined, error_message: errorMessage,
      // the moment of the step: advance_step stamps it (not the drain's now())
      at: new Date().toISOString(),
    };
    const seq = this.journal.append('advance_step', args, 0, { 'run.step': String(stepIndex) });
    this.lastIndex = stepIndex;
    return {
      process_id: this.plan.process_id, step_id: planned.step_id, step_index: stepIndex, step_type: planned.step.step_type,
      loop_iteration: planned.loop_iteration, config, parameter,
      completed_steps: stepIndex, total_steps: this.plan.total_steps, journal_seq: seq, at: args.at as string,
    };
  }

  /**
   * Journals one tick of readings (durable when it returns). Never waits for the network. Refused
   * (and reported by the journal's 'full' event) while the journal holds maxPendingBytes.
   * Returns false when refused.
   */
  record(readings: Readings, ts?: Date | number | string): boolean {
    if (this.journal.isClosed) throw closedError('record', 'the journal');
    // The server refuses rows stamped after the end of a run.
    if (this.status !== null) throw serverError('55000', 'process is not running', `process ${this.plan.process_id} was completed (${this.status}) in this journal`);
    // record_process_data kept the first reading of a repeated parameter; the drain sends a run's
    // ticks as record_readings, which refuses repeats: keep the first here, as before.
    const tick = firstOfEach(toTick(readings, 0, ts === undefined ? this.clock.next() : timestampOf(ts), { nonFinite: 0 }));
    if (tick.ids.length === 0) return true;
    const args = { process_id: this.plan.process_id, machine_id: this.plan.machine_id, ts: tick.ts, ids: tick.ids, values: tick.values, setPoints: tick.setPoints };
    if (!this.journal.admitTick(tick.ids.length)) return false;
    this.journal.append('record_process_data', args, tick.ids.length);
    return true;
  }

  /** Journals the end of the run (closes the open step) with its time (the run's ended_at once drained). No round trip. */
  complete(options: { status?: ExecutionStatus; errorMessage?: string } = {}): number {
    const o = requireObject('complete', options);
    if (this.status !== null) throw serverError('55000', 'process is not running', `process ${this.plan.process_id} was already completed (${this.status}) in this journal`);
    const status = optionalString('complete', 'status', o.status) ?? 'completed';
    if (!EXECUTION_STATUSES.has(status)) throw serverError('22023', 'status must be completed, failed or aborted', `got ${status}`);
    const seq = this.journal.append('complete_process', {
      process_id: this.plan.process_id, status, error_message: optionalString('complete', 'errorMessage', o.errorMessage),
      // the moment the run ended: the run's and its last step's ended_at, whenever it drains
      at: new Date().toISOString(),
    }, 0, { 'run.status': status, 'run.paused': '' });
    this.status = status as ExecutionStatus;
    this.pausedFlag = false;
    this.runControl?.runEnded();
    return seq;
  }

  /** Ends the run as aborted (e.g. after a restart, or on a refusal): complete({ status: 'aborted' }). */
  abort(errorMessage?: string): number {
    return this.complete({ status: 'aborted', errorMessage });
  }

  /** The checks set_parameter_value (and so advance_step) makes, on the freshest row known locally. */
  private checkSetpoint(config: Record<string, unknown> | null): Parameter {
    const id = config?.parameter_id;
    const value = config?.value;
    if (typeof id !== 'string') throw serverError('P0002', 'parameter step has no config');
    if (value === null || value === undefined) throw serverError('22004', 'value is required');
    if (typeof value !== 'number' || !Number.isFinite(value)) throw serverError('22023', 'value must be a finite number', `got ${String(value)}`);
    const cached = this.journal.peek(id);
    const inPlan = this.paramsInPlan.get(id);
    const row = cached && (!inPlan || Number(cached.version) >= Number(inPlan.version)) ? cached : inPlan;
    if (!row) {
      throw serverError('55000', 'parameter is inactive', `parameter ${id} is not among the active parameters of activated components of machine ${this.plan.machine_id}`);
    }
    if (!row.component_activated) throw serverError('55000', 'component is deactivated', `parameter ${id}`);
    if (!row.is_active) throw serverError('55000', 'parameter is inactive', `parameter ${id}`);
    if (!row.is_writable) throw serverError('55000', 'parameter is not writable', `parameter ${id} (${row.name})`);
    if (row.data_type === 'integer' && !Number.isInteger(value)) {
      throw serverError('22023', 'value must be a whole number for an integer parameter', `parameter ${id}: ${value}`);
    }
    if (row.data_type === 'binary' && value !== 0 && value !== 1) {
      throw serverError('22023', 'value must be 0 or 1 for a binary parameter', `parameter ${id}: ${value}`);
    }
    if ((row.min_value !== null && value < Number(row.min_value)) || (row.max_value !== null && value > Number(row.max_value))) {
      throw serverError('22003', 'value out of range', `${value} is outside [${row.min_value ?? '-inf'}, ${row.max_value ?? 'inf'}] for parameter ${id} (${row.name})`);
    }
    return { ...row, set_value: value };
  }
}
