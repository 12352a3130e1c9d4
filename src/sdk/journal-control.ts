// Run control of a journaled run (issue 16): an operator's pause, resume or stop honoured between
// two steps, with no round trip on the step's path.
//
//   const control = run.control({ claimedBy: 'bay-3' });
//   for (let step = run.next(); step; step = run.next()) {
//     if (!(await control.between())) break;   // 0 round trips: applies what was claimed; waits while paused
//     run.advance(); await runOnPlc(step);
//   }
//
// - Claims happen in the background: claim_next_command every pollMs (default 1000 ms; it is also
//   the controller's heartbeat), and at once when a drained step's reply names a pending command
//   (advance_step's pending_command, read from the journal's 'applied' event). Claims need the
//   network; an outage only delays them, never a step.
// - between() applies the claimed stop, pause or resume locally, in claim order, and journals its
//   server side as an apply_run_command entry: it drains AFTER the steps journaled before it (the
//   server, once paused, would refuse them) and BEFORE the steps after it. Paused, between() waits
//   until a resume (or a stop) is claimed; a stop ends the run as aborted (the server's
//   apply_run_command ends it; no complete_process is journaled). between() returns false once the
//   run has ended, true when the next step may run.
// - A command that cannot be honoured is failed on the server (complete_command 'failed'), in the
//   background: any command other than stop/pause/resume ('not while a recipe runs', as the online
//   controller does), a pause of a run paused locally ('run is already paused'), a resume of a run
//   that is not ('run is not paused'), and commands still queued when the run ends.
// - Durable: a claimed command is written to the journal's meta table before it is acted on, in
//   one transaction with the claim key of the next claim. The claim key (claim_next_command's
//   idempotency key) is used until a claim returns a command, so a claim whose reply was lost, or
//   whose controller was killed before writing it down, is claimed again with the same key after
//   the restart and returns the same command. The paused state is journaled with the
//   apply_run_command entry, so a restarted controller knows its run is paused.
import { randomUUID } from 'node:crypto';
import { AldDbError, invalidArgument } from './errors.ts';
import { Emitter } from './emitter.ts';
import type { JournalStore } from './journal-store.ts';
import { SerialLoop } from './serial-loop.ts';
import type { AppliedInfo, Journal, JournaledRun } from './journal.ts';
import type { Command } from './types.ts';

export interface RunControlOptions {
  /** claimed_by of the claims (default 'journal'). */
  claimedBy?: string;
  /** Claim this often while the run is open, in ms (default 1000, at least 10). */
  pollMs?: number;
}

export type RunControlState = 'running' | 'paused' | 'aborted';

export interface RunControlEvents {
  /** A command of the machine was claimed (and written to the journal). */
  claimed: [command: Command];
  /** A stop, pause or resume was applied between two steps; its apply_run_command is journaled. */
  applied: [command: Command, state: RunControlState, journalSeq: number];
  /** A command was failed on the server, with the reason. */
  failed: [command: Command, reason: string];
  /** A claim or a failure could not be sent; retried at the next poll. */
  error: [error: AldDbError];
}

const RUN_CONTROL = new Set(['stop_recipe', 'pause_recipe', 'resume_recipe']);

/** A claimed command not yet applied: `fail` set when it is to be failed on the server. */
interface Queued {
  command: Command;
  fail?: string;
}

const asAldError = (error: unknown, operation: string): AldDbError =>
  error instanceof AldDbError ? error : new AldDbError({ code: 'ALD_UNEXPECTED', message: String(error), operation, cause: error });

export class RunControl extends Emitter<RunControlEvents> {
  readonly stats = { claims: 0, claimed: 0, applied: 0, failed: 0 };
  private queue: Queued[];
  private key: string;
  private readonly options: Required<RunControlOptions>;
  private readonly timer: NodeJS.Timeout;
  private waiters: (() => void)[] = [];
  private readonly loop = new SerialLoop(
    async () => {
      if (!this.ended) await this.claimAll();
      await this.sendFailures();
    },
    (error) => this.emit('error', asAldError(error, 'control')),
    () => this.closed || this.journal.isClosed,
  );
  private closed = false;
  private ended = false;
  private readonly onApplied = (info: AppliedInfo) => {
    const pending = (info.result as { pending_command?: unknown } | null)?.pending_command;
    if (info.kind === 'advance_step' && pending) this.kick();
  };

