// db.setpoints: setpoints reach the PLC and come back confirmed.
//
// Every accepted change of a desired setpoint (set_value) becomes a setpoint request in the
// database. The controller claims every open request of its machine in one call, writes the PLC,
// and acks all outcomes in one call; only an ack (or a PLC report) moves applied_value.
//
//   claim(machineId)            1 round trip, NOT retried: a claim whose reply was lost is delivered
//                               again when its claim times out (default 30 s)
//   ack({ machineId, ... })     1 round trip, retried: an identical repeat is a no-op (replayed)
//   report(machineId, values)   1 round trip, retried: a repeat changes nothing
//   list(machineId)             1 round trip: the open requests (for a UI)
//   subscribe(machineId, handler)   the controller's loop: claim → handler writes the PLC → ack
//   subscribe(machineId, handler, { journal })   the same, the acks journaled (durable on local
//                               disk) and drained by the journal in order, instead of sent
//
// subscribe is woken by NOTIFY on ald_setpoint_requests (direct transport; a session connection of
// its own), by a poll of the claim every pollMs (default 2000 ms) as a fallback, and after every
// (re)connect of that session: a request made while LISTEN was down is delivered on reconnect (or
// by the next poll), never lost; it is claimed once, so it is never applied twice. The supabase
// transport polls (wake() lets a Supabase Realtime subscription on setpoint_requests wake it sooner).
//
// With a journal (docs/journal.md, "Setpoint acks"): the handler's outcomes are appended to the
// journal as one ack_setpoint_requests entry, durable when the append returns, and reach the
// database when the journal drains (in order, behind the steps and ticks journaled before them).
// Re-delivery: a claim times out after claimTimeoutSeconds (30 s) and the request is delivered
// again, so the subscription does not claim while an ack of its machine is still in the journal
// (claims need the network anyway): it waits until that entry has drained, then claims. The
// ack then reaches the database before any claim could re-deliver the request or supersede it,
// and ack_setpoint_requests accepts an ack of a claim that timed out. As a second guard, a claimed
// request whose ack is still in the journal is never handed to the handler ('skipped').
import postgres from 'postgres';
import { AldDbError, closedError, fromPostgresError, invalidArgument, isTransient } from './errors.ts';
import { Emitter } from './emitter.ts';
import { backoffDelay, type BackoffOptions } from './retry.ts';
import { SerialLoop } from './serial-loop.ts';
import type { Journal, AppliedInfo, RefusedInfo } from './journal.ts';
import type { RpcClient } from './rpc-client.ts';
import type { ClaimedSetpoint, SetpointAck, SetpointRequest } from './types.ts';
import { optionalString, requireUuid } from './validate.ts';

export const SETPOINT_CHANNEL = 'ald_setpoint_requests';

/** The payload of a NOTIFY on ald_setpoint_requests (20261204200100_setpoint_requests.sql). */
export interface SetpointNotification {
  machine_id: string;
  request_id: string;
  parameter_id: string;
  source: string;
}

/** What the handler did with one request: written and confirmed by the PLC, or failed (with why). */
export type SetpointOutcome = { ok: true; appliedValue?: number } | { ok: false; error: string };

/**
 * Writes the claimed requests to the PLC and returns one outcome per request: an array in the
 * order of `requests`, or an object keyed by request_id. Throwing acks nothing: the requests are
 * delivered again after their claim timed out.
 */
export type SetpointHandler = (requests: ClaimedSetpoint[]) => Promise<SetpointOutcome[] | Record<string, SetpointOutcome>>;

export interface AckOptions {
  machineId: string;
  requestIds: string[];
  ok: boolean[];
  /** The value the PLC confirmed per request (null/undefined: the requested value). */
  appliedValues?: (number | null)[];
  /** Why a request failed (null for the ok ones). */
  errors?: (string | null)[];
}

