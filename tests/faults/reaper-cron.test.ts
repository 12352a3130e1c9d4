// The dead-controller job on its real schedule: pg_cron, from the database it serves
// (cron.database_name, `postgres` here as on CI and in Supabase's single-database projects),
// runs private.reap_dead_controllers() in the test database through cron.schedule_in_database,
// which is what an operator does where the migration could not schedule it itself (the migration
// schedules it when pg_cron can be created in the migrated database). A controller already
// silent past its timeout is declared dead by the first scheduled run: its run failed with
// "controller lost", the machine in error. pg_cron 1.4 schedules once a minute at the fastest
// (1.5 and later: every few seconds), so this test waits for the next whole minute at most.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { adminSql, cloneReactor, databaseUrl, dropReactor, until, type Reactor } from './support.ts';

const sql = adminSql();
let cron: postgres.Sql;
let reactor: Reactor;
let jobId: number | null = null;

beforeAll(async () => {
  const cronUrl = new URL(databaseUrl());
  const [{ db }] = await sql<{ db: string }[]>`select coalesce(current_setting('cron.database_name', true), 'postgres') as db`;
  cronUrl.pathname = `/${db}`;
  cron = postgres(cronUrl.toString(), { max: 1, onnotice: () => {} });
  try {
    await cron`create extension if not exists pg_cron`;
  } catch (error) {
    throw new Error(`pg_cron is needed in the database ${db} (shared_preload_libraries = 'pg_cron', cron.database_name; `
      + `.ci/run sets both): ${(error as Error).message}`);
  }
  reactor = await cloneReactor(sql, 'reaper on pg_cron');
});

afterAll(async () => {
  if (jobId !== null) {
    await cron`select cron.unschedule(${jobId}::bigint)`.catch(() => {});
    await cron`delete from cron.job_run_details where jobid = ${jobId}::bigint`.catch(() => {});
  }
  await cron?.end();
  await dropReactor(sql, reactor);
  await sql.end();
});

describe('the dead-controller job scheduled with pg_cron', () => {
  it('declares a silent controller dead on its first scheduled run, failing its run', async () => {
    const [k] = await sql<{ id: string }[]>`
      insert into public.controllers (machine_id, host, timeout_ms, last_seen_at)
      values (${reactor.machineId}, 'silent', 1000, now() - interval '1 hour') returning id`;
    const [run] = await sql<{ id: string }[]>`
      select (public.start_process(${reactor.machineId}::uuid, ${reactor.recipeId}::uuid) ->> 'process_id') as id`;
    // start_process is a heartbeat: make the controller silent again.
    await sql`update public.controllers set last_seen_at = now() - interval '1 hour' where id = ${k.id}`;

    const database = new URL(databaseUrl()).pathname.slice(1);
    const name = `ald-reap-${database}`;
    const command = 'select private.reap_dead_controllers()';
    let schedule = '2 seconds';
    try {
      [{ jobId }] = await cron<{ jobId: number }[]>`select cron.schedule_in_database(${name}, ${schedule}, ${command}, ${database}) as "jobId"`;
    } catch {
      schedule = '* * * * *'; // pg_cron < 1.5: no seconds
      [{ jobId }] = await cron<{ jobId: number }[]>`select cron.schedule_in_database(${name}, ${schedule}, ${command}, ${database}) as "jobId"`;
    }

    await until('a scheduled run of the job declared the controller dead', async () =>
      (await sql`select status::text from public.controllers where id = ${k.id}`)[0].status === 'dead', 90_000);
    const [ended] = await sql`select status::text, error_message from public.process_executions where id = ${run.id}`;
    expect(ended).toEqual({ status: 'failed', error_message: 'controller lost' });
    const [machine] = await sql`select status::text from public.machines where id = ${reactor.machineId}`;
    expect(machine.status).toBe('error');
    // pg_cron logs the run's end after the job's transaction committed: wait for the log.
    await until('pg_cron logged the end of the run', async () =>
      (await cron`select 1 from cron.job_run_details where jobid = ${jobId}::bigint and status in ('succeeded', 'failed')`).length > 0, 30_000);
    const runs = await cron<{ status: string }[]>`select status from cron.job_run_details where jobid = ${jobId}::bigint and status <> 'running'`;
    expect(runs.map((r) => r.status)).toContain('succeeded');
  }, 120_000);
});
