// The parameter as the functions serve it: a component_parameters row, every column listed
// explicitly (a column added to the table is not served until it is added here, and the tests
// compare this list with the table). `version` moves on every change of the row and readings
// live in process_data_points, so a row is a function of (id, version): see etag() in query.ts.
import type { Row } from './db.ts';

export interface ParameterRow {
  id: string;
  component_id: string;
  machine_id: string;
  name: string;
  display_name: string | null;
  unit: string | null;
  data_type: string;
  min_value: number | null;
  max_value: number | null;
  /** What was asked: the desired setpoint. */
  set_value: number | null;
  /** What the PLC confirmed (null until it confirmed a value); see setpoint-requests for what is pending. */
  applied_value: number | null;
  applied_at: string | null;
  applied_version: number | null;
  operand: string | null;
  description: string | null;
  show_in_ui: boolean;
  show_in_graph: boolean;
  is_writable: boolean;
  is_active: boolean;
  component_activated: boolean;
  read_modbus_address: number | null;
  read_modbus_type: string | null;
  write_modbus_address: number | null;
  write_modbus_type: string | null;
  modbus_value_type: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/** Select list for a component_parameters row aliased `p`, in ParameterRow's order. */
export const PARAMETER_COLUMNS = [
  'id',
  'component_id',
  'machine_id',
  'name',
  'display_name',
  'unit',
  'data_type',
  'min_value',
  'max_value',
  'set_value',
  'applied_value',
  'applied_at',
  'applied_version',
  'operand',
  'description',
  'show_in_ui',
  'show_in_graph',
  'is_writable',
  'is_active',
  'component_activated',
  'read_modbus_address',
  'read_modbus_type',
  'write_modbus_address',
  'write_modbus_type',
  'modbus_value_type',
  'version',
  'created_at',
  'updated_at',
].map((c) => `p.${c}`).join(', ');

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));

/** A database row (postgres.js types: int8 as string, timestamptz as Date) as a plain JSON row. */
export function toParameterRow(row: Row): ParameterRow {
  return {
    id: String(row.id),
    component_id: String(row.component_id),
    machine_id: String(row.machine_id),
    name: String(row.name),
    display_name: (row.display_name ?? null) as string | null,
    unit: (row.unit ?? null) as string | null,
    data_type: String(row.data_type),
    min_value: (row.min_value ?? null) as number | null,
    max_value: (row.max_value ?? null) as number | null,
    set_value: (row.set_value ?? null) as number | null,
    applied_value: (row.applied_value ?? null) as number | null,
    applied_at: row.applied_at === null || row.applied_at === undefined ? null : iso(row.applied_at),
    applied_version: row.applied_version === null || row.applied_version === undefined ? null : Number(row.applied_version),
    operand: (row.operand ?? null) as string | null,
    description: (row.description ?? null) as string | null,
    show_in_ui: row.show_in_ui === undefined ? true : Boolean(row.show_in_ui),
    show_in_graph: row.show_in_graph === undefined ? true : Boolean(row.show_in_graph),
    is_writable: Boolean(row.is_writable),
    is_active: Boolean(row.is_active),
    component_activated: Boolean(row.component_activated),
    read_modbus_address: (row.read_modbus_address ?? null) as number | null,
    read_modbus_type: (row.read_modbus_type ?? null) as string | null,
    write_modbus_address: (row.write_modbus_address ?? null) as number | null,
    write_modbus_type: (row.write_modbus_type ?? null) as string | null,
    modbus_value_type: (row.modbus_value_type ?? null) as string | null,
    // bigint; versions stay far below 2^53, and the cache compares them as numbers.
    version: Number(row.version),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}
