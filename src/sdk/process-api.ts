// db.commands and db.process: the controller's queue and the run of a recipe, each call one
// round trip. Which calls are retried after a lost connection, and why that is safe:
//   start     keyed by request_id (generated per call, reused by its retries): a repeat returns
//             the execution the first attempt created;
//   advance   keyed by (process, step_index, step_id): a repeat replies again, applies nothing;
//   complete  a repeat with the same status replies with the summary;
//   claimNext keyed by claim_key (generated per call, reused by its retries): a repeat returns the
//             command the first attempt claimed, never a second one;
//   apply     a repeat of an applied stop/pause/resume replies again (replayed);
//   completeCommand  a repeat with the same status returns the command unchanged;
//   pause/resume/stop (operator) keyed by request_id: a repeat returns the same command.
import { randomUUID } from 'node:crypto';
import { invalidArgument } from './errors.ts';
import type { ParameterCache } from './parameter-cache.ts';
import type { RpcClient } from './rpc-client.ts';
import type { Command, CommandStatus, ExecutionStatus, Plan, ProcessSummary, RunCommandResult, StepExecutionStatus, StepReply } from './types.ts';
import { optionalInteger, optionalString, optionalTime, optionalUuid, requireObject, requireUuid } from './validate.ts';

export interface StartOptions {
  machineId: string;
  /** The recipe to run; or give commandId of a start_recipe command. */
  recipeId?: string;
  commandId?: string;
  operatorId?: string;
  /** Idempotency key; default: a new random uuid per start() call, reused by its retries. */
  requestId?: string;
}

export interface AdvanceOptions {
  processId: string;
  /** The step to open; null only closes the open (last) step. */
  stepId: string | null;
  /** Its position in the executed sequence (flattenPlan gives it). Required with stepId. */
  stepIndex?: number;
  loopIteration?: number | null;
  /** How the previously open step ended (default 'completed'). */
  previousStatus?: Exclude<StepExecutionStatus, 'running'>;
  details?: Record<string, unknown>;
  errorMessage?: string;
  /**
   * When the controller did it, on its clock (default: the server's now()): the closed step's
   * ended_at and the new step's started_at. Refused (22023) outside the tick time window.
   */
  at?: Date | string;
}

export interface CompleteOptions {
  processId: string;
  status?: Exclude<ExecutionStatus, 'running'>;
  errorMessage?: string;
  /** When the controller ended the run, on its clock (default: the server's now()): the run's ended_at. */
  at?: Date | string;
}

export interface RunCommandOptions {
  /** Why (stop only: becomes the aborted run's error_message). */
  reason?: string;
  /** Idempotency key; default: a new random uuid per call, reused by its retries. */
  requestId?: string;
}

export class CommandsApi {
  constructor(private readonly rpc: RpcClient) {}

  /**
   * Claims the oldest pending command of the machine exactly once; null when none is pending.
   * Retried after a lost reply with the same claim key, so the retry returns the command the
   * first attempt claimed instead of a second one.
   */
  async claimNext(machineId: string, claimedBy?: string, options: { claimKey?: string } = {}): Promise<Command | null> {
    requireUuid('claimNext', 'a machine id', machineId);
    const args = {
      machine_id: machineId,
      claimed_by: optionalString('claimNext', 'claimedBy', claimedBy),
      claim_key: optionalUuid('claimNext', 'a claimKey', options.claimKey) ?? randomUUID(),
    };
    const rows = await this.rpc.idempotent<Command[]>('claim_next_command', args);
    return rows[0] ?? null;
  }

  /** Operator: asks the controller to pause the machine's running run between two steps (RC001/RC003 if it cannot). */
  pause(machineId: string, options: RunCommandOptions = {}): Promise<Command> {
    return this.issue('pause', machineId, 'pause_recipe', options);
  }

  /** Operator: asks the controller to resume the machine's paused run (RC002 if it is not paused). */
  resume(machineId: string, options: RunCommandOptions = {}): Promise<Command> {
    return this.issue('resume', machineId, 'resume_recipe', options);
  }

  /** Operator: asks the controller to stop (abort) the machine's running or paused run (RC001 if none). */
  stop(machineId: string, options: RunCommandOptions = {}): Promise<Command> {
    return this.issue('stop', machineId, 'stop_recipe', options);
  }

