// `ald-db import parameters`: the old system's component_parameters export (CSV) into one machine.
//
// The old header is
//   id,component_id,name,unit,min_value,max_value,current_value,set_value,created_at,updated_at,
//   show_in_graph,is_writable,modbus_address,modbus_type,data_type,show_in_ui,component_name,operand,description
// Each row is checked on its own and either planned (inserted, updated with the fields that differ,
// or unchanged) or refused with the reason. Accepted rows then go in as one transaction: all of
// them or, if anything fails midway, none. --dry-run runs the same transaction and rolls it back,
// so its report is exactly what a real run would do. A second run changes nothing (every accepted
// row is then unchanged).
//
// Mapping (what a real plant's table holds and ald-db's rules allow):
//   id, component_id     kept (a component id another machine uses gets a new id; reported)
//   component_name       the component, created by name on the machine when missing
//   name                 snake_case of the old name (ald-db's rule); the old name becomes display_name
//   data_type            float/double/real/float32 → float; int/integer/int16/uint16/int32/uint32 → integer
//                        (the width becomes modbus_value_type); binary/bool/boolean, or unit "boolean" → binary
//   min/max_value        kept; a binary flag's odd range is kept (its value is still 0/1)
//   set_value            the desired setpoint; refused when no valid setpoint (range, whole, 0/1)
//   current_value        what the PLC held: the applied value (applied_version 1 when it equals set_value)
//   is_writable          kept; a writable parameter whose address is missing or in a read-only Modbus table
//                        is stored unwired (its requests are failed by the controller; reported)
//   modbus_address/type  the read address; also the write address when writable and coil/holding_register
//   operand, description, show_in_ui, show_in_graph   kept
//   created_at, updated_at                             not imported (ald-db keeps its own)
// The import runs with ald.applying = 'on': it states what the machine holds, so it makes no
// setpoint requests, and it may set applied_value (which nothing else but the PLC may).
import type postgres from 'postgres';

export const OLD_HEADER = [
  'id', 'component_id', 'name', 'unit', 'min_value', 'max_value', 'current_value', 'set_value', 'created_at', 'updated_at',
  'show_in_graph', 'is_writable', 'modbus_address', 'modbus_type', 'data_type', 'show_in_ui', 'component_name', 'operand',
  'description',
] as const;

type DataType = 'float' | 'integer' | 'binary';
type RegisterType = 'coil' | 'discrete_input' | 'input_register' | 'holding_register';
type ValueType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';

/** A parameter row as ald-db stores it: the columns the importer writes. */
export interface MappedParameter {
  id: string;
  component_id: string;
  component_name: string;
  name: string;
  display_name: string;
  unit: string | null;
  data_type: DataType;
  min_value: number | null;
  max_value: number | null;
  set_value: number | null;
  applied_value: number | null;
  is_writable: boolean;
  read_modbus_address: number | null;
  read_modbus_type: RegisterType | null;
  write_modbus_address: number | null;
  write_modbus_type: RegisterType | null;
  modbus_value_type: ValueType | null;
  operand: string | null;
  description: string | null;
  show_in_ui: boolean;
  show_in_graph: boolean;
}

export type RowOutcome =
  | { line: number; id: string; outcome: 'inserted'; notes: string[] }
  | { line: number; id: string; outcome: 'updated'; fields: string[]; notes: string[] }
  | { line: number; id: string; outcome: 'unchanged'; notes: string[] }
  | { line: number; id: string; outcome: 'refused'; reason: string };

export interface ImportReport {
  machineId: string;
  dryRun: boolean;
  /** true when the accepted rows were written (false for a dry run and when the transaction failed). */
  committed: boolean;
  componentsCreated: string[];
  rows: RowOutcome[];
  counts: { inserted: number; updated: number; unchanged: number; refused: number };
  /** The error that rolled the whole import back, if one did. */
  error?: string;
}

/** Thrown for an input the importer cannot read at all (no rows are considered). */
export class ImportInputError extends Error {}

