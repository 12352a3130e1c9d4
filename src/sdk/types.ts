// The shapes the RPC functions return, as JSON (bigint as number, timestamps as ISO strings).
// Both transports return exactly these objects.

import type { Enums, Tables } from './database.types.ts';

// The row and enum types come from the generated Database type (src/sdk/database.types.ts,
// `npm run gen:types`), so a column or enum value changed in a migration changes them here too.
export type ParameterDataType = Enums<'parameter_data_type'>;
export type ModbusRegisterType = Enums<'modbus_register_type'>;
export type ModbusValueType = Enums<'modbus_value_type'>;
export type StepType = Enums<'step_type'>;
export type ChangeSource = Enums<'change_source'>;
export type StepExecutionStatus = Enums<'step_execution_status'>;
export type ExecutionStatus = Enums<'execution_status'>;
export type CommandType = Enums<'command_type'>;
export type CommandStatus = Enums<'command_status'>;

/**
 * A row of public.component_parameters. `set_value` is the setpoint (readings go to
 * process_data_points, the recorder); `version` is bumped by the database on every change of the
 * row and never goes backwards.
 */
export type Parameter = Tables<'component_parameters'>;

/** A row of public.recipe_commands (`parameters` is a JSON object). */
export type Command = Omit<Tables<'recipe_commands'>, 'parameters'> & { parameters: Record<string, unknown> };

/** A registered controller instance (table controllers). */
export type Controller = Tables<'controllers'>;

/** The reply of apply_run_command. */
export interface RunCommandResult {
  command_id: string;
  command_type: 'stop_recipe' | 'pause_recipe' | 'resume_recipe';
  command_status: CommandStatus;
  process_id: string | null;
  process_status: ExecutionStatus | null;
  machine_status: string | null;
  replayed: boolean;
}

/** One step of a plan, nested: a loop carries its children. */
export interface PlanStep {
  id: string;
  name: string;
  step_type: StepType;
  sequence_number: number;
  config?: Record<string, unknown>;
  children?: PlanStep[];
}

/** What start_process returns. */
export interface Plan {
  process_id: string;
  machine_id: string;
  recipe_id: string | null;
  command_id: string | null;
  status: ExecutionStatus;
  started_at: string;
  /** True when a retried or repeated start returned an execution that already existed. */
  replayed: boolean;
  /** Steps once loops are unrolled: the number of advance() calls that open a step. */
  total_steps: number;
  recipe: { id: string; name: string; version: number; description: string | null };
  steps: PlanStep[];
  parameters: Parameter[];
}

/** What advance_step returns. */
export interface StepReply {
  process_id: string;
  step_execution_id: string | null;
  step_id: string | null;
  step_index: number | null;
  step_type: StepType | null;
  loop_iteration: number | null;
  completed_steps: number;
  total_steps: number;
  progress_percent: number;
  config: Record<string, unknown> | null;
  /** For a parameter step: the parameter row after its setpoint was applied. */
  parameter: Parameter | null;
  replayed: boolean;
  /** The machine's oldest pending command: a stop or pause to honour once this step is done. */
  pending_command?: { id: string; command_type: CommandType } | null;
}

/** What complete_process returns. */
export interface ProcessSummary {
  process_id: string;
  machine_id: string;
  command_id: string | null;
  status: ExecutionStatus;
  started_at: string;
  ended_at: string;
  duration_ms: number;
  completed_steps: number;
  total_steps: number;
  progress_percent: number;
  error_message: string | null;
  replayed: boolean;
}

export type SetpointRequestStatus = Enums<'setpoint_request_status'>;

/** A row of public.setpoint_requests: one accepted change of a desired setpoint on its way to the PLC. */
export type SetpointRequest = Tables<'setpoint_requests'>;

/** A request as claim_setpoint_requests returns it: with what the controller needs to write the PLC. */
export interface ClaimedSetpoint {
  request_id: string;
  parameter_id: string;
  value: number;
  version: number;
  source: ChangeSource;
  reason: string | null;
  requested_by: string | null;
  created_at: string;
  /** More than 1: delivered again after a claim timed out (a controller died between claim and ack). */
  claim_count: number;
  claim_expires_at: string;
  parameter_name: string;
  component_id: string;
  data_type: ParameterDataType;
  /** null: the parameter is not wired to a PLC address; fail the request. */
  write_modbus_address: number | null;
  write_modbus_type: ModbusRegisterType | null;
  modbus_value_type: ModbusValueType | null;
  operand: string | null;
}

/** One row of ack_setpoint_requests' reply. */
export interface SetpointAck {
  request_id: string;
  parameter_id: string;
  status: SetpointRequestStatus;
  /** true: this request had already been acked with the same outcome; nothing changed. */
  replayed: boolean;
}
