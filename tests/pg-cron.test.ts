/**
 * The scheduled path under pg_cron, for real: the jobs the migrations schedule on Supabase
 * (public.maintain_readings daily, private.rollup_readings every minute) run in the test database
 * from the pg_cron scheduler and do their work there.
 *
 * pg_cron loads only through shared_preload_libraries and lives in one database (cron.database_name,
 * `postgres` here and in CI); test databases are others, where `create extension pg_cron` fails. So
 * this test connects to the cron database, creates the extension there if needed, schedules both
 * commands into the test database with cron.schedule_in_database (pg_cron 1.4: whole minutes),
 * waits for the next minute boundary plus a few seconds (bounded), then checks cron.job_run_details
 * says succeeded for each and that their effect is in the test database: a partition further ahead
 * than the migration made (months_ahead raised for the run) and the rollup job's progress. Jobs are
 * unscheduled (their run log deleted) and the extra partitions dropped afterwards. The dead-controller
 * job (private.reap_dead_controllers) has its own such test: tests/faults/reaper-cron.test.ts.
 *
 * Skipped, with the reason, only where pg_cron is not preloaded; `npm test` with CI=true reports that
 * as a missing prerequisite instead (scripts/test.ts), so CI never skips it.
 * Run: npm test -- --only vitest tests/pg-cron
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from './fuzz/harness.ts';

const testUrl = databaseUrl();
const testDb = decodeURIComponent(new URL(testUrl).pathname.slice(1));
const cronUrl = (database: string) => {
  const u = new URL(testUrl);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
};

let db: postgres.Sql;
let cron: postgres.Sql | undefined;
let preloaded = false;
let cronDatabase = 'postgres';
const jobs = { maintain: `ald-db-test-${testDb}-maintain-readings`, rollup: `ald-db-test-${testDb}-rollup-readings` };

beforeAll(async () => {
  db = postgres(testUrl, { max: 1, onnotice: () => {} });
  const [row] = await db`select current_setting('shared_preload_libraries') as libs,
                                current_setting('cron.database_name', true) as cron_db`;
  preloaded = String(row.libs).split(',').map((s) => s.trim()).includes('pg_cron');
  if (!preloaded) {
    console.warn('SKIPPED tests/pg-cron.test.ts: pg_cron is not in shared_preload_libraries on this server '
      + '(bash .ci/run preloads it; `npm test` with CI=true refuses to run without it)');
    return;
  }
  cronDatabase = row.cron_db || 'postgres';
  cron = postgres(cronUrl(cronDatabase), { max: 1, onnotice: () => {} });
  await cron`create extension if not exists pg_cron`;
}, 60_000);

afterAll(async () => {
  if (cron) {
    for (const name of Object.values(jobs)) {
      const ids = await cron`select jobid from cron.job where jobname = ${name}`;
      for (const { jobid } of ids) {
        await cron`select cron.unschedule(${jobid}::bigint)`;
        await cron`delete from cron.job_run_details where jobid = ${jobid}::bigint`;
      }
    }
    await cron.end({ timeout: 5 });
  }
  if (db) {
    await db`update private.telemetry_settings set months_ahead = 3`;
    await db.end({ timeout: 5 });
  }
});

/** The monthly partition `monthsAhead` months after the current one, as maintain_readings names it. */
async function partitionAhead(monthsAhead: number): Promise<string> {
  const [{ name }] = await db`
    select format('readings_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM')) as name
    from (select date_trunc('month', now()) + make_interval(months => ${monthsAhead}::int) as m) x`;
  return name;
}
const exists = async (relation: string) =>
  (await db`select to_regclass(${`public.${relation}`}) is not null as present`)[0].present as boolean;

describe('pg_cron runs the readings jobs in the test database', () => {
  it('schedules maintain_readings and rollup_readings there, both succeed within the next minute, and their effect shows', async (ctx) => {
    if (!preloaded || !cron) {
      ctx.skip();
      return;
    }
    // Something for each job to do: a partition one month further ahead than the migration made;
    // the rollup job's last run is null until it runs, or older than this test.
    const ahead = await partitionAhead(5);
    const extra = [await partitionAhead(4), ahead];
    const made = [];
    for (const p of extra) if (!(await exists(p))) made.push(p);
    await db`update private.telemetry_settings set months_ahead = 5`;
    expect(await exists(ahead), `${ahead} does not exist before the job`).toBe(false);

    const [{ t0 }] = await cron`select now() as t0`;
    const ids: Record<string, number> = {};
    for (const [key, command] of [['maintain', 'select public.maintain_readings()'], ['rollup', 'select private.rollup_readings()']] as const) {
      const [{ id }] = await cron`select cron.schedule_in_database(${jobs[key]}, '* * * * *', ${command}, ${testDb}) as id`;
      ids[key] = Number(id);
    }

    // pg_cron starts jobs on whole minutes: wait past the next boundary, polling, at most 100 s.
    const deadline = Date.now() + 100_000;
    let runs: { jobid: number; status: string; return_message: string }[] = [];
    while (Date.now() < deadline) {
      runs = await cron`select jobid::int as jobid, status, return_message from cron.job_run_details
                        where jobid in (${ids.maintain}, ${ids.rollup}) and start_time >= ${t0}
                          and status in ('succeeded', 'failed') order by start_time`;
      if (new Set(runs.map((r) => r.jobid)).size === 2) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    const of = (id: number) => runs.find((r) => r.jobid === id);
    expect(of(ids.maintain), 'pg_cron ran public.maintain_readings within 100 s').toBeDefined();
    expect(of(ids.rollup), 'pg_cron ran private.rollup_readings within 100 s').toBeDefined();
    expect(of(ids.maintain)?.status, of(ids.maintain)?.return_message).toBe('succeeded');
    expect(of(ids.rollup)?.status, of(ids.rollup)?.return_message).toBe('succeeded');

    expect(await exists(ahead), `the scheduled maintain_readings created ${ahead} in ${testDb}`).toBe(true);
    const [{ ran }] = await db`select coalesce(last_run_at >= ${t0}::timestamptz, false) as ran from private.reading_rollup_state`;
    expect(ran, 'the scheduled rollup_readings ran in the test database (private.reading_rollup_state.last_run_at)').toBe(true);

    // leave the database as the migrations made it
    await db`update private.telemetry_settings set months_ahead = 3`;
    for (const p of made) await db.unsafe(`drop table if exists public.${p}`);
  }, 150_000);
});
