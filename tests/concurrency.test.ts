/**
 * Races between controllers, each on its own PostgreSQL connection (one postgres.js client with
 * max: 1 per simulated controller): the queue hands every command out exactly once, optimistic
 * setpoint writes have exactly one winner, a machine runs one process at a time, and a tick recorded
 * by several controllers at once is stored once. Everything runs on the fuzz fixture's private
 * machines (tests/fuzz/fixture.ts), dropped at the end; the seed machines are never touched.
 * Run: npm test -- --only vitest tests/concurrency
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, dropFixture, type Fixture } from './fuzz/fixture.ts';
import { databaseUrl, SEED } from './fuzz/harness.ts';
import { endRuns, ensureRunning } from './fuzz/state.ts';

const CONTROLLERS = 20;

let admin: postgres.Sql;
let fx: Fixture;
let controllers: postgres.Sql[];
/** Runs of the seed reactor when the file starts: it must end with the same (none started here). */
let seedRuns: string;
const seedRunsNow = async () =>
  JSON.stringify(await admin`select id, status::text from public.process_executions where machine_id = ${SEED.reactor} order by id`);

beforeAll(async () => {
  admin = postgres(databaseUrl(), { max: 1, onnotice: () => {} });
  seedRuns = await seedRunsNow();
  fx = await createFixture(admin);
  controllers = Array.from({ length: CONTROLLERS }, (_, i) =>
    postgres(databaseUrl(), { max: 1, onnotice: () => {}, connection: { application_name: `controller-${i}` } }));
  // connect every controller first, so the races below start together instead of in connection order
  await Promise.all(controllers.map((c) => c`select 1`));
}, 60_000);

afterAll(async () => {
  await Promise.all((controllers ?? []).map((c) => c.end({ timeout: 5 })));
  if (fx) for (const m of fx.machines) await endRuns(admin, m);
  await dropFixture(admin, fx);
  await admin`vacuum public.process_data_points`; // the backlogs above leave dead rows for later suites to scan
  expect(await seedRunsNow(), 'no run of the seed reactor was started or ended here').toBe(seedRuns);
  await admin?.end();
});

type Settled = { ok: true; value: postgres.Row[] } | { ok: false; code: string };
/** The first row of a settled call that succeeded. */
const first = <T>(r: Settled) => (r as { value: postgres.Row[] }).value[0] as unknown as T;
const codes = (rs: Settled[]) => rs.filter((r) => !r.ok).map((r) => (r as { code: string }).code);

/** Runs fn on every controller at once; settles each (rows or SQLSTATE). */
async function race(fn: (c: postgres.Sql, i: number) => Promise<postgres.Row[]>, n = CONTROLLERS): Promise<Settled[]> {
  return Promise.all(controllers.slice(0, n).map(async (c, i): Promise<Settled> => {
    try {
      return { ok: true as const, value: [...await fn(c, i)] };
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (!code) throw e;
      return { ok: false as const, code };
    }
  }));
}

describe('claim_next_command under 20 controllers', () => {
  it('hands each of 50 pending commands to exactly one controller and leaves none pending', async () => {
    const machine = fx.G;
    const ids = (await admin`
      insert into public.recipe_commands (machine_id, command_type)
      select ${machine}, 'stop_recipe' from generate_series(1, 50) returning id`).map((r) => r.id as string);

    const claimedBy = new Map<string, string[]>();
    const loops = controllers.map(async (c, i) => {
      const me = `controller-${i}`;
      for (;;) {
        const rows = await c`select id, status::text, claimed_by from public.claim_next_command(${machine}::uuid, ${me})`;
        if (rows.length === 0) return;
        expect(rows[0]).toMatchObject({ status: 'claimed', claimed_by: me });
        claimedBy.set(rows[0].id, [...(claimedBy.get(rows[0].id) ?? []), me]);
      }
    });
    await Promise.all(loops);

    const twice = [...claimedBy].filter(([, by]) => by.length > 1);
    expect(twice, 'no command is claimed twice').toEqual([]);
    expect([...claimedBy.keys()].sort(), 'every command is claimed').toEqual([...ids].sort());
    const rows = await admin`select id, status::text, claimed_by from public.recipe_commands where id = any (${ids}::uuid[])`;
    for (const r of rows) expect({ status: r.status, claimed_by: r.claimed_by }).toEqual({ status: 'claimed', claimed_by: claimedBy.get(r.id)![0] });
    const winners = new Set([...claimedBy.values()].map((by) => by[0]));
    expect(winners.size, 'the work is spread over several controllers').toBeGreaterThan(1);
  }, 60_000);
});

