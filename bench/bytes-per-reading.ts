// Bytes per reading on disk, and ingestion rate, of today's readings storage next to the previous
// one-row-per-reading layout, in one run on one database:
//
//   npx tsx bench/bytes-per-reading.ts [--db-url URL] [--seconds 3600] [--keep]
//
// Creates a throwaway database on the server (--db-url, else DATABASE_URL, else the local
// PostgreSQL), applies the migrations and the seed, rebuilds the previous layout beside the new
// one (bench/bytes-per-reading.sql), records the same ticks of ALD Reactor A (137 parameters at
// 1 Hz, default one hour = 493 200 readings) into both, one RPC call per tick, and prints
// pg_total_relation_size per reading (heap, TOAST and indexes over all partitions) and readings
// per second of server time for each (the two interleaved tick by tick, so that both see the same
// load on a shared machine). Today's bytes include the rollups (public.reading_rollups: per minute and the coarser levels)
// of the recorded hour. Exit 1 if the new layout takes more than 16 bytes a reading.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { DEFAULT_SERVER_URL, dropDatabase, prepareDatabase, redact, repoRoot, uniqueDatabaseName } from '../src/database/database.ts';

const { values } = parseArgs({
  options: {
    'db-url': { type: 'string' },
    seconds: { type: 'string', default: '3600' },
    keep: { type: 'boolean', default: false },
  },
});
const serverUrl = values['db-url'] ?? process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;
const seconds = Number(values.seconds);
if (!Number.isInteger(seconds) || seconds < 10 || seconds > 86_400) {
  console.error(`--seconds must be a whole number between 10 and 86400, but got: ${values.seconds}`);
  process.exit(2);
}
const GOAL_BYTES = 16;
const log = (line: string) => console.error(line);

/** The previous record_process_data, as the first migrations created it, recording into bench_old. */
async function previousRecorder(): Promise<string> {
  return readFile(join(repoRoot, 'bench/previous-record-process-data.sql'), 'utf8');
}

const RECORD = {
  previous: `perform bench_old.record_process_data((select id from bench_old.run), k.parameter_ids, k.vals, array[k.ts], k.set_points)`,
  now: `perform public.record_readings('00000000-0000-4000-8000-000000000001', k.parameter_ids, k.vals, array[k.ts], k.set_points)`,
};
const SIZE = {
  previous: `select coalesce(sum(pg_total_relation_size(relid)), 0)::bigint as bytes from pg_partition_tree('bench_old.process_data_points')`,
  now: `select (coalesce(sum(pg_total_relation_size(relid)), 0) + pg_total_relation_size('public.reading_layouts')
               + pg_total_relation_size('public.reading_rollups'))::bigint as bytes
        from pg_partition_tree('public.readings')`,
};
const COUNT = {
  previous: `select count(*)::bigint as n from bench_old.process_data_points`,
  now: `select count(*)::bigint as n from public.process_data_points`,
};

async function main() {
  const name = uniqueDatabaseName('ald_bytes');
  log(`preparing ${name} on ${redact(serverUrl)}`);
  const url = await prepareDatabase(serverUrl, name, { seed: true });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`set ald_bytes.seconds = ${seconds}`);
    await sql.unsafe(await readFile(join(repoRoot, 'bench/bytes-per-reading.sql'), 'utf8')).simple();
    await sql.unsafe(await previousRecorder());
    log(`recording ${seconds} ticks x 137 parameters into both layouts, interleaved tick by tick`);
    // Interleaved tick by tick, which layout goes first alternating, so that both see the same
    // load on a shared machine; each layout's time is the sum of its own calls. Every call commits,
    // as a recorder's do (synchronous_commit off: the CPU cost is measured, not the disk's fsync).
    await sql.unsafe(`set synchronous_commit = off`);
    await sql.unsafe(`
      do $$
      declare
        k record;
        t0 timestamptz;
        t1 timestamptz;
        spent double precision[] := array[0, 0];
      begin
        for k in select * from bench_old.ticks order by t loop
          t0 := clock_timestamp();
          if k.t % 2 = 0 then ${RECORD.previous}; else ${RECORD.now}; end if;
          commit;
          t1 := clock_timestamp();
          if k.t % 2 = 0 then ${RECORD.now}; else ${RECORD.previous}; end if;
          commit;
          if k.t % 2 = 0 then
            spent[1] := spent[1] + extract(epoch from t1 - t0);
            spent[2] := spent[2] + extract(epoch from clock_timestamp() - t1);
          else
            spent[2] := spent[2] + extract(epoch from t1 - t0);
            spent[1] := spent[1] + extract(epoch from clock_timestamp() - t1);
          end if;
        end loop;
        insert into bench_old.results (layout, seconds) values ('previous', spent[1]), ('now', spent[2]);
      end $$`).simple();
    // The rollups pg_cron keeps (private.rollup_readings, every minute: the minutes, then the
    // coarser levels), counted in the bytes: the first run announces the closed minutes, the
    // second rolls them up.
    await sql.unsafe(`select private.rollup_readings()`);
    await sql.unsafe(`select private.rollup_readings()`);
    await sql.unsafe(`vacuum (analyze)`);
    const rows: { layout: string; readings: number; seconds: number; bytes: number }[] = [];
    for (const layout of ['previous', 'now'] as const) {
      const [{ bytes }] = await sql.unsafe(SIZE[layout]);
      const [{ n }] = await sql.unsafe(COUNT[layout]);
      const [{ s }] = await sql.unsafe(`select seconds as s from bench_old.results where layout = '${layout}'`);
      rows.push({ layout, readings: Number(n), seconds: Number(s), bytes: Number(bytes) });
    }
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
    console.log(`bytes per reading: ALD Reactor A, 137 parameters x ${seconds} s at 1 Hz, one call per tick; ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'}`);
    console.log('');
    console.log('| layout | readings | on disk (heap + TOAST + indexes) | bytes / reading | ingestion (readings/s, server time) |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of rows) {
      const label = r.layout === 'now' ? 'readings: one row per machine tick, arrays by layout, with rollups' : 'previous: one row per (process, parameter, ts)';
      console.log(`| ${label} | ${fmt(r.readings)} | ${(r.bytes / 1e6).toFixed(1)} MB | ${(r.bytes / r.readings).toFixed(1)} | ${fmt(r.readings / r.seconds)} |`);
    }
    const [prev, now] = rows;
    console.log('');
    console.log(`${(prev.bytes / prev.readings / (now.bytes / now.readings)).toFixed(1)}x less storage, ${((now.readings / now.seconds) / (prev.readings / prev.seconds)).toFixed(1)}x the ingestion rate`);
    if (now.readings !== prev.readings) {
      console.error(`the layouts hold different numbers of readings: ${prev.readings} and ${now.readings}`);
      process.exitCode = 1;
    }
    if (now.bytes / now.readings > GOAL_BYTES) {
      console.error(`more than ${GOAL_BYTES} bytes per reading`);
      process.exitCode = 1;
    }
  } finally {
    await sql.end();
    if (values.keep) log(`kept database: ${url}`);
    else await dropDatabase(serverUrl, name);
  }
}

await main();