  private issue(op: string, machineId: string, type: Command['command_type'], options: RunCommandOptions): Promise<Command> {
    const o = requireObject(op, options);
    const args = {
      machine_id: requireUuid(op, 'a machineId', machineId),
      command_type: type,
      reason: optionalString(op, 'reason', o.reason),
      request_id: optionalUuid(op, 'a requestId', o.requestId) ?? randomUUID(),
    };
    return this.rpc.idempotent<Command>('issue_run_command', args);
  }

  /** Controller: applies a claimed stop/pause/resume command between two steps and completes it (one round trip). */
  apply(commandId: string): Promise<RunCommandResult> {
    return this.rpc.idempotent<RunCommandResult>('apply_run_command', { command_id: requireUuid('apply', 'a commandId', commandId) });
  }

  /** Controller: ends a command it handled (completed) or cannot honour (failed, with the reason). */
  complete(commandId: string, status: Exclude<CommandStatus, 'pending' | 'claimed' | 'executing'> = 'completed', errorMessage?: string): Promise<Command> {
    const args = {
      command_id: requireUuid('completeCommand', 'a commandId', commandId),
      status: optionalString('completeCommand', 'status', status),
      error_message: optionalString('completeCommand', 'errorMessage', errorMessage),
    };
    return this.rpc.idempotent<Command>('complete_command', args);
  }
}

export class ProcessApi {
  constructor(private readonly rpc: RpcClient, private readonly cache: ParameterCache) {}

  /** Starts a run; returns the whole plan. The plan's parameters also fill the cache. */
  async start(options: StartOptions): Promise<Plan> {
    const o = requireObject('start', options);
    const args = {
      machine_id: requireUuid('start', 'a machineId', o.machineId),
      recipe_id: optionalUuid('start', 'a recipeId', o.recipeId),
      command_id: optionalUuid('start', 'a commandId', o.commandId),
      operator_id: optionalUuid('start', 'an operatorId', o.operatorId),
      request_id: optionalUuid('start', 'a requestId', o.requestId) ?? randomUUID(),
    };
    return this.cache.fill(() => this.rpc.idempotent<Plan>('start_process', args), (plan) => plan.parameters ?? []);
  }

  /** Closes the open step and opens the next, in one round trip. */
  async advance(options: AdvanceOptions): Promise<StepReply> {
    const o = requireObject('advance', options);
    const stepId = o.stepId === null ? null : requireUuid('advance', 'a stepId (or null to close the last step)', o.stepId);
    const stepIndex = optionalInteger('advance', 'stepIndex', o.stepIndex);
    // Without step_index a repeated call could not be told from the next step: it is the key
    // that makes advance() safe to retry.
    if (stepId !== null && stepIndex === undefined) {
      throw invalidArgument('advance', 'advance must be called with a stepIndex when it opens a step', o.stepIndex);
    }
    if (o.details !== undefined && (typeof o.details !== 'object' || o.details === null || Array.isArray(o.details))) {
      throw invalidArgument('advance', 'details must be an object', o.details);
    }
    const args = {
      process_id: requireUuid('advance', 'a processId', o.processId),
      step_id: stepId ?? undefined,
      step_index: stepId === null ? undefined : stepIndex,
      loop_iteration: optionalInteger('advance', 'loopIteration', o.loopIteration),
      previous_status: optionalString('advance', 'previousStatus', o.previousStatus),
      details: o.details,
      error_message: optionalString('advance', 'errorMessage', o.errorMessage),
      at: optionalTime('advance', 'at', o.at),
    };
    // A parameter step applied its setpoint: the reply's row is read-your-writes for the cache.
    return this.cache.fill(() => this.rpc.idempotent<StepReply>('advance_step', args), (reply) => (reply.parameter ? [reply.parameter] : []));
  }

  /** Ends the run, frees the machine and completes its command, in one round trip. */
  async complete(options: CompleteOptions): Promise<ProcessSummary> {
    const o = requireObject('complete', options);
    const args = {
      process_id: requireUuid('complete', 'a processId', o.processId),
      status: optionalString('complete', 'status', o.status),
      error_message: optionalString('complete', 'errorMessage', o.errorMessage),
      at: optionalTime('complete', 'at', o.at),
    };
    return this.rpc.idempotent<ProcessSummary>('complete_process', args);
  }
}