  constructor(
    private readonly run: JournaledRun,
    private readonly journal: Journal,
    private readonly store: JournalStore,
    options: RunControlOptions,
  ) {
    super();
    if (typeof options !== 'object' || options === null) throw invalidArgument('control', 'control options must be an object', options);
    const pollMs = options.pollMs ?? 1000;
    if (!(typeof pollMs === 'number' && Number.isFinite(pollMs) && pollMs >= 10)) {
      throw invalidArgument('control', 'pollMs must be a number of milliseconds, at least 10', pollMs);
    }
    if (options.claimedBy !== undefined && typeof options.claimedBy !== 'string') {
      throw invalidArgument('control', 'claimedBy must be a string', options.claimedBy);
    }
    this.options = { claimedBy: options.claimedBy ?? 'journal', pollMs };
    // After a restart: the commands claimed and not yet applied, and the key of the next claim.
    this.queue = JSON.parse(store.meta('run.control.queue') || '[]') as Queued[];
    const key = store.meta('run.control.key');
    this.key = key || randomUUID();
    // Written before its first use; not fsynced (a claim that returns a command syncs it).
    if (!key) store.writeMeta({ 'run.control.key': this.key }, { durable: false });
    journal.on('applied', this.onApplied);
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref?.();
    if (run.completed !== null) this.runEnded();
    else this.kick();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Commands claimed and not yet applied or failed. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Between two steps: applies the claimed stop, pause or resume commands (locally, journaling
   * apply_run_command), and while the run is paused waits until it is resumed or stopped. Never
   * waits for the network otherwise. Resolves true when the next step may run, false once the run
   * has ended (stopped, completed) or the control was closed while paused.
   */
  async between(): Promise<boolean> {
    for (;;) {
      if (this.run.completed !== null) return false;
      const i = this.queue.findIndex((q) => q.fail === undefined);
      if (i >= 0) {
        this.applyLocally(i);
        continue;
      }
      if (!this.run.paused) return true;
      if (this.closed) return false;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Claim now (e.g. on a Realtime INSERT into recipe_commands). */
  wake(): void {
    this.kick();
  }

  /** Resolves when the claims and failures in progress (if any) are done: handy in tests. */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  /** Stops claiming. Claimed commands not yet applied stay in the journal for the next control(). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.journal.off('applied', this.onApplied);
    this.wakeWaiters();
  }

  /** @internal The run ended (complete(), abort(), a stop): fail what is still queued, claim no more. */
  runEnded(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    if (this.queue.some((q) => q.fail === undefined)) {
      for (const q of this.queue) q.fail ??= 'the run ended before the command was applied';
      this.persist(false);
    }
    this.wakeWaiters();
    this.kick();
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private persist(durable: boolean): void {
    if (this.journal.isClosed) return;
    this.store.writeMeta({ 'run.control.queue': JSON.stringify(this.queue) }, { durable });
  }

  private applyLocally(i: number): void {
    const q = this.queue[i];
    const type = q.command.command_type as 'stop_recipe' | 'pause_recipe' | 'resume_recipe';
    // What apply_run_command would refuse, judged on the local state (ahead of the server's).
    const refusal = type === 'pause_recipe' && this.run.paused ? 'run is already paused'
      : type === 'resume_recipe' && !this.run.paused ? 'run is not paused'
        : undefined;
    if (refusal) {
      q.fail = refusal;
      this.persist(false);
      this.kick();
      return;
    }
    const rest = this.queue.filter((_, j) => j !== i);
    const seq = this.run.applyControl(type, q.command.id, { 'run.control.queue': JSON.stringify(rest) });
    this.queue = rest;
    this.stats.applied++;
    const state: RunControlState = type === 'stop_recipe' ? 'aborted' : type === 'pause_recipe' ? 'paused' : 'running';
    this.emit('applied', q.command, state, seq);
    if (type === 'stop_recipe') this.runEnded();
  }

  private kick(): void {
    this.loop.kick();
  }

  /** Claims until the machine has no pending command. */
  private async claimAll(): Promise<void> {
    while (!this.closed && !this.ended && !this.journal.isClosed) {
      this.stats.claims++;
      const command = await this.journal.commands.claimNext(this.run.plan.machine_id, this.options.claimedBy, { claimKey: this.key });
      if (!command || this.closed || this.journal.isClosed) return;
      this.stats.claimed++;
      if (!this.queue.some((q) => q.command.id === command.id)) {
        const fail = !RUN_CONTROL.has(command.command_type) ? 'not while a recipe runs'
          : this.ended ? 'the run ended before the command was applied' : undefined;
        this.queue.push(fail === undefined ? { command } : { command, fail });
      }
      // The command and the next claim's key, in one durable transaction: after a crash before
      // it, the same key claims the same command again.
      this.key = randomUUID();
      this.store.writeMeta({ 'run.control.queue': JSON.stringify(this.queue), 'run.control.key': this.key });
      this.emit('claimed', command);
      this.wakeWaiters();
    }
  }

  /** Fails, on the server, the commands that cannot be honoured. */
  private async sendFailures(): Promise<void> {
    for (const q of this.queue.filter((x) => x.fail !== undefined)) {
      if (this.closed || this.journal.isClosed) return;
      await this.journal.commands.complete(q.command.id, 'failed', q.fail);
      this.queue = this.queue.filter((x) => x !== q);
      this.persist(false);
      this.stats.failed++;
      this.emit('failed', q.command, q.fail as string);
    }
  }
}
