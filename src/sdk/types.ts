// The shapes the RPC functions return, as JSON (bigint as number, timestamps as ISO strings).
// Both transports return exactly these objects.

export type ParameterDataType = 'float' | 'integer' | 'binary';
export type ModbusRegisterType = 'coil' | 'discrete_input' | 'input_register' | 'holding_register';
export type ModbusValueType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
export type StepType = 'valve' | 'purge' | 'parameter' | 'loop';
export type ChangeSource = 'operator' | 'recipe' | 'controller' | 'api' | 'system' | 'plc';
export type StepExecutionStatus = 'running' | 'completed' | 'failed' | 'skipped' | 'aborted';
export type ExecutionStatus = 'running' | 'completed' | 'failed' | 'aborted';

/** A row of public.component_parameters. */
export interface Parameter {
  id: string;
  component_id: string;
  machine_id: string;
  name: string;
  display_name: string | null;
  unit: string | null;
  data_type: ParameterDataType;
  min_value: number | null;
  max_value: number | null;
  /** The desired setpoint (what was asked). Readings are not kept here: they go to process_data_points (the recorder). */
  set_value: number | null;
  /** The setpoint the PLC confirmed (ack_setpoint_requests or report_plc_values); null until it confirmed one. */
  applied_value: number | null;
  /** When the PLC confirmed applied_value. */
  applied_at: string | null;
  /** The parameter version whose set_value the PLC confirmed; null when the PLC reported a value no version asked for. */
  applied_version: number | null;
  /** The PLC tag of the parameter. */
  operand: string | null;
  description: string | null;
  show_in_ui: boolean;
  show_in_graph: boolean;
  is_writable: boolean;
  is_active: boolean;
  component_activated: boolean;
  read_modbus_address: number | null;
  read_modbus_type: ModbusRegisterType | null;
  write_modbus_address: number | null;
  write_modbus_type: ModbusRegisterType | null;
  modbus_value_type: ModbusValueType | null;
  /** Bumped by the database on every change except the last reading; never goes backwards. */
  version: number;
  created_at: string;
  updated_at: string;
}

/** A row of public.recipe_commands. */
export interface Command {
  id: string;
  machine_id: string;
  command_type: 'start_recipe' | 'stop_recipe' | 'pause_recipe' | 'resume_recipe' | 'set_parameter';
  recipe_id: string | null;
  parameters: Record<string, unknown>;
  status: 'pending' | 'claimed' | 'executing' | 'completed' | 'failed' | 'cancelled';
  created_by: string | null;
  created_at: string;
  claimed_at: string | null;
  claimed_by: string | null;
  completed_at: string | null;
  process_id: string | null;
  error_message: string | null;
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

export type SetpointRequestStatus = 'pending' | 'claimed' | 'applied' | 'failed' | 'superseded';

/** A row of public.setpoint_requests: one accepted change of a desired setpoint on its way to the PLC. */
export interface SetpointRequest {
  id: string;
  machine_id: string;
  parameter_id: string;
  value: number;
  /** The parameter version that carries this value; applied_version once applied. */
  version: number;
  requested_by: string | null;
  requested_by_role: string;
  source: ChangeSource;
  reason: string | null;
  request_id: string | null;
  status: SetpointRequestStatus;
  created_at: string;
  claimed_at: string | null;
  claimed_by: string | null;
  claim_expires_at: string | null;
  claim_count: number;
  superseded_by: string | null;
  acked_at: string | null;
  ack_ok: boolean | null;
  ack_value: number | null;
  error: string | null;
  applied_at: string | null;
}

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