export interface ClaimOptions {
  claimedBy?: string;
  /** Seconds until an un-acked claim is delivered again (default 30, 1..3600). */
  claimTimeoutSeconds?: number;
}

export interface SubscribeOptions extends ClaimOptions {
  /** Poll the claim this often as a fallback to NOTIFY (default 2000 ms; the supabase transport's only wake). */
  pollMs?: number;
  /**
   * Journal the acks (db.journal(...)): durable on local disk when the handler's outcomes are
   * recorded, drained in journal order. No claim while an ack of this machine is in the journal.
   */
  journal?: Journal;
}

export interface SubscriptionEvents {
  /** Requests were claimed and are about to be handed to the handler. */
  claimed: [requests: ClaimedSetpoint[]];
  /** Their outcomes were acked (with a journal: once the journaled ack drained). */
  acked: [acks: SetpointAck[], requests: ClaimedSetpoint[]];
  /** With a journal: the outcomes were journaled (durable) as entry journalSeq; 'acked' follows when it drains. */
  journaled: [requests: ClaimedSetpoint[], journalSeq: number];
  /** With a journal: claimed requests whose ack is still in the journal, not handed to the handler. */
  skipped: [requests: ClaimedSetpoint[]];
  /** The LISTEN session is subscribed (again); a claim follows at once. */
  connected: [];
  disconnected: [error: AldDbError];
  /** A claim, the handler or an ack failed; the loop goes on (see the header). */
  error: [error: AldDbError];
}

export interface SubscriptionStats {
  /** Claim calls, and how many requests they returned. */
  claims: number;
  delivered: number;
  /** Ack calls, and the outcomes they carried. */
  acks: number;
  applied: number;
  failed: number;
  /** With a journal: ack entries journaled, and re-delivered requests skipped (their ack was in the journal). */
  journaled: number;
  skipped: number;
  /** What woke the loop. */
  wakes: { notify: number; poll: number; reconnect: number; manual: number };
}

interface ListenSettings {
  url: string;
  applicationName: string;
  backoff: BackoffOptions;
  connectTimeoutSec: number;
}

export class SetpointsApi {
  private readonly subscriptions = new Set<SetpointSubscription>();

  constructor(private readonly rpc: RpcClient, private readonly listen: ListenSettings | undefined) {}

