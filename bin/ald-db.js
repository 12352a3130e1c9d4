#!/usr/bin/env node
// The ald-db command line: `ald-db <command> [options]`, `ald-db <command> --help`.
//
// Each command is src/cli/<command>.ts, compiled to dist/cli/<command>.js (`npm run build`; the
// published package ships dist/), exporting `run(argv: string[]): Promise<number>`, which returns
// the exit code and closes whatever it opened. Plain node: no TypeScript loader at run time.
// Adding a command is one line in COMMANDS.
import { existsSync } from 'node:fs';

/** command → one-line summary; the module is ../dist/cli/<command>.js */
const COMMANDS = {
  demo: 'the seed recipe end to end through the SDK with a simulated PLC, on an embedded PostgreSQL or DATABASE_URL',
  dashboard: 'live performance dashboard on localhost: latency, round trips, cache, recorder, connections, doctor',
  doctor: 'database health: index use per table, unused and duplicate indexes, slowest statements, cache hit ratio, connections',
  import: 'import parameters --machine <id> FILE.csv [--dry-run]: the old system\'s component_parameters export into a machine',
};

function usage() {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`);
  return `Usage: ald-db <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n`
    + 'Run `ald-db <command> --help` for the options of a command.\n';
}

const [name, ...argv] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
  (name === undefined ? process.stderr : process.stdout).write(usage());
  process.exitCode = name === undefined ? 2 : 0;
} else if (!Object.hasOwn(COMMANDS, name)) {
  process.stderr.write(`ald-db: unknown command: ${name}\n\n${usage()}`);
  process.exitCode = 2;
} else {
  const module = new URL(`../dist/cli/${name}.js`, import.meta.url);
  try {
    if (!existsSync(module)) {
      throw new Error(`${module.pathname} is missing: in a checkout of the repository, run \`npm run build\` first`);
    }
    const command = await import(module.href);
    process.exitCode = await command.run(argv);
  } catch (error) {
    process.stderr.write(`ald-db ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
