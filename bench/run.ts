// `npm run bench`: the old controller's access patterns vs the SDK, through a latency-injecting
// TCP proxy, against a throwaway database created (and dropped) on the server.
//
//   npm run bench                               20 ms RTT, 30 iterations, table on stdout
//   npm run bench -- --rtt 32                   the old design guide's assumption
//   npm run bench -- --json                     machine-readable result on stdout
//   npm run bench -- --chart docs/benchmark.svg also draw the chart
//   npm run bench -- --quick                    5 iterations, small ingestion runs
//   npm run bench -- --iterations 100 --db-url postgresql://postgres@127.0.0.1:5432/postgres
//   npm run bench -- --save FILE.json           also write the --json result to a file
//   npm run bench -- --from FILE.json           print (or --chart) a saved result, run nothing
//   npm run bench -- --check                    exit 1 when a target is MISSED (default: report only)
//
// --db-url (default: $DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres) names a
// server; the benchmark creates its own database there and drops it at the end.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SERVER_URL } from '../src/database/database.ts';
import { runBenchmark, type BenchResult } from './bench.ts';
import { renderChart } from './chart.ts';
import { formatReport } from './report.ts';

const USAGE = 'usage: npm run bench -- [--rtt MS] [--iterations N] [--quick] [--json] [--chart FILE.svg] [--save FILE.json] [--from FILE.json] [--db-url URL] [--keep] [--check]';

function numberOption(name: string, raw: string | undefined, fallback: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const x = Number(raw);
  if (!Number.isFinite(x) || x < 0 || (integer && (!Number.isInteger(x) || x < 1))) {
    throw new Error(`--${name} must be ${integer ? 'a positive integer' : 'a number of milliseconds >= 0'}, but got: ${raw}\n${USAGE}`);
  }
  return x;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rtt: { type: 'string' },
      iterations: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      chart: { type: 'string' },
      'db-url': { type: 'string' },
      save: { type: 'string' },
      from: { type: 'string' },
      keep: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const quick = values.quick ?? false;
  const rttMs = numberOption('rtt', values.rtt, 20, false);
  const iterations = numberOption('iterations', values.iterations, quick ? 5 : 30, true);
  const serverUrl = values['db-url'] ?? process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;

  const write = async (name: string, text: string) => {
    const file = resolve(name);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
    process.stderr.write(`bench: wrote ${file}\n`);
  };

  const result: BenchResult = values.from
    ? JSON.parse(await readFile(values.from, 'utf8'))
    : {
        ...(await runBenchmark({ serverUrl, rttMs, iterations, quick, keep: values.keep, log: (line) => process.stderr.write(`bench: ${line}\n`) })),
        command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
      };

  if (values.save) await write(values.save, JSON.stringify(result, null, 2) + '\n');
  if (values.chart) await write(values.chart, await renderChart(result));
  process.stdout.write(values.json ? JSON.stringify(result, null, 2) + '\n' : formatReport(result) + '\n');
  const missed = result.targets.filter((t) => !t.met);
  if (values.check && missed.length > 0) {
    process.stderr.write(`bench: --check: ${missed.length} target(s) missed: ${missed.map((t) => t.name).join('; ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
