// What the SDK needs from a transport: call one RPC, once, and report what it costs.
// Retries, caching and metrics live above this line, so both transports behave the same.
import type { Database } from '../database.types.ts';

export type RpcName = keyof typeof RPC_CATALOG;

/** How the RPC's result comes back: a set of rows (array), one row (object) or one value. */
export type RpcReturns = 'set' | 'row' | 'value';

export interface RpcDefinition {
  /** Argument name -> SQL type, in declaration order. Omitted (undefined) arguments take their SQL default. */
  readonly args: Readonly<Record<string, string>>;
  readonly returns: RpcReturns;
  /** STABLE functions may be called with GET through PostgREST. */
  readonly readOnly: boolean;
}

/**
 * The RPC functions the SDK calls, as declared in supabase/migrations/. The one statement of each
 * signature outside SQL: the direct transport builds its SQL from it, the supabase transport its
 * request bodies, the Edge Functions their calls (functions/_shared/rpc-call.ts), the fuzz suites
 * their specs. tests/contracts.test.ts compares it with pg_proc (every public function that
 * authenticated may execute: names, argument names in order, types, return kind, volatility);
 * the check below compares its argument names with the generated Database type at compile time.
 */
export const RPC_CATALOG = {
  get_component_parameters_bulk: { args: { component_ids: 'uuid[]', include_inactive: 'boolean' }, returns: 'set', readOnly: true },
  get_machine_parameters: { args: { machine_id: 'uuid', include_inactive: 'boolean' }, returns: 'set', readOnly: true },
  get_parameters: { args: { parameter_ids: 'uuid[]' }, returns: 'set', readOnly: true },
  get_parameter_epochs: { args: { machine_ids: 'uuid[]' }, returns: 'set', readOnly: true },
  set_parameter_value: {
    args: {
      parameter_id: 'uuid', value: 'double precision', expected_version: 'bigint', source: 'public.change_source',
      reason: 'text', process_id: 'uuid', step_execution_id: 'uuid', request_id: 'uuid',
    },
    returns: 'row', readOnly: false,
  },
  record_process_data: {
    args: {
      process_id: 'uuid', parameter_ids: 'uuid[]', values: 'double precision[]',
      timestamps: 'timestamptz[]', set_points: 'double precision[]',
    },
    returns: 'value', readOnly: false,
  },
  record_readings: {
    args: {
      machine_id: 'uuid', parameter_ids: 'uuid[]', values: 'double precision[]',
      timestamps: 'timestamptz[]', set_points: 'double precision[]', process_id: 'uuid',
    },
    returns: 'value', readOnly: false,
  },
  get_latest_readings: { args: { machine_id: 'uuid' }, returns: 'set', readOnly: true },
  get_readings: {
    args: {
      machine_id: 'uuid', parameter_ids: 'uuid[]', from_ts: 'timestamptz', to_ts: 'timestamptz',
      max_points: 'integer', process_id: 'uuid',
    },
    returns: 'set', readOnly: true,
  },
  claim_next_command: { args: { machine_id: 'uuid', claimed_by: 'text', claim_key: 'uuid' }, returns: 'set', readOnly: false },
  start_process: {
    args: { machine_id: 'uuid', recipe_id: 'uuid', command_id: 'uuid', operator_id: 'uuid', request_id: 'uuid' },
    returns: 'value', readOnly: false,
  },
  advance_step: {
    args: {
      process_id: 'uuid', step_id: 'uuid', step_index: 'integer', loop_iteration: 'integer',
      previous_status: 'public.step_execution_status', details: 'jsonb', error_message: 'text', at: 'timestamptz',
    },
    returns: 'value', readOnly: false,
  },
  get_setpoint_requests: { args: { machine_id: 'uuid', include_closed: 'boolean', max_rows: 'integer' }, returns: 'set', readOnly: true },
  claim_setpoint_requests: { args: { machine_id: 'uuid', claimed_by: 'text', claim_timeout_seconds: 'integer' }, returns: 'set', readOnly: false },
  ack_setpoint_requests: {
    args: { machine_id: 'uuid', request_ids: 'uuid[]', ok: 'boolean[]', applied_values: 'double precision[]', errors: 'text[]' },
    returns: 'set', readOnly: false,
  },
  report_plc_values: { args: { machine_id: 'uuid', parameter_ids: 'uuid[]', values: 'double precision[]' }, returns: 'value', readOnly: false },
  complete_process: {
    args: { process_id: 'uuid', status: 'public.execution_status', error_message: 'text', at: 'timestamptz' },
    returns: 'value', readOnly: false,
  },
  apply_journal: {
    args: {
      calls: 'jsonb', parameter_ids: 'uuid[]', values: 'double precision[]', timestamps: 'timestamptz[]',
      set_points: 'double precision[]',
    },
    returns: 'value', readOnly: false,
  },
  issue_run_command: {
    args: { machine_id: 'uuid', command_type: 'public.command_type', reason: 'text', request_id: 'uuid' },
    returns: 'row', readOnly: false,
  },
  apply_run_command: { args: { command_id: 'uuid', at: 'timestamptz' }, returns: 'value', readOnly: false },
  complete_command: {
    args: { command_id: 'uuid', status: 'public.command_status', error_message: 'text' },
    returns: 'row', readOnly: false,
  },
  register_controller: {
    args: { machine_id: 'uuid', host: 'text', version: 'text', takeover: 'boolean', timeout_ms: 'integer', controller_id: 'uuid' },
    returns: 'row', readOnly: false,
  },
  controller_heartbeat: { args: { controller_id: 'uuid' }, returns: 'row', readOnly: false },
} as const satisfies Record<string, RpcDefinition>;

type Functions = Database['public']['Functions'];
type CatalogArgNames<K extends RpcName> = keyof (typeof RPC_CATALOG)[K]['args'];
type GeneratedArgNames<K extends RpcName> = K extends keyof Functions ? keyof Functions[K]['Args'] : never;
type Mismatched = {
  [K in RpcName]: [CatalogArgNames<K>] extends [GeneratedArgNames<K>] ? ([GeneratedArgNames<K>] extends [CatalogArgNames<K>] ? never : K) : K;
}[RpcName];
/** Compiles only while every catalog RPC is in the generated Database type with the same argument names. */
const _catalogMatchesDatabase: [Mismatched] extends [never] ? true : { mismatched: Mismatched } = true;
void _catalogMatchesDatabase;

export type RpcArgs = Record<string, unknown>;

export interface CallOptions {
  /** Give up after this many milliseconds (AldDbError ALD_TIMEOUT). */
  timeoutMs: number;
}

export interface PoolStats {
  /** Configured maximum number of connections (or concurrent HTTP requests: unbounded, reported as 0). */
  max: number;
  /** Calls holding a connection (or an HTTP request) right now. */
  inUse: number;
  /** Calls queued behind them. */
  waiting: number;
}

export interface Transport {
  readonly kind: 'postgres' | 'supabase';
  /**
   * One attempt of one RPC: one round trip. Resolves with the JSON-shaped result (rows as plain
   * objects, bigint as number, timestamps as ISO strings) so both transports return equal values.
   * Rejects with AldDbError.
   */
  call<T>(rpc: RpcName, args: RpcArgs, options: CallOptions): Promise<T>;
  pool(): PoolStats;
  close(): Promise<void>;
}
