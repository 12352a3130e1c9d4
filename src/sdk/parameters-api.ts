// db.parameters: cached reads by id, bulk reads per machine or component (one round trip each),
// and setpoint writes that update the cache from the row the database returns.
import { randomUUID } from 'node:crypto';
import { AldDbError, invalidArgument } from './errors.ts';
import type { ParameterCache } from './parameter-cache.ts';
import type { RpcClient } from './rpc-client.ts';
import type { ChangeSource, Parameter } from './types.ts';
import { optionalInteger, optionalString, optionalUuid, requireUuid, requireUuidArray } from './validate.ts';

export interface SetParameterOptions {
  /** Refuse the write (40001) unless the parameter is still at this version. */
  expectedVersion?: number;
  /** Recorded in the audit (default 'api'). */
  source?: ChangeSource;
  /** Why, in words, for the audit (at most 1000 characters are kept). */
  reason?: string;
  processId?: string;
  stepExecutionId?: string;
  /**
   * Idempotency key. Default: a new random uuid per set() call, reused by its retries. Pass your
   * own to make a write idempotent across restarts of the controller.
   */
  requestId?: string;
}

export interface BulkReadOptions {
  /** Also return inactive parameters and those of deactivated components (default false). */
  includeInactive?: boolean;
}

const SOURCES: readonly string[] = ['operator', 'recipe', 'controller', 'api', 'system'];

export class ParametersApi {
  constructor(private readonly rpc: RpcClient, private readonly cache: ParameterCache) {}

  /**
   * One parameter, from memory when the cache may serve it (no round trip), else from the
   * database (concurrent misses share one call). Rejects with P0002 when no such parameter exists.
   */
  async get(id: string): Promise<Parameter> {
    requireUuid('get', 'a parameter id', id);
    const row = await this.cache.get(id);
    if (!row) throw new AldDbError({ code: 'P0002', message: 'parameter not found', details: `no parameter ${id}`, operation: 'get_parameters' });
    return row;
  }

  /** Parameters in the order of `ids`, null where no such parameter exists. At most one round trip. */
  async getMany(ids: readonly string[]): Promise<(Parameter | null)[]> {
    requireUuidArray('getMany', 'ids', ids);
    return this.cache.getMany(ids);
  }

  /** Every active parameter of the given components, in one round trip. */
  async forComponents(componentIds: readonly string[], options: BulkReadOptions = {}): Promise<Parameter[]> {
    requireUuidArray('forComponents', 'component ids', componentIds);
    const args = { component_ids: componentIds, include_inactive: options.includeInactive ?? false };
    return this.cache.fill(() => this.rpc.idempotent<Parameter[]>('get_component_parameters_bulk', args), (rows) => rows);
  }

  /** Every active parameter of the machine's activated components, in one round trip. */
  async forMachine(machineId: string, options: BulkReadOptions = {}): Promise<Parameter[]> {
    requireUuid('forMachine', 'a machine id', machineId);
    const args = { machine_id: machineId, include_inactive: options.includeInactive ?? false };
    return this.cache.fill(() => this.rpc.idempotent<Parameter[]>('get_machine_parameters', args), (rows) => rows);
  }

  /**
   * Writes a setpoint in one round trip and returns the new row, which the cache keeps
   * (read-your-writes). A retry after a lost connection reuses the request id, so it never
   * writes twice.
   */
  async set(id: string, value: number, options: SetParameterOptions = {}): Promise<Parameter> {
    requireUuid('set', 'a parameter id', id);
    if (typeof value !== 'number') throw invalidArgument('set', 'set must be called with a number value', value);
    if (!Number.isFinite(value)) {
      // The server's own rule and code (22023). Checked here because JSON cannot carry NaN or
      // Infinity: through the HTTP transport they would arrive as null and fail as 22004.
      throw new AldDbError({ code: '22023', message: 'value must be a finite number', details: `got ${value}`, operation: 'set_parameter_value' });
    }
    if (typeof options !== 'object' || options === null) throw invalidArgument('set', 'set options must be an object', options);
    if (options.source !== undefined && !SOURCES.includes(options.source)) {
      throw invalidArgument('set', `source must be one of ${SOURCES.join(', ')}`, options.source);
    }
    const args = {
      parameter_id: id,
      value,
      expected_version: optionalInteger('set', 'expectedVersion', options.expectedVersion),
      source: options.source,
      reason: optionalString('set', 'reason', options.reason),
      process_id: optionalUuid('set', 'a processId', options.processId),
      step_execution_id: optionalUuid('set', 'a stepExecutionId', options.stepExecutionId),
      request_id: optionalUuid('set', 'a requestId', options.requestId) ?? randomUUID(),
    };
    return this.cache.fill(() => this.rpc.idempotent<Parameter>('set_parameter_value', args), (row) => [row]);
  }
}
