// The columns of a parameter row, as the Edge Functions select them. Pure (no Deno imports) so the
// Node contract tests load it too. The row type is the generated one (src/sdk/database.types.ts,
// `npm run gen:types`): a column added to the table enters the type, and the check below then
// refuses to compile until the column is listed here (tests/contracts.test.ts compares the list
// with the table as well).
import type { Tables } from '../../src/sdk/database.types.ts';

/** A row of public.component_parameters, as JSON (bigint as number, timestamps as ISO strings). */
export type ParameterRow = Tables<'component_parameters'>;

/** Every column of ParameterRow, in the table's order. */
export const PARAMETER_COLUMN_NAMES = [
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
  'applied_value',
  'applied_at',
  'applied_version',
  'operand',
  'description',
  'show_in_ui',
  'show_in_graph',
] as const satisfies readonly (keyof ParameterRow)[];

type Unlisted = Exclude<keyof ParameterRow, (typeof PARAMETER_COLUMN_NAMES)[number]>;
/** Compiles only while no column of ParameterRow is missing from PARAMETER_COLUMN_NAMES. */
const _everyColumnListed: [Unlisted] extends [never] ? true : { unlisted: Unlisted } = true;
void _everyColumnListed;
