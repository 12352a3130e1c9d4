// The parameter as the functions serve it: a component_parameters row, every column listed
// explicitly (parameter-columns.ts: the row type is generated from the table, and the list must
// name each of its columns). `version` moves on every change of the row and readings
// live in process_data_points, so a row is a function of (id, version): see etag() in query.ts.
import type { Row } from './db.ts';
import { PARAMETER_COLUMN_NAMES, type ParameterRow } from './parameter-columns.ts';

export type { ParameterRow } from './parameter-columns.ts';

/** Select list for a component_parameters row aliased `p`, in ParameterRow's order. */
export const PARAMETER_COLUMNS = PARAMETER_COLUMN_NAMES.map((c) => `p.${c}`).join(', ');

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
    data_type: String(row.data_type) as ParameterRow['data_type'],
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
    read_modbus_type: (row.read_modbus_type ?? null) as ParameterRow['read_modbus_type'],
    write_modbus_address: (row.write_modbus_address ?? null) as number | null,
    write_modbus_type: (row.write_modbus_type ?? null) as ParameterRow['write_modbus_type'],
    modbus_value_type: (row.modbus_value_type ?? null) as ParameterRow['modbus_value_type'],
    // bigint; versions stay far below 2^53, and the cache compares them as numbers.
    version: Number(row.version),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}