  /** Claims every open request of the machine (the latest per parameter, and claims that timed out) in one round trip. */
  async claim(machineId: string, options: ClaimOptions = {}): Promise<ClaimedSetpoint[]> {
    requireUuid('setpoints.claim', 'a machine id', machineId);
    const timeout = options.claimTimeoutSeconds;
    if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= 3600)) {
      throw invalidArgument('setpoints.claim', 'claimTimeoutSeconds must be a whole number of seconds from 1 to 3600', timeout);
    }
    return this.rpc.once<ClaimedSetpoint[]>('claim_setpoint_requests', {
      machine_id: machineId,
      claimed_by: optionalString('setpoints.claim', 'claimedBy', options.claimedBy),
      claim_timeout_seconds: timeout,
    });
  }

  /** Records many outcomes in one round trip (retried: an identical repeat is a no-op, replayed: true). */
  async ack(options: AckOptions): Promise<SetpointAck[]> {
    if (typeof options !== 'object' || options === null) throw invalidArgument('setpoints.ack', 'ack must be called with { machineId, requestIds, ok }', options);
    requireUuid('setpoints.ack', 'a machine id', options.machineId);
    const { requestIds, ok, appliedValues, errors } = options;
    if (!Array.isArray(requestIds) || !Array.isArray(ok) || requestIds.length !== ok.length) {
      throw invalidArgument('setpoints.ack', 'requestIds and ok must be arrays of equal length', { requestIds, ok });
    }
    for (const id of requestIds) requireUuid('setpoints.ack', 'a request id', id);
    if (appliedValues !== undefined && (!Array.isArray(appliedValues) || appliedValues.length !== requestIds.length)) {
      throw invalidArgument('setpoints.ack', 'appliedValues must have one entry per request id', appliedValues);
    }
    if (errors !== undefined && (!Array.isArray(errors) || errors.length !== requestIds.length)) {
      throw invalidArgument('setpoints.ack', 'errors must have one entry per request id', errors);
    }
    return this.rpc.idempotent<SetpointAck[]>('ack_setpoint_requests', {
      machine_id: options.machineId,
      request_ids: requestIds,
      ok,
      applied_values: appliedValues?.map((v) => v ?? null),
      errors: errors?.map((e) => e ?? null),
    });
  }

  /** What the PLC holds, { parameterId: value }, in one round trip; returns how many applied values moved. */
  async report(machineId: string, values: Record<string, number>): Promise<number> {
    requireUuid('setpoints.report', 'a machine id', machineId);
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw invalidArgument('setpoints.report', 'report must be called with { [parameterId]: value }', values);
    }
    const ids = Object.keys(values);
    for (const id of ids) {
      requireUuid('setpoints.report', 'a parameter id', id);
      if (typeof values[id] !== 'number' || !Number.isFinite(values[id])) {
        throw invalidArgument('setpoints.report', `the value of ${id} must be a finite number`, values[id]);
      }
    }
    return this.rpc.idempotent<number>('report_plc_values', { machine_id: machineId, parameter_ids: ids, values: ids.map((id) => values[id]) });
  }

  /** The open requests of a machine, newest first (includeClosed: also applied, failed, superseded). */
  async list(machineId: string, options: { includeClosed?: boolean; maxRows?: number } = {}): Promise<SetpointRequest[]> {
    requireUuid('setpoints.list', 'a machine id', machineId);
    return this.rpc.idempotent<SetpointRequest[]>('get_setpoint_requests', {
      machine_id: machineId, include_closed: options.includeClosed, max_rows: options.maxRows,
    });
  }

  /**
   * The controller's loop for one machine: on every request (NOTIFY, poll, reconnect) one claim,
   * the handler writes the PLC, one ack. Returns the subscription; close() stops it.
   */
  subscribe(machineId: string, handler: SetpointHandler, options: SubscribeOptions = {}): SetpointSubscription {
    if (this.rpc.isClosed) throw closedError('setpoints.subscribe');
    requireUuid('setpoints.subscribe', 'a machine id', machineId);
    if (typeof handler !== 'function') throw invalidArgument('setpoints.subscribe', 'the handler must be a function', handler);
    const pollMs = options.pollMs ?? 2000;
    if (!(Number.isFinite(pollMs) && pollMs >= 10)) throw invalidArgument('setpoints.subscribe', 'pollMs must be a number of milliseconds, at least 10', pollMs);
    const journal = options.journal;
    if (journal !== undefined && (typeof journal !== 'object' || journal === null || typeof journal.append !== 'function' || typeof journal.drained !== 'function')) {
      throw invalidArgument('setpoints.subscribe', 'journal must be a Journal (db.journal(...))', journal);
    }
    if (journal?.isClosed) throw closedError('setpoints.subscribe', 'the journal');
    const sub = new SetpointSubscription(this, machineId, handler, { ...options, pollMs }, this.listen, () => this.subscriptions.delete(sub));
    this.subscriptions.add(sub);
    sub.start();
    return sub;
  }

  /** Stops every subscription (db.close()). */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
  }
}

const asAldError = (error: unknown, operation: string): AldDbError =>
  error instanceof AldDbError ? error : new AldDbError({ code: 'ALD_UNEXPECTED', message: String(error), operation, cause: error });

