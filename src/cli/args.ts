// What the CLI commands (demo, doctor, dashboard) share when they read their command line:
// usage errors (exit 2, with the usage), strict option parsing, and the --db-url check.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { redact } from '../database/database.ts';

export { redact };

/** A command line the command cannot run with: printed with the usage, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, strict and without positionals; its errors become UsageErrors. */
export function parseOptions<O extends Options>(argv: string[], options: O): ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function isPostgresUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'postgres:' || protocol === 'postgresql:';
  } catch {
    return false;
  }
}

/** dbUrl itself when absent or a postgresql:// URL; a UsageError naming the (redacted) input otherwise. */
export function checkDbUrl(dbUrl: string | undefined): string | undefined {
  if (dbUrl !== undefined && !isPostgresUrl(dbUrl)) {
    throw new UsageError(`--db-url must be a postgresql:// URL, but got: ${redact(dbUrl)}`);
  }
  return dbUrl;
}

/**
 * parse(argv), or the exit code when the command should stop here: 2 after a usage error (the
 * message and the usage on stderr), 0 after --help (the usage on stdout).
 */
export function readCommandLine<T extends { help: boolean }>(
  command: string, usage: string, argv: string[], parse: (argv: string[]) => T,
): T | number {
  let args: T;
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`ald-db ${command}: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(usage);
    return 0;
  }
  return args;
}
