#!/usr/bin/env node
// The ald-db command line: `ald-db <command> [options]`, `ald-db <command> --help`.
//
// Each command is src/cli/<command>.ts exporting `run(argv: string[]): Promise<number>`, which
// returns the exit code and closes whatever it opened. tsx loads the TypeScript sources directly,
// so there is no build step. Adding a command is one line in COMMANDS.
import { register } from 'tsx/esm/api';

/** command → one-line summary; the module is ../src/cli/<command>.ts */
const COMMANDS = {
  demo: 'the seed recipe end to end through the SDK with a simulated PLC, on an embedded PostgreSQL or DATABASE_URL',
  dashboard: 'live performance dashboard on localhost: latency, round trips, cache, recorder, connections, doctor',
  doctor: 'database health: index use per table, unused and duplicate indexes, slowest statements, cache hit ratio, connections',
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
  register();
  try {
    const command = await import(new URL(`../src/cli/${name}.ts`, import.meta.url).href);
    process.exitCode = await command.run(argv);
  } catch (error) {
    process.stderr.write(`ald-db ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
