// `ald-db doctor`: prints the doctor's report on one database (src/doctor/) and exits
// 0 when healthy, 1 when a threshold failed, 2 on a usage error or when the database cannot be
// reached or read.
import { isPostgresUrl, parseOptions, readCommandLine, redact, UsageError } from './args.ts';
import postgres from 'postgres';
import { DEFAULTS, formatJson, formatText, runDoctor } from '../doctor/index.ts';

export const usage = `Usage: ald-db doctor [--db-url URL] [options]

Reports how the database uses its indexes, which indexes are unused, duplicated or made
redundant by another, the slowest statements (pg_stat_statements), the buffer cache hit ratio
and the connections in use.

Options:
  --db-url URL             the database (default: $DATABASE_URL)
  --json                   print the report as JSON instead of text
  --min-index-share PCT    fail a table that answers under PCT % of its scans from an index
                           (default ${DEFAULTS.minIndexSharePercent}) ...
  --min-rows N             ... if it holds more than N live rows (default ${DEFAULTS.minRows})
  --schema NAME            a schema to check; repeatable (default: ${DEFAULTS.schemas.join(', ')})
  --top N                  how many of the slowest statements to list (default ${DEFAULTS.topStatements})
  -h, --help               print this help

Exit codes:
  0  healthy
  1  a threshold failed: an index-scan share under --min-index-share on a table over --min-rows
     rows, or a duplicate or redundant index
  2  usage error, or the database could not be reached or read
`;

function numberOption(value: string | undefined, flag: string, check: (n: number) => boolean, rule: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !check(n)) throw new UsageError(`${flag} must be ${rule}, but got: ${value}`);
  return n;
}

function parse(argv: string[]) {
  const v = parseOptions(argv, {
    'db-url': { type: 'string' },
    json: { type: 'boolean', default: false },
    'min-index-share': { type: 'string' },
    'min-rows': { type: 'string' },
    schema: { type: 'string', multiple: true },
    top: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  return {
    help: v.help === true,
    json: v.json === true,
    dbUrl: v['db-url'] ?? process.env.DATABASE_URL,
    minIndexSharePercent: numberOption(v['min-index-share'], '--min-index-share', (n) => Number.isFinite(n) && n >= 0 && n <= 100, 'a percentage from 0 to 100'),
    minRows: numberOption(v['min-rows'], '--min-rows', (n) => Number.isInteger(n) && n >= 0, 'a whole number of rows, 0 or more'),
    topStatements: numberOption(v.top, '--top', (n) => Number.isInteger(n) && n >= 1 && n <= 1000, 'a whole number from 1 to 1000'),
    schemas: v.schema as string[] | undefined,
  };
}

function describe(error: unknown): string {
  const e = error as { message?: string; code?: string };
  const code = e.code && !String(e.message).includes(e.code) ? ` (${e.code})` : '';
  return `${e.message ?? String(error)}${code}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = readCommandLine('doctor', usage, argv, parse);
  if (typeof args === 'number') return args;
  if (!args.dbUrl) {
    process.stderr.write('ald-db doctor: no database: pass --db-url postgresql://… or set DATABASE_URL\n');
    return 2;
  }
  if (!isPostgresUrl(args.dbUrl)) {
    process.stderr.write(`ald-db doctor: --db-url must be a postgresql:// URL, but got: ${redact(args.dbUrl)}\n`);
    return 2;
  }

  // prepare: false so the doctor also works through a transaction pooler (Supavisor, port 6543).
  const sql = postgres(args.dbUrl, {
    max: 1, prepare: false, connect_timeout: 10, onnotice: () => {},
    connection: { application_name: 'ald-db doctor' },
  });
  try {
    try {
      await sql`select 1`;
    } catch (error) {
      process.stderr.write(`ald-db doctor: cannot connect to ${redact(args.dbUrl)}: ${describe(error)}\n`);
      return 2;
    }
    let report;
    try {
      report = await runDoctor(sql, {
        minIndexSharePercent: args.minIndexSharePercent,
        minRows: args.minRows,
        topStatements: args.topStatements,
        schemas: args.schemas,
      });
    } catch (error) {
      process.stderr.write(`ald-db doctor: could not read the statistics of ${redact(args.dbUrl)}: ${describe(error)}\n`);
      return 2;
    }
    process.stdout.write(args.json ? formatJson(report) : formatText(report));
    return report.ok ? 0 : 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