export class SetpointSubscription extends Emitter<SubscriptionEvents> {
  readonly stats: SubscriptionStats = {
    claims: 0, delivered: 0, acks: 0, applied: 0, failed: 0, journaled: 0, skipped: 0, wakes: { notify: 0, poll: 0, reconnect: 0, manual: 0 },
  };
  private closed = false;
  private readonly loop = new SerialLoop(
    () => this.cycle(),
    (error) => this.emit('error', asAldError(error, 'setpoints.subscribe')),
    () => this.closed,
  );
  private timer: NodeJS.Timeout | undefined;
  private listener: NotifyListener | undefined;
  /** Outcomes the handler produced whose ack has not been stored yet: sent before the next claim. */
  private unacked: { ack: AckOptions; requests: ClaimedSetpoint[] } | undefined;
  /** With a journal: the ack entries this subscription journaled and is waiting for, by seq. */
  private readonly journaledAcks = new Map<number, { ack: AckOptions; requests: ClaimedSetpoint[] }>();
  private closedSignal!: () => void;
  private readonly closedPromise = new Promise<void>((resolve) => (this.closedSignal = resolve));
  private readonly onApplied = (info: AppliedInfo) => {
    const pending = info.kind === 'ack_setpoint_requests' ? this.journaledAcks.get(info.seqs[0]) : undefined;
    if (!pending) return;
    this.journaledAcks.delete(info.seqs[0]);
    this.countAck(pending, (info.result ?? []) as SetpointAck[]);
  };
  private readonly onRefused = (error: AldDbError, info: RefusedInfo) => {
    if (info.kind !== 'ack_setpoint_requests' || !this.journaledAcks.delete(info.seq)) return;
    this.emit('error', error);
  };

  constructor(
    private readonly api: SetpointsApi,
    readonly machineId: string,
    private readonly handler: SetpointHandler,
    private readonly options: SubscribeOptions & { pollMs: number },
    private readonly listen: ListenSettings | undefined,
    private readonly onClose: () => void,
  ) {
    super();
  }

  /** Backend pid of the LISTEN session (tests terminate it); null while down or without one. */
  get listenerPid(): number | null {
    return this.listener?.pid ?? null;
  }

  start(): void {
    if (this.options.journal) {
      this.options.journal.on('applied', this.onApplied);
      this.options.journal.on('refused', this.onRefused);
    }
    if (this.listen) {
      this.listener = new NotifyListener(this.listen);
      this.listener.on('notify', (n) => {
        if (n.machine_id !== this.machineId) return;
        this.stats.wakes.notify++;
        this.kick();
      });
      this.listener.on('up', () => {
        this.stats.wakes.reconnect++;
        this.emit('connected');
        this.kick();
      });
      this.listener.on('down', (e) => this.emit('disconnected', e));
      this.listener.start();
    } else {
      this.kick();
    }
    this.timer = setInterval(() => {
      this.stats.wakes.poll++;
      this.kick();
    }, this.options.pollMs);
    this.timer.unref?.();
  }

  /** Claim now (e.g. from a Supabase Realtime INSERT on setpoint_requests). */
  wake(): void {
    this.stats.wakes.manual++;
    this.kick();
  }

