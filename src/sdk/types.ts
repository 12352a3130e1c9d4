// The shapes the RPC functions return, as JSON (bigint as number, timestamps as ISO strings).
// Both transports return exactly these objects.

export type ParameterDataType = 'float' | 'integer' | 'binary';
export type ModbusRegisterType = 'coil' | 'discrete_input' | 'input_register' | 'holding_register';
export type ModbusValueType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
export type StepType = 'valve' | 'purge' | 'parameter' | 'loop';
export type ChangeSource = 'operator' | 'recipe' | 'controller' | 'api' | 'system';
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
  /** The setpoint. Readings are not kept here: they go to process_data_points (the recorder). */
  set_value: number | null;
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
