// The NEW access pattern: one round trip per controller step (docs/design.md §2).
//   recording tick   1  record_process_data (the whole tick in arrays)
//   any step         1  advance_step (a parameter step applies its setpoint inside it)
//   setpoint write   1  set_parameter_value
//   cached read      0  the SDK's parameter cache
//
// The benchmark drives it through this small interface; sdk-controller.ts implements it with the
// SDK in src/.
import type { Parameter } from '../src/index.ts';

export interface Reading {
  parameterId: string;
  value: number;
}

/** One executed step of a plan, loops unrolled (what flattenPlan yields). */
export interface PlannedStep {
  stepId: string;
  stepIndex: number;
  stepType: 'valve' | 'purge' | 'parameter' | 'loop';
  loopIteration?: number | null;
  config: Record<string, any> | null;
}

/** A parameter row as the plan and the RPCs return it (the columns the benchmark uses). */
export type ParameterRow = Pick<Parameter, 'id' | 'name' | 'component_id'>;

export interface StartedProcess {
  processId: string;
  /** Active parameters of the machine, from the plan start_process returned. */
  parameters: ParameterRow[];
  /** The plan's steps in execution order, loops unrolled. */
  steps: PlannedStep[];
}

export interface CacheCounters {
  hits: number;
  misses: number;
}

export interface NewController {
  /** What implements the new pattern (recorded in the results). */
  readonly implementation: 'sdk';
  /**
   * Opens the connection and runs its start-up traffic (postgres.js asks the server for its array
   * types on a new connection) before anything is counted: a controller has long been connected
   * when it runs a step.
   */
  warmUp(): Promise<void>;
  start(machineId: string, recipeId: string): Promise<StartedProcess>;
  /** One recording tick, sent and confirmed (record + flush). */
  recordTick(processId: string, readings: Reading[], ts: Date): Promise<void>;
  /** One recipe step. */
  advance(processId: string, stepId: string, stepIndex: number, loopIteration?: number): Promise<void>;
  set(parameterId: string, value: number): Promise<void>;
  /** A parameter row; from the cache when it holds the row. */
  get(parameterId: string): Promise<unknown>;
  getMany(parameterIds: string[]): Promise<unknown>;
  complete(processId: string): Promise<void>;
  /** Cache hits and misses so far (reads only). */
  cacheCounters(): CacheCounters;
  close(): Promise<void>;
}