describe('set_parameter_value under 20 concurrent writers', () => {
  it('lets exactly one of 20 writes with the same expected_version win; the 19 others get 40001', async () => {
    const id = fx.fParam('chamber_heater/temperature_set');
    const [before] = await admin`select version::int as v, set_value from public.component_parameters where id = ${id}`;
    const audits = async () => (await admin`select count(*)::int as n from public.parameter_changes where parameter_id = ${id}`)[0].n as number;
    const auditsBefore = await audits();

    const results = await race((c, i) =>
      c`select version::int as v, set_value from public.set_parameter_value(${id}::uuid, ${100 + i}::float8, ${before.v}::bigint)`);

    const wins = results.filter((r) => r.ok);
    expect(wins, 'one winner').toHaveLength(1);
    expect(codes(results)).toEqual(Array(CONTROLLERS - 1).fill('40001'));
    const [after] = await admin`select version::int as v, set_value from public.component_parameters where id = ${id}`;
    expect(after.v, 'the version moved by exactly one').toBe(before.v + 1);
    expect(after.set_value).toBe(first<{ set_value: number }>(wins[0]).set_value);
    expect(await audits(), 'exactly one audit row').toBe(auditsBefore + 1);
  }, 60_000);

  it('serialises 20 writes without expected_version: 20 versions, 20 audit rows that chain', async () => {
    const id = fx.fParam('chamber_heater/temp_min_limit');
    const [before] = await admin`select version::int as v from public.component_parameters where id = ${id}`;
    const [{ last }] = await admin`select coalesce(max(id), 0) as last from public.parameter_changes`;

    const results = await race((c, i) => c`select version::int as v from public.set_parameter_value(${id}::uuid, ${30 + i}::float8)`);

    expect(results.every((r) => r.ok)).toBe(true);
    const [after] = await admin`select version::int as v from public.component_parameters where id = ${id}`;
    expect(after.v).toBe(before.v + CONTROLLERS);
    const chain = await admin`select old_version::int as o, new_version::int as n from public.parameter_changes
                              where parameter_id = ${id} and id > ${last} order by id`;
    expect(chain).toHaveLength(CONTROLLERS);
    chain.forEach((c, i) => expect(c, 'each write starts from the version the previous one left').toEqual({ o: before.v + i, n: before.v + i + 1 }));
  }, 60_000);
});

describe('start_process under 20 concurrent starts of one machine', () => {
  it('creates exactly one process; the 19 other starts get 23505', async () => {
    await endRuns(admin, fx.F);
    const results = await race((c) => c`select public.start_process(${fx.F}::uuid, ${fx.recipes.fMain}::uuid) ->> 'process_id' as id`);

    const wins = results.filter((r) => r.ok);
    expect(wins).toHaveLength(1);
    expect(codes(results)).toEqual(Array(CONTROLLERS - 1).fill('23505'));
    const running = await admin`select id from public.process_executions where machine_id = ${fx.F} and status = 'running'`;
    expect(running.map((r) => r.id)).toEqual([first<{ id: string }>(wins[0]).id]);
    await endRuns(admin, fx.F);
  }, 60_000);

  it('answers 20 concurrent retries of one request_id with the same single process', async () => {
    await endRuns(admin, fx.F);
    const request = crypto.randomUUID();
    const results = await race((c) => c`select p ->> 'process_id' as id, (p ->> 'replayed')::boolean as replayed
      from public.start_process(${fx.F}::uuid, ${fx.recipes.fMain}::uuid, request_id => ${request}::uuid) p`);

    expect(results.every((r) => r.ok), JSON.stringify(results.filter((r) => !r.ok))).toBe(true);
    const replies = results.map((r) => first<{ id: string; replayed: boolean }>(r));
    expect(new Set(replies.map((r) => r.id)).size, 'one process for every retry').toBe(1);
    expect(replies.filter((r) => !r.replayed)).toHaveLength(1);
    const [{ n }] = await admin`select count(*)::int as n from public.process_executions where request_id = ${request}`;
    expect(n).toBe(1);
    await endRuns(admin, fx.F);
  }, 60_000);
});

describe('record_process_data of the same rows from 5 controllers at once', () => {
  /** Each controller sends `ticks` ticks of 137 readings (one row per parameter and tick) in its own order. */
  const send = async (ticks: number, order: (rows: [string, string][], i: number) => [string, string][]) => {
    const pid = await ensureRunning(admin, fx.F, fx.recipes.fMain);
    const params = fx.fParams.slice(0, 137);
    const t0 = Date.now() - ticks * 1000;
    const rows: [string, string][] = [];
    for (let t = 0; t < ticks; t++) for (const p of params) rows.push([p, new Date(t0 + t * 1000).toISOString()]);
    const results = await race((c, i) => {
      const mine = order(rows, i);
      return c.unsafe('select public.record_process_data($1::uuid, $2::uuid[], $3::float8[], $4::timestamptz[]) as n',
        [pid, `{${mine.map((r) => r[0]).join(',')}}`, `{${mine.map((_, k) => k).join(',')}}`, `{${mine.map((r) => r[1]).join(',')}}`]);
    }, 5);
    const stamps = `{${[...new Set(rows.map((r) => r[1]))].join(',')}}`;
    const [{ n }] = await admin`select count(*)::int as n from public.process_data_points
                                where process_id = ${pid} and ts = any (${stamps}::timestamptz[])`;
    return { results, stored: n as number, rows: rows.length };
  };

  it('stores a tick sent by 5 controllers exactly once; the inserted counts add up to one tick', async () => {
    const { results, stored, rows } = await send(1, (r) => r);
    expect(codes(results)).toEqual([]);
    const inserted = results.map((r) => Number(first<{ n: number }>(r).n));
    expect(inserted.reduce((a, b) => a + b, 0), `inserted per controller: ${inserted}`).toBe(rows);
    expect(stored).toBe(rows);
  }, 60_000);

  it('stores a 30-tick backlog sent in 5 different orders exactly once, without a deadlock', async () => {
    // Before rows were inserted in key order, overlapping calls in different orders deadlocked (40P01).
    const order = (rows: [string, string][], i: number) => {
      const rotated = [...rows.slice(i * 800), ...rows.slice(0, i * 800)];
      return i % 2 ? rotated.reverse() : rotated;
    };
    const { results, stored, rows } = await send(30, order);
    expect(codes(results), 'no call fails (40P01 is a deadlock)').toEqual([]);
    const inserted = results.map((r) => Number(first<{ n: number }>(r).n));
    expect(inserted.reduce((a, b) => a + b, 0)).toBe(rows);
    expect(stored).toBe(rows);
  }, 60_000);
});