  /** Resolves when the current cycle (if any) has finished: handy in tests. */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closedSignal();
    clearInterval(this.timer);
    await this.listener?.close();
    await this.loop.idle();
    this.options.journal?.off('applied', this.onApplied);
    this.options.journal?.off('refused', this.onRefused);
    this.onClose();
  }

  private kick(): void {
    this.loop.kick();
  }

  /**
   * Claim, handle, ack: one claim and one ack per wake. Requests made meanwhile (including one that
   * waited behind a request in flight) announce themselves by NOTIFY, which sets `again`; the poll
   * covers a lost NOTIFY.
   */
  private async cycle(): Promise<void> {
    {
      if (this.closed) return;
      const journal = this.options.journal;
      if (journal) {
        // No claim while an ack of this machine is in the journal: it drains first (see the header).
        if (!(await this.acksDrained(journal))) return;
      } else if (this.unacked) {
        await this.sendAck(this.unacked);
      }
      let requests = await this.api.claim(this.machineId, { claimedBy: this.options.claimedBy, claimTimeoutSeconds: this.options.claimTimeoutSeconds });
      this.stats.claims++;
      if (requests.length === 0) return;
      this.stats.delivered += requests.length;
      this.emit('claimed', requests);
      if (journal) {
        if (journal.isClosed) return;
        const inJournal = new Set(journal.pendingAcks(this.machineId).flatMap((a) => a.requestIds));
        const skipped = requests.filter((r) => inJournal.has(r.request_id));
        if (skipped.length > 0) {
          this.stats.skipped += skipped.length;
          this.emit('skipped', skipped);
          requests = requests.filter((r) => !inJournal.has(r.request_id));
          if (requests.length === 0) return;
        }
      }
      let outcomes: SetpointOutcome[];
      try {
        outcomes = outcomesFor(requests, await this.handler(requests));
      } catch (error) {
        // Not acked: whether the PLC was written is unknown, so the requests come back after
        // their claim timed out rather than being recorded as applied or failed.
        const e = error instanceof AldDbError && error.code === 'ALD_HANDLER' ? error
          : new AldDbError({ code: 'ALD_HANDLER', message: `the setpoint handler failed: ${error instanceof Error ? error.message : String(error)}`, operation: 'setpoints.subscribe', cause: error });
        this.emit('error', e);
        return;
      }
      const ack: AckOptions = {
        machineId: this.machineId,
        requestIds: requests.map((r) => r.request_id),
        ok: outcomes.map((o) => o.ok),
        appliedValues: outcomes.map((o) => (o.ok && o.appliedValue !== undefined ? o.appliedValue : null)),
        errors: outcomes.map((o) => (o.ok ? null : o.error)),
      };
      if (journal) {
        if (journal.isClosed) {
          // The journal closed while the PLC was written: nothing recorded, so the requests come
          // back after their claim timed out, as when a handler throws.
          this.emit('error', closedError('ack_setpoint_requests', 'the journal'));
          return;
        }
        const seq = journal.append('ack_setpoint_requests', {
          machine_id: ack.machineId, request_ids: ack.requestIds, ok: ack.ok, applied_values: ack.appliedValues, errors: ack.errors,
        });
        this.journaledAcks.set(seq, { ack, requests });
        this.stats.journaled++;
        this.emit('journaled', requests, seq);
        if (requests.some((r) => r.claim_count > 1) || this.listen === undefined) this.loop.kick();
        return;
      }
      this.unacked = { ack, requests };
      await this.sendAck(this.unacked);
      // A full batch may leave requests that waited behind the ones just acked: claim again now.
      if (requests.some((r) => r.claim_count > 1) || this.listen === undefined) this.loop.kick();
    }
  }

  private async sendAck(pending: { ack: AckOptions; requests: ClaimedSetpoint[] }): Promise<void> {
    let acks: SetpointAck[];
    try {
      acks = await this.api.ack(pending.ack);
    } catch (error) {
      const e = asAldError(error, 'ack_setpoint_requests');
      // A transient failure keeps the outcomes for the next cycle; a refusal will not get better.
      if (isTransient(e)) throw e;
      this.unacked = undefined;
      throw e;
    }
    this.unacked = undefined;
    this.countAck(pending, acks);
  }

  private countAck(pending: { ack: AckOptions; requests: ClaimedSetpoint[] }, acks: SetpointAck[]): void {
    this.stats.acks++;
    for (const ok of pending.ack.ok) {
      if (ok) this.stats.applied++;
      else this.stats.failed++;
    }
    this.emit('acked', acks, pending.requests);
  }

  /**
   * Waits until no ack of this machine is left in the journal (acknowledged or refused). False
   * when the subscription or the journal closed meanwhile.
   */
  private async acksDrained(journal: Journal): Promise<boolean> {
    for (;;) {
      if (this.closed || journal.isClosed) return false;
      const pending = journal.pendingAcks(this.machineId);
      if (pending.length === 0) return true;
      const drained = journal.drained(pending[pending.length - 1].seq).then(() => true, () => false);
      if (!(await Promise.race([drained, this.closedPromise.then(() => false)]))) return false;
    }
  }
}