// CSV (RFC 4180): quoted fields, "" inside quotes, commas and newlines inside quotes, CRLF or LF.
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // byte order mark
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new ImportInputError('the CSV ends inside a quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === ''));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class Refusal extends Error {}

function text(v: string): string | null {
  const t = v.trim();
  return t === '' || t.toLowerCase() === 'null' ? null : t;
}

function number(v: string, column: string): number | null {
  const t = text(v);
  if (t === null) return null;
  const n = Number(t);
  if (!Number.isFinite(n)) throw new Refusal(`${column} is not a finite number: ${JSON.stringify(v)}`);
  return n;
}

function bool(v: string, column: string, fallback: boolean): boolean {
  const t = text(v)?.toLowerCase();
  if (t === undefined || t === null) return fallback;
  if (['true', 't', '1', 'yes', 'y'].includes(t)) return true;
  if (['false', 'f', '0', 'no', 'n'].includes(t)) return false;
  throw new Refusal(`${column} is not a boolean: ${JSON.stringify(v)}`);
}

/** ald-db's parameter name rule: ^[a-z][a-z0-9_]{0,62}$. */
export function snakeName(old: string): string {
  let s = old.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (s === '') return '';
  if (!/^[a-z]/.test(s)) s = `p_${s}`;
  return s.slice(0, 63).replace(/_+$/, '');
}

function componentType(name: string): string {
  const n = name.toLowerCase();
  for (const [word, type] of [
    ['heater', 'heater'], ['valve', 'valve'], ['pump', 'pump'], ['mfc', 'mass_flow_controller'], ['flow', 'mass_flow_controller'],
    ['gauge', 'pressure_gauge'], ['pressure', 'pressure_gauge'], ['chamber', 'chamber'],
  ] as const) {
    if (n.includes(word)) return type;
  }
  return 'component';
}

function mapDataType(raw: string, unit: string | null): { type: DataType; width: ValueType | null } {
  const t = (text(raw) ?? '').toLowerCase();
  if (['binary', 'bool', 'boolean', 'bit'].includes(t) || (t === '' && unit?.toLowerCase() === 'boolean')) return { type: 'binary', width: null };
  if (unit?.toLowerCase() === 'boolean' && t !== '') return { type: 'binary', width: null };
  if (['float', 'double', 'real', 'float32', 'float64', 'number', 'numeric', ''].includes(t)) return { type: 'float', width: 'float32' };
  if (['int', 'integer', 'int16', 'short', 'word'].includes(t)) return { type: 'integer', width: 'int16' };
  if (['uint16'].includes(t)) return { type: 'integer', width: 'uint16' };
  if (['int32', 'dint', 'long'].includes(t)) return { type: 'integer', width: 'int32' };
  if (['uint32', 'dword'].includes(t)) return { type: 'integer', width: 'uint32' };
  throw new Refusal(`data_type ${JSON.stringify(raw)} is not one ald-db knows (float, integer, int32, binary ...)`);
}

function mapRegister(raw: string): RegisterType | null {
  const t = (text(raw) ?? '').toLowerCase().replace(/[\s-]+/g, '_');
  if (t === '') return null;
  if (['coil', 'coils'].includes(t)) return 'coil';
  if (['holding', 'holding_register', 'holding_registers', 'register'].includes(t)) return 'holding_register';
  if (['input', 'input_register', 'input_registers'].includes(t)) return 'input_register';
  if (['discrete', 'discrete_input', 'discrete_inputs'].includes(t)) return 'discrete_input';
  throw new Refusal(`modbus_type ${JSON.stringify(raw)} is not a Modbus table (coil, discrete_input, input_register, holding_register)`);
}

/** Checks one row and maps it; throws Refusal with the reason. `notes` collects what was changed on the way. */
export function mapRow(cells: Record<string, string>, notes: string[]): MappedParameter {
  const id = (cells.id ?? '').trim();
  if (!UUID.test(id)) throw new Refusal(`id is not a uuid: ${JSON.stringify(cells.id)}`);
  const componentId = (cells.component_id ?? '').trim();
  if (!UUID.test(componentId)) throw new Refusal(`component_id is not a uuid: ${JSON.stringify(cells.component_id)}`);
  const componentName = text(cells.component_name ?? '');
  if (componentName === null) throw new Refusal('component_name is empty');
  if (componentName.length > 200) throw new Refusal('component_name is longer than 200 characters');
  const oldName = text(cells.name ?? '');
  if (oldName === null) throw new Refusal('name is empty');
  const name = snakeName(oldName);
  if (name === '') throw new Refusal(`name ${JSON.stringify(oldName)} has no letter or digit to make a parameter name of`);
  if (name !== oldName) notes.push(`name ${JSON.stringify(oldName)} stored as ${name} (display_name keeps the old one)`);
  const unit = text(cells.unit ?? '');
  const { type, width } = mapDataType(cells.data_type ?? '', unit);
  if ((text(cells.data_type ?? '') ?? '').toLowerCase() !== type) notes.push(`data_type ${JSON.stringify(cells.data_type)}${unit?.toLowerCase() === 'boolean' ? ` (unit ${unit})` : ''} mapped to ${type}`);
  const min = number(cells.min_value ?? '', 'min_value');
  const max = number(cells.max_value ?? '', 'max_value');
  if (min !== null && max !== null && min > max) throw new Refusal(`min_value ${min} is greater than max_value ${max}`);
  const setValue = number(cells.set_value ?? '', 'set_value');
  if (setValue !== null) {
    if (type === 'integer' && !Number.isInteger(setValue)) throw new Refusal(`set_value ${setValue} is not a whole number for an integer parameter`);
    if (type === 'binary' && setValue !== 0 && setValue !== 1) throw new Refusal(`set_value ${setValue} is not 0 or 1 for a binary parameter`);
    if ((min !== null && setValue < min) || (max !== null && setValue > max)) {
      throw new Refusal(`set_value ${setValue} is outside [${min ?? '-inf'}, ${max ?? 'inf'}]`);
    }
  }
  let applied = number(cells.current_value ?? '', 'current_value');
  if (applied !== null && type === 'binary' && applied !== 0 && applied !== 1) {
    notes.push(`current_value ${applied} is not 0/1 for a binary parameter: not taken as the applied value`);
    applied = null;
  }
  if (type === 'binary' && ((min !== null && min !== 0) || (max !== null && max !== 1))) {
    notes.push(`binary flag with the range [${min ?? ''}, ${max ?? ''}] kept; its value is still 0 or 1`);
  }
  const writable = bool(cells.is_writable ?? '', 'is_writable', false);
  const address = number(cells.modbus_address ?? '', 'modbus_address');
  if (address !== null && (!Number.isInteger(address) || address < 0 || address > 65535)) {
    throw new Refusal(`modbus_address ${address} is not an address from 0 to 65535`);
  }
  const register = mapRegister(cells.modbus_type ?? '');
  if ((address === null) !== (register === null)) {
    notes.push(`modbus_address ${address ?? '(none)'} without a Modbus table (or the other way round): stored unwired`);
  }
  const wired = address !== null && register !== null;
  const writeWired = wired && writable && (register === 'coil' || register === 'holding_register');
  if (writable && !writeWired) {
    notes.push(wired
      ? `writable, but ${register} is a read-only Modbus table: stored without a write address (its requests will be failed by the controller)`
      : 'writable, but not wired to a PLC address: stored unwired (its requests will be failed by the controller)');
  }
  const valueType: ValueType | null = !wired ? null : type === 'binary' ? (register === 'coil' || register === 'discrete_input' ? 'bool' : 'int16') : width;
  const description = text(cells.description ?? '');
  const operand = text(cells.operand ?? '');
  if (operand !== null && operand.length > 200) throw new Refusal('operand is longer than 200 characters');
  return {
    id: id.toLowerCase(),
    component_id: componentId.toLowerCase(),
    component_name: componentName,
    name,
    display_name: oldName,
    unit,
    data_type: type,
    min_value: min,
    max_value: max,
    set_value: setValue,
    applied_value: applied,
    is_writable: writable,
    read_modbus_address: wired ? address : null,
    read_modbus_type: wired ? register : null,
    write_modbus_address: writeWired ? address : null,
    write_modbus_type: writeWired ? register : null,
    modbus_value_type: valueType,
    operand,
    description,
    show_in_ui: bool(cells.show_in_ui ?? '', 'show_in_ui', true),
    show_in_graph: bool(cells.show_in_graph ?? '', 'show_in_graph', true),
  };
}

/** The columns compared to decide whether an existing row changes. */
const COMPARED = [
  'component_id', 'name', 'display_name', 'unit', 'data_type', 'min_value', 'max_value', 'set_value', 'applied_value',
  'is_writable', 'read_modbus_address', 'read_modbus_type', 'write_modbus_address', 'write_modbus_type', 'modbus_value_type',
  'operand', 'description', 'show_in_ui', 'show_in_graph',
] as const;

/** Reads the CSV text into rows keyed by the old header; throws ImportInputError on a wrong header. */
export function readRows(csv: string): { line: number; cells: Record<string, string> }[] {
  const table = parseCsv(csv);
  if (table.length === 0) throw new ImportInputError('the file is empty');
  const header = table[0].map((h) => h.trim().toLowerCase());
  const missing = OLD_HEADER.filter((h) => !header.includes(h));
  if (missing.length > 0) {
    throw new ImportInputError(`the header lacks ${missing.join(', ')}; expected the old component_parameters export: ${OLD_HEADER.join(',')}`);
  }
  return table.slice(1).map((cells, i) => ({
    line: i + 2,
    cells: Object.fromEntries(header.map((h, j) => [h, cells[j] ?? ''])),
  }));
}

class Rollback extends Error {}

/**
 * Imports the rows into machineId over `sql` (a connection allowed to write component_parameters:
 * the postgres or service role). One transaction; rolled back for a dry run or on any error.
 */
export async function importParameters(sql: postgres.Sql, machineId: string, csv: string, options: { dryRun: boolean }): Promise<ImportReport> {
  const input = readRows(csv);
  const report: ImportReport = {
    machineId, dryRun: options.dryRun, committed: false, componentsCreated: [], rows: [],
    counts: { inserted: 0, updated: 0, unchanged: 0, refused: 0 },
  };
  const seenIds = new Map<string, number>();
  const seenNames = new Map<string, number>();
  const accepted: { line: number; p: MappedParameter; notes: string[] }[] = [];
  for (const { line, cells } of input) {
    const notes: string[] = [];
    try {
      const p = mapRow(cells, notes);
      const dupId = seenIds.get(p.id);
      if (dupId !== undefined) throw new Refusal(`id ${p.id} appears again (first on line ${dupId})`);
      const key = `${p.component_name}\u0000${p.name}`;
      const dupName = seenNames.get(key);
      if (dupName !== undefined) throw new Refusal(`component ${p.component_name} has a parameter named ${p.name} already (line ${dupName})`);
      seenIds.set(p.id, line);
      seenNames.set(key, line);
      accepted.push({ line, p, notes });
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      report.rows.push({ line, id: (cells.id ?? '').trim(), outcome: 'refused', reason: error.message });
    }
  }

  try {
    await sql.begin(async (tx) => {
      const [machine] = await tx<{ id: string }[]>`select id from public.machines where id = ${machineId}`;
      if (!machine) throw new ImportInputError(`no machine ${machineId}`);
      await tx`select set_config('ald.applying', 'on', true), set_config('ald.change_source', 'system', true),
                      set_config('ald.change_reason', 'ald-db import parameters', true)`;
      // Components by name, created (with the old id when no other component has it) the first
      // time a row that goes in needs one: a refused row creates nothing.
      const componentIds = new Map<string, string>();
      const componentFor = async (name: string, oldId: string): Promise<string> => {
        const known = componentIds.get(name);
        if (known) return known;
        const [existing] = await tx<{ id: string }[]>`select id from public.machine_components where machine_id = ${machineId} and name = ${name}`;
        if (existing) {
          componentIds.set(name, existing.id);
          return existing.id;
        }
        const [taken] = await tx<{ n: number }[]>`select count(*)::int as n from public.machine_components where id = ${oldId}`;
        const [created] = taken.n > 0
          ? await tx<{ id: string }[]>`insert into public.machine_components (machine_id, name, component_type) values (${machineId}, ${name}, ${componentType(name)}) returning id`
          : await tx<{ id: string }[]>`insert into public.machine_components (id, machine_id, name, component_type) values (${oldId}, ${machineId}, ${name}, ${componentType(name)}) returning id`;
        componentIds.set(name, created.id);
        report.componentsCreated.push(name);
        return created.id;
      };
      for (const a of accepted) {
        const [existing] = await tx<Record<string, unknown>[]>`select * from public.component_parameters where id = ${a.p.id}`;
        if (existing && existing.machine_id !== machineId) {
          report.rows.push({ line: a.line, id: a.p.id, outcome: 'refused', reason: `id ${a.p.id} is a parameter of another machine (${String(existing.machine_id)})` });
          continue;
        }
        const p = { ...a.p, component_id: await componentFor(a.p.component_name, a.p.component_id) };
        if (p.component_id !== a.p.component_id) a.notes.push(`component ${p.component_name} has id ${p.component_id} on this machine (the file says ${a.p.component_id})`);
        if (!existing) {
          const [clash] = await tx<{ id: string }[]>`select id from public.component_parameters where component_id = ${p.component_id} and name = ${p.name}`;
          if (clash) {
            report.rows.push({ line: a.line, id: p.id, outcome: 'refused', reason: `component ${p.component_name} already has a parameter ${p.name} (id ${clash.id})` });
            continue;
          }
          await tx`insert into public.component_parameters (id, component_id, machine_id, name, display_name, unit, data_type, min_value,
              max_value, set_value, applied_value, applied_at, applied_version, is_writable, read_modbus_address, read_modbus_type,
              write_modbus_address, write_modbus_type, modbus_value_type, operand, description, show_in_ui, show_in_graph)
            values (${p.id}, ${p.component_id}, ${machineId}, ${p.name}, ${p.display_name}, ${p.unit}, ${p.data_type}, ${p.min_value},
              ${p.max_value}, ${p.set_value}, ${p.applied_value}, ${p.applied_value === null ? null : tx`now()`},
              ${p.applied_value !== null && p.applied_value === p.set_value ? 1 : null}, ${p.is_writable}, ${p.read_modbus_address},
              ${p.read_modbus_type}, ${p.write_modbus_address}, ${p.write_modbus_type}, ${p.modbus_value_type}, ${p.operand},
              ${p.description}, ${p.show_in_ui}, ${p.show_in_graph})`;
          report.rows.push({ line: a.line, id: p.id, outcome: 'inserted', notes: a.notes });
          continue;
        }
        const fields = COMPARED.filter((f) => !same(existing[f], p[f]));
        if (fields.length === 0) {
          report.rows.push({ line: a.line, id: p.id, outcome: 'unchanged', notes: a.notes });
          continue;
        }
        // The applied value moves only when it differs; applied_version follows the rule of report_plc_values.
        await tx`update public.component_parameters set
            component_id = ${p.component_id}, name = ${p.name}, display_name = ${p.display_name}, unit = ${p.unit},
            data_type = ${p.data_type}, min_value = ${p.min_value}, max_value = ${p.max_value}, set_value = ${p.set_value},
            is_writable = ${p.is_writable}, read_modbus_address = ${p.read_modbus_address}, read_modbus_type = ${p.read_modbus_type},
            write_modbus_address = ${p.write_modbus_address}, write_modbus_type = ${p.write_modbus_type},
            modbus_value_type = ${p.modbus_value_type}, operand = ${p.operand}, description = ${p.description},
            show_in_ui = ${p.show_in_ui}, show_in_graph = ${p.show_in_graph},
            applied_value = ${p.applied_value},
            applied_at = case when applied_value is not distinct from ${p.applied_value}::float8 then applied_at
                              when ${p.applied_value}::float8 is null then null else now() end,
            applied_version = case when applied_value is not distinct from ${p.applied_value}::float8 then applied_version
                                   when ${p.applied_value}::float8 is null then null
                                   when ${p.applied_value}::float8 = ${p.set_value}::float8 then version + 1 else null end
          where id = ${p.id}`;
        report.rows.push({ line: a.line, id: p.id, outcome: 'updated', fields, notes: a.notes });
      }
      if (options.dryRun) throw new Rollback();
    });
    report.committed = true;
  } catch (error) {
    if (error instanceof ImportInputError) throw error;
    if (!(error instanceof Rollback)) {
      const e = error as { message?: string; code?: string; detail?: string };
      report.error = `${e.message ?? String(error)}${e.code ? ` (${e.code})` : ''}${e.detail ? `: ${e.detail}` : ''}`;
    }
  }
  report.rows.sort((a, b) => a.line - b.line);
  for (const r of report.rows) report.counts[r.outcome]++;
  return report;
}

function same(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (typeof b === 'number') return Number(a) === b;
  return String(a) === String(b);
}

export function formatReport(r: ImportReport): string {
  const lines: string[] = [];
  for (const row of r.rows) {
    const head = `line ${row.line} ${row.id || '(no id)'}: ${row.outcome}`;
    if (row.outcome === 'refused') lines.push(`${head}: ${row.reason}`);
    else if (row.outcome === 'updated') lines.push(`${head} (${row.fields.join(', ')})`);
    else lines.push(head);
    if (row.outcome !== 'refused') for (const note of row.notes) lines.push(`    note: ${note}`);
  }
  if (r.componentsCreated.length > 0) lines.push(`components created: ${r.componentsCreated.join(', ')}`);
  const c = r.counts;
  const what = r.error ? `FAILED, nothing changed: ${r.error}` : r.dryRun ? 'dry run, nothing changed' : 'committed in one transaction';
  lines.push(`${c.inserted} inserted, ${c.updated} updated, ${c.unchanged} unchanged, ${c.refused} refused; ${what}`);
  return `${lines.join('\n')}\n`;
}
