// `ald-db import parameters --machine <id> FILE.csv [--dry-run] [--db-url URL] [--json]`: the old
// system's component_parameters export into one machine (src/cli/import-parameters.ts). Exit codes:
// 0 imported (or a clean dry run), 1 some rows refused or the transaction failed (nothing changed
// then), 2 usage error, unreadable file, unknown machine or unreachable database.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { isPostgresUrl, readCommandLine, redact, UsageError } from './args.ts';
import { formatReport, ImportInputError, importParameters } from './import-parameters.ts';

export const usage = `Usage: ald-db import parameters --machine <machine id> FILE.csv [options]

Imports the old system's component_parameters export (CSV with the header
id,component_id,name,unit,min_value,max_value,current_value,set_value,created_at,updated_at,
show_in_graph,is_writable,modbus_address,modbus_type,data_type,show_in_ui,component_name,operand,description)
into the machine: components created by name, ids kept, current_value taken as the applied value,
types mapped. Prints one line per row: inserted, updated (with the fields), unchanged or refused
(with the reason). The accepted rows go in as one transaction: all of them or none.

Options:
  --machine ID     the machine to import into (required)
  --dry-run        report what would change, change nothing
  --db-url URL     the database (default: $DATABASE_URL); a role that may write parameters (postgres, service_role)
  --json           print the report as JSON
  -h, --help       print this help

Exit codes: 0 imported, 1 rows refused or the import failed (then nothing changed), 2 usage error
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        machine: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        'db-url': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  const help = v.help === true;
  const [what, file, ...rest] = parsed.positionals;
  if (!help) {
    if (what !== 'parameters') throw new UsageError(`the only thing to import is parameters, but got: ${what ?? '(nothing)'}`);
    if (!file) throw new UsageError('FILE.csv is required');
    if (rest.length > 0) throw new UsageError(`one file at a time, but got also: ${rest.join(' ')}`);
    if (!v.machine || !UUID.test(v.machine)) throw new UsageError(`--machine must be a machine id (a uuid), but got: ${v.machine ?? '(nothing)'}`);
  }
  const dbUrl = v['db-url'] ?? process.env.DATABASE_URL;
  if (!help && (!dbUrl || !isPostgresUrl(dbUrl))) {
    throw new UsageError(dbUrl ? `--db-url must be a postgresql:// URL, but got: ${redact(dbUrl)}` : 'no database: pass --db-url postgresql://… or set DATABASE_URL');
  }
  return { help, file: file ?? '', machine: v.machine ?? '', dryRun: v['dry-run'] === true, json: v.json === true, dbUrl: dbUrl ?? '' };
}

export async function run(argv: string[]): Promise<number> {
  const args = readCommandLine('import', usage, argv, parse);
  if (typeof args === 'number') return args;
  let csv: string;
  try {
    csv = await readFile(args.file, 'utf8');
  } catch (error) {
    process.stderr.write(`ald-db import: cannot read ${args.file}: ${(error as Error).message}\n`);
    return 2;
  }
  const sql = postgres(args.dbUrl, { max: 1, prepare: false, connect_timeout: 10, onnotice: () => {}, connection: { application_name: 'ald-db import' } });
  try {
    const report = await importParameters(sql, args.machine, csv, { dryRun: args.dryRun });
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.error || report.counts.refused > 0 ? 1 : 0;
  } catch (error) {
    const message = error instanceof ImportInputError ? error.message : `${(error as Error).message}`;
    process.stderr.write(`ald-db import: ${message}\n`);
    return 2;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