function outcomesFor(requests: ClaimedSetpoint[], result: SetpointOutcome[] | Record<string, SetpointOutcome>): SetpointOutcome[] {
  const list = Array.isArray(result) ? result : requests.map((r) => (result ?? {})[r.request_id]);
  if (list.length !== requests.length) {
    throw new AldDbError({ code: 'ALD_HANDLER', operation: 'setpoints.subscribe', message: `the setpoint handler returned ${list.length} outcomes for ${requests.length} requests` });
  }
  return list.map((o, i) => {
    if (typeof o !== 'object' || o === null || typeof o.ok !== 'boolean') {
      throw new AldDbError({ code: 'ALD_HANDLER', operation: 'setpoints.subscribe', message: `the setpoint handler returned no outcome { ok } for request ${requests[i].request_id}` });
    }
    if (o.ok && o.appliedValue !== undefined && !Number.isFinite(o.appliedValue)) {
      throw new AldDbError({ code: 'ALD_HANDLER', operation: 'setpoints.subscribe', message: `appliedValue of request ${requests[i].request_id} is not a finite number: ${String(o.appliedValue)}` });
    }
    return o.ok ? o : { ok: false, error: String(o.error ?? '') || 'failed (no error message given)' };
  });
}

interface NotifyEvents {
  up: [];
  down: [error: AldDbError];
  notify: [n: SetpointNotification];
}

/** A session connection that LISTENs on ald_setpoint_requests and reconnects with backoff. */
class NotifyListener extends Emitter<NotifyEvents> {
  pid: number | null = null;
  private closed = false;
  private current: postgres.Sql | undefined;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly settings: ListenSettings) {
    super();
  }

  start(): void {
    this.loop ??= this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeUp?.();
    await this.current?.end({ timeout: 0 }).catch(() => {});
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      let lost!: () => void;
      const sessionLost = new Promise<void>((resolve) => (lost = resolve));
      const sessionOptions: postgres.Options<Record<string, postgres.PostgresType>> & { onnotify: (channel: string, payload: string) => void } = {
        max: 1, idle_timeout: 0, max_lifetime: null, fetch_types: false, prepare: false,
        connect_timeout: this.settings.connectTimeoutSec,
        onnotice: () => {},
        onnotify: (_channel: string, payload: string) => {
          try {
            const n = JSON.parse(payload) as SetpointNotification;
            if (typeof n.machine_id === 'string') this.emit('notify', n);
          } catch {
            // not ours
          }
        },
        onclose: () => lost(),
        connection: { application_name: this.settings.applicationName },
      };
      const sql = postgres(this.settings.url, sessionOptions);
      this.current = sql;
      let reason: AldDbError;
      try {
        await sql.unsafe(`listen ${SETPOINT_CHANNEL}`);
        const [row] = await sql.unsafe<{ pid: number }[]>('select pg_backend_pid() as pid');
        if (this.closed) break;
        this.pid = row.pid;
        failures = 0;
        this.emit('up');
        await Promise.race([sessionLost, new Promise<void>((resolve) => (this.wakeUp = resolve))]);
        reason = new AldDbError({ code: 'ALD_CONNECTION', message: 'the setpoint LISTEN session was closed', operation: 'listen' });
      } catch (error) {
        reason = fromPostgresError(error, 'listen');
      }
      this.pid = null;
      void sql.end({ timeout: 0 }).catch(() => {});
      if (this.closed) break;
      this.emit('down', reason);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoffDelay(failures++, this.settings.backoff));
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.pid = null;
  }
}
