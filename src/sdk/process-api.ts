// db.commands and db.process: the controller's queue and the run of a recipe, each call one
// round trip. Which calls are retried after a lost connection, and why that is safe:
//   start     keyed by request_id (generated per call, reused by its retries): a repeat returns
//             the execution the first attempt created;
//   advance   keyed by (process, step_index, step_id): a repeat replies again, applies nothing;
//   complete  a repeat with the same status replies with the summary;
//   claimNext NOT retried: a claim whose reply was lost would claim a second command.
import { randomUUID } from 'node:crypto';
import { invalidArgument } from './errors.ts';
import type { ParameterCache } from './parameter-cache.ts';
import type { RpcClient } from './rpc-client.ts';
import type { Command, ExecutionStatus, Plan, ProcessSummary, StepExecutionStatus, StepReply } from './types.ts';
import { optionalInteger, optionalString, optionalUuid, requireObject, requireUuid } from './validate.ts';

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
}

export interface CompleteOptions {
  processId: string;
  status?: Exclude<ExecutionStatus, 'running'>;
  errorMessage?: string;
}

export class CommandsApi {
  constructor(private readonly rpc: RpcClient) {}

  /** Claims the oldest pending command of the machine exactly once; null when none is pending. */
  async claimNext(machineId: string, claimedBy?: string): Promise<Command | null> {
    requireUuid('claimNext', 'a machine id', machineId);
    const args = { machine_id: machineId, claimed_by: optionalString('claimNext', 'claimedBy', claimedBy) };
    const rows = await this.rpc.once<Command[]>('claim_next_command', args);
    return rows[0] ?? null;
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
    };
    return this.rpc.idempotent<ProcessSummary>('complete_process', args);
  }
}
