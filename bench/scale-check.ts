// Scale check: do the RPCs still read through indexes when the database is big?
//
//   npx tsx bench/scale-check.ts [--db-url URL] [--keep] [--write-docs] [--runs N] [--telemetry-ticks N]
//
// Creates a throwaway database on the server (--db-url, else DATABASE_URL, else the local
// PostgreSQL), applies the migrations and the seed with the Supabase CLI, loads 1 000 machines
// shaped like ALD Reactor A (bench/scale-data.sql: about 137 000 parameters, 100 000 000+ readings
// over several monthly partitions: 80 recorded runs, a running process, and 9 machines recording
// always-on telemetry for 24 hours), then:
//   - prints the plan of every statement inside each RPC (auto_explain, ANALYZE, BUFFERS);
//   - fails (exit 1) if any plan scans component_parameters, machine_components, readings (or a
//     partition) or reading_rollups sequentially, or if the data is smaller than promised;
//   - reports the server execution time of each RPC (median of --runs calls, default 50), the two
//     chart queries (get_readings: 10 parameters x 1 hour -> 500 points, 137 x 24 hours -> 1000)
//     with their p95.
// The report is Markdown; --write-docs also writes it, whole, to docs/scale-check.md (generated
// output apart from the reasoning in docs/indexes.md). The database is dropped at the end unless --keep.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { DEFAULT_SERVER_URL, dropDatabase, prepareDatabase, redact, repoRoot, uniqueDatabaseName } from '../src/database/database.ts';
import { type Case, type CaseResult, type Caller, callerLabel, explainCases, groupStatements, scansOf, summarize, timeQuery } from './explain.ts';

const { values } = parseArgs({
  options: {
    'db-url': { type: 'string' },
    keep: { type: 'boolean', default: false },
    'write-docs': { type: 'boolean', default: false },
    runs: { type: 'string', default: '50' },
    // smaller telemetry for a quick try of the script (the check then fails for too little data)
    'telemetry-ticks': { type: 'string', default: '86400' },
  },
});
const serverUrl = values['db-url'] ?? process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;
const runs = Number(values.runs);
// the 24-hour chart query reads 86 400 ticks: fewer runs of it
const chartRuns = Math.min(runs, 5);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive whole number, but got: ${values.runs}`);
  process.exit(2);
}

// Sizes: the seed has 2 machines, so 998 more make 1 000. 80 runs x 480 ticks plus a running
// process with 600 ticks plus 9 machines x 86 400 ticks (24 hours) = 816 600 ticks x 137
// parameters = 111 874 200 readings.
const SCALE = { machines: 998, data_processes: 80, ticks: 480, running_ticks: 600, telemetry_machines: 9, telemetry_ticks: Number(values['telemetry-ticks']) };
const TARGETS = { machines: 1000, parameters: 100_000, readings: 100_000_000 };
const BIG_TABLES = /^(component_parameters|machine_components|readings\w*|reading_rollups)$/;
const GOAL_MS = 2;
const FLEET_VIEWER = '00000000-0000-4000-8000-00000000f1ee';

const log = (line: string) => console.error(line);
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
const fmt = (n: number) => n.toLocaleString('en-US').replace(/,/g, ' ');
const ms = (n: number) => `${n.toFixed(3)} ms`;

async function load(url: string): Promise<{ loadSeconds: string; vacuumSeconds: string; rollupSeconds: string; rollupRows: number }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    let t = Date.now();
    // Partitions from five months back, so the loaded runs spread over several of them.
    await sql.unsafe(`update private.telemetry_settings set max_tick_age = interval '150 days'`);
    await sql.unsafe(`select public.maintain_readings()`);
    await sql.unsafe(`update private.telemetry_settings set max_tick_age = interval '31 days'`);
    for (const [k, v] of Object.entries(SCALE)) await sql.unsafe(`set ald_scale.${k} = ${Number(v)}`);
    await sql.unsafe(await readFile(join(repoRoot, 'bench/scale-data.sql'), 'utf8')).simple();
    const loadSeconds = seconds(t);
    t = Date.now();
    // What autovacuum would long have done to this history: statistics, visibility map, hint bits.
    await sql.unsafe('vacuum (analyze)');
    const vacuumSeconds = seconds(t);
    // The rollups pg_cron keeps current every minute (private.rollup_readings: the minutes, then
    // the coarser levels from 2 minutes to 1 day), built here for the whole history at once: the
    // first run announces the closed minutes, the second rolls them up (the last minute or two
    // stay raw, as in service).
    t = Date.now();
    await sql.unsafe(`set work_mem = '256MB'`);
    await sql.unsafe('select private.rollup_readings()');
    const [{ n }] = await sql.unsafe('select private.rollup_readings() as n');
    await sql.unsafe('reset work_mem');
    const rollupSeconds = seconds(t);
    await sql.unsafe('vacuum (analyze) public.reading_rollups');
    return { loadSeconds, vacuumSeconds, rollupSeconds, rollupRows: Number(n) };
  } finally {
    await sql.end();
  }
}

interface Fixture {
  machine: string; recipe: string; firstStep: string; operator: string; components: string[]; parameters: string[]; epochMachines: string[];
  running: string; runningMachine: string; runningOperator: string; runningParameters: string[]; setpointParameter: string;
  /** A machine with 24 hours of always-on telemetry, its viewer, and its layout's parameters. */
  telemetryMachine: string; telemetryOperator: string; telemetryParameters: string[];
}

async function fixture(sql: postgres.Sql): Promise<Fixture> {
  const [m] = await sql`
    select m.id as machine, mo.user_id as operator, r.id as recipe,
           (select s.id from public.recipe_steps s where s.recipe_id = r.id and s.parent_step_id is null
            order by s.sequence_number limit 1) as first_step,
           (select array_agg(c.id order by c.name) from public.machine_components c where c.machine_id = m.id) as components,
           (select array_agg(p.id order by p.component_id, p.name) from public.component_parameters p where p.machine_id = m.id) as parameters,
           (select array_agg(x.id order by x.name) from (select id, name from public.machines order by name limit 10) x) as epoch_machines
    from public.machines m
    join public.machine_operators mo on mo.machine_id = m.id and mo.role = 'operator'
    join public.recipes r on r.machine_id = m.id
    where m.name = 'Scale machine 0500'`;
  const [r] = await sql`
    select e.id as running, e.machine_id as running_machine, mo.user_id as running_operator,
           (select array_agg(p.id order by p.id) from public.component_parameters p where p.machine_id = e.machine_id) as running_parameters,
           (select p.id from public.component_parameters p join public.machine_components c on c.id = p.component_id
            where p.machine_id = e.machine_id and c.name = 'chamber_heater' and p.name = 'temperature_set') as setpoint_parameter
    from public.process_executions e join public.machine_operators mo on mo.machine_id = e.machine_id and mo.role = 'operator'
    where e.status = 'running'`;
  const [t] = await sql`
    select m.id as machine, mo.user_id as operator, l.parameter_ids as parameters
    from public.machines m
    join public.machine_operators mo on mo.machine_id = m.id and mo.role = 'operator'
    join public.reading_layouts l on l.machine_id = m.id and l.version = 1
    where m.name = 'Scale machine 0001'`;
  return {
    telemetryMachine: t.machine, telemetryOperator: t.operator, telemetryParameters: t.parameters,
    machine: m.machine, recipe: m.recipe, firstStep: m.first_step, operator: m.operator, components: m.components, parameters: m.parameters,
    epochMachines: m.epoch_machines, running: r.running, runningMachine: r.running_machine, runningOperator: r.running_operator,
    runningParameters: r.running_parameters, setpointParameter: r.setpoint_parameter,
  };
}

async function facts(sql: postgres.Sql) {
  const [counts] = await sql`
    select (select count(*) from public.machines)::int as machines,
           (select count(*) from public.machine_components)::int as components,
           (select count(*) from public.component_parameters)::int as parameters,
           (select count(*) from public.machine_operators)::int as operators,
           (select count(*) from public.recipes)::int as recipes,
           (select count(*) from public.recipe_steps)::int as recipe_steps,
           (select count(*) from public.process_executions)::int as executions,
           (select count(*) from public.step_executions)::int as step_executions,
           (select count(*) from public.recipe_commands)::int as commands,
           (select count(*) from public.parameter_changes)::int as parameter_changes,
           (select count(*) from public.readings)::int as ticks,
           (select sum(cardinality(vals)) from public.readings)::bigint::float8 as readings`;
  const partitions = await sql`
    select tableoid::regclass::text as partition, count(*)::int as rows
    from public.readings group by 1 order by 1`;
  const [server] = await sql`
    select current_setting('server_version') as version, current_setting('shared_buffers') as shared_buffers,
           current_setting('work_mem') as work_mem,
           pg_size_pretty((select sum(pg_total_relation_size(i.inhrelid)) from pg_inherits i
                           where i.inhparent = 'public.readings'::regclass)) as data_points_size,
           pg_size_pretty(pg_total_relation_size('public.component_parameters')) as parameters_size,
           pg_size_pretty(pg_total_relation_size('public.reading_rollups')) as rollups_size`;
  return { counts, partitions, server };
}

function callers(f: Fixture) {
  return {
    controller: { kind: 'controller' } as Caller,
    operator: { kind: 'user', userId: f.operator, label: 'operator of the machine' } as Caller,
    fleetViewer: { kind: 'user', userId: FLEET_VIEWER, label: 'viewer of all 1 000 machines' } as Caller,
    runningOperator: { kind: 'user', userId: f.runningOperator, label: 'operator of the machine' } as Caller,
    telemetryOperator: { kind: 'user', userId: f.telemetryOperator, label: 'operator of the machine' } as Caller,
  };
}

const RECORD = 'select public.record_process_data($1::uuid, $2::uuid[], $3::float8[], $4::timestamptz[])';
const RECORD_READINGS = 'select public.record_readings($1::uuid, $2::uuid[], $3::float8[], $4::timestamptz[])';
// The two chart queries of issue 12: 10 parameters x 1 hour -> 500 points, 137 x 24 hours -> 1000.
const GET_READINGS = `select count(*) from public.get_readings($1::uuid, $2::uuid[], now() - make_interval(secs => $3::int), now(), $4::int)`;
const LATEST = 'select count(*) from public.get_latest_readings($1::uuid)';
const chart10x1h = (f: Fixture) => [f.telemetryMachine, f.telemetryParameters.slice(0, 10), 3600, 500];
const chart137x24h = (f: Fixture) => [f.telemetryMachine, f.telemetryParameters, 86_400, 1000];
// record_process_data's statements on their own, for the breakdown of its time.
const HAS_ROLE = `select private.has_machine_role($1::uuid, 'operator')`;
const PARAMETER_CHECK = `select u.id from (select distinct x as id from unnest($1::uuid[]) x) u
  where not exists (select 1 from public.component_parameters p where p.id = u.id and p.machine_id = $2::uuid) limit 1`;
// the tick's one row, as private.store_ticks writes it when the parameters are the layout
const TICK_INSERT = `insert into public.readings as r (machine_id, ts, layout_version, process_id, vals)
  select e.machine_id, $4::timestamptz, 1, e.id, $3::float8[] from public.process_executions e
  where e.id = $1::uuid and cardinality($2::uuid[]) = cardinality($3::float8[])
  on conflict do nothing`;

/**
 * Arguments of one tick of the running process (every parameter), stamped `offset` + i s from now
 * (offsets are negative: a tick more than 5 minutes ahead of the server clock is refused).
 * `machine`: the running machine's id first (record_readings) instead of the process's.
 */
function tickArgs(f: Fixture, offset: number, single = false, machine = false) {
  const base = Math.floor(Date.now() / 1000) + offset;
  return (i: number) => {
    const ts = new Date((base + i) * 1000).toISOString();
    return [machine ? f.runningMachine : f.running, f.runningParameters,
      f.runningParameters.map((_, k) => Math.round((20 + k + Math.sin(i + k)) * 1000) / 1000), single ? ts : [ts]];
  };
}

function cases(f: Fixture): Case[] {
  const c = callers(f);
  const one = (title: string, caller: Caller, query: string, params: unknown[]): Case =>
    ({ title, caller, steps: [{ label: title, query, params }] });
  const machineParameters = 'select * from public.get_machine_parameters($1::uuid)';
  return [
    one('get_machine_parameters', c.controller, machineParameters, [f.machine]),
    one('get_machine_parameters', c.operator, machineParameters, [f.machine]),
    one('get_machine_parameters', c.fleetViewer, machineParameters, [f.machine]),
    one('get_component_parameters_bulk', c.controller, 'select * from public.get_component_parameters_bulk($1::uuid[])', [f.components]),
    one('get_parameters', c.controller, 'select * from public.get_parameters($1::uuid[])', [f.parameters]),
    one('get_parameter_epochs', c.operator, 'select * from public.get_parameter_epochs($1::uuid[])', [[f.machine]]),
    one('get_parameter_epochs', c.fleetViewer, 'select * from public.get_parameter_epochs($1::uuid[])', [f.epochMachines]),
    one('claim_next_command', c.operator, `select * from public.claim_next_command($1::uuid, 'scale-check')`, [f.machine]),
    // The same claim without the partial index, for comparison (the drop is rolled back).
    { ...one('claim_next_command without recipe_commands_pending_idx', c.operator,
      `select * from public.claim_next_command($1::uuid, 'scale-check')`, [f.machine]),
    setup: ['drop index public.recipe_commands_pending_idx'] },
    one('record_process_data', c.controller, RECORD, tickArgs(f, -20_000)(0)),
    one('record_process_data', c.runningOperator, RECORD, tickArgs(f, -20_000)(1)),
    one('record_readings', c.controller, RECORD_READINGS, tickArgs(f, -20_000, false, true)(2)),
    one('get_readings 10 parameters x 1 hour -> 500 points', c.controller, GET_READINGS, chart10x1h(f)),
    one('get_readings 10 parameters x 1 hour -> 500 points', c.fleetViewer, GET_READINGS, chart10x1h(f)),
    one('get_readings 137 parameters x 24 hours -> 1000 points', c.controller, GET_READINGS, chart137x24h(f)),
    one('get_latest_readings', c.telemetryOperator, LATEST, [f.telemetryMachine]),
    one('set_parameter_value', c.controller,
      'select * from public.set_parameter_value($1::uuid, 180, request_id => gen_random_uuid())', [f.setpointParameter]),
    {
      title: 'start_process, advance_step, complete_process', caller: c.controller, steps: [
        { label: 'start_process', query: `select public.start_process($1::uuid, $2::uuid) ->> 'process_id'`, params: [f.machine, f.recipe] },
        { label: 'advance_step', query: `select public.advance_step($1::uuid, $2::uuid, 0) ->> 'process_id'`, params: ['$prev', f.firstStep] },
        { label: 'complete_process', query: `select public.complete_process($1::uuid, 'aborted') ->> 'process_id'`, params: ['$prev'] },
      ],
    },
  ];
}

interface Timing {
  fn: string; caller: Caller; what: string; times: number[]; goal: boolean; part: boolean;
  /** A goal on the p95 instead of the median (the chart queries of issue 12). */
  goalP95?: number;
}

async function timings(url: string, f: Fixture): Promise<Timing[]> {
  const c = callers(f);
  type Row = { fn: string; caller: Caller; what: string; query: string; params: (i: number) => unknown[];
    rollback?: boolean; goal?: boolean; part?: boolean; setup?: string[]; runs?: number; goalP95?: number };
  const n = f.runningParameters.length;
  const rows: Row[] = [
    { fn: 'get_machine_parameters', caller: c.controller, what: `${f.parameters.length} parameters of one machine`,
      query: 'select * from public.get_machine_parameters($1::uuid)', params: () => [f.machine], goal: true },
    { fn: 'get_machine_parameters', caller: c.operator, what: 'the same, through RLS',
      query: 'select * from public.get_machine_parameters($1::uuid)', params: () => [f.machine] },
    { fn: 'get_machine_parameters', caller: c.fleetViewer, what: 'the same, RLS with 1 000 machine ids',
      query: 'select * from public.get_machine_parameters($1::uuid)', params: () => [f.machine] },
    { fn: 'get_component_parameters_bulk', caller: c.controller, what: `${f.components.length} components`,
      query: 'select * from public.get_component_parameters_bulk($1::uuid[])', params: () => [f.components] },
    { fn: 'get_parameters', caller: c.controller, what: `${f.parameters.length} ids`,
      query: 'select * from public.get_parameters($1::uuid[])', params: () => [f.parameters] },
    { fn: 'get_parameter_epochs', caller: c.operator, what: '1 machine',
      query: 'select * from public.get_parameter_epochs($1::uuid[])', params: () => [[f.machine]] },
    { fn: 'get_parameter_epochs', caller: c.fleetViewer, what: `${f.epochMachines.length} machines, RLS with 1 000 machine ids`,
      query: 'select * from public.get_parameter_epochs($1::uuid[])', params: () => [f.epochMachines] },
    { fn: 'claim_next_command', caller: c.operator, what: 'oldest of 2 pending among 100 commands (rolled back)',
      query: `select * from public.claim_next_command($1::uuid, 'scale-check')`, params: () => [f.machine], rollback: true },
    { fn: 'record_readings', caller: c.controller, what: `one tick: ${n} readings, committed`,
      query: RECORD_READINGS, params: tickArgs(f, -10_000, false, true), goal: true },
    { fn: 'record_process_data', caller: c.controller, what: `one tick: ${n} readings, committed`,
      query: RECORD, params: tickArgs(f, -10_000 + runs + 100) },
    { fn: 'record_process_data', caller: c.runningOperator, what: 'the same',
      query: RECORD, params: tickArgs(f, -10_000 + 2 * (runs + 100)) },
    { fn: 'get_readings', caller: c.controller, what: '10 parameters x 1 hour -> 500 points',
      query: GET_READINGS, params: () => chart10x1h(f), goalP95: 50 },
    { fn: 'get_readings', caller: c.fleetViewer, what: 'the same, RLS with 1 000 machine ids',
      query: GET_READINGS, params: () => chart10x1h(f) },
    { fn: 'get_readings', caller: c.controller, what: '137 parameters x 24 hours -> 1000 points',
      query: GET_READINGS, params: () => chart137x24h(f), goalP95: 150, runs: chartRuns },
    { fn: 'get_latest_readings', caller: c.telemetryOperator, what: `${f.telemetryParameters.length} parameters`,
      query: LATEST, params: () => [f.telemetryMachine] },
    { fn: 'has_machine_role', caller: c.controller, what: 'the permission check', part: true,
      query: HAS_ROLE, params: () => [f.runningMachine] },
    { fn: 'parameter check', caller: c.controller, what: `are the ${n} ids the machine's parameters?`, part: true,
      query: PARAMETER_CHECK, params: () => [f.runningParameters, f.runningMachine] },
    { fn: 'insert', caller: c.controller, what: `the tick's one row (${n} readings), committed`, part: true,
      query: TICK_INSERT, params: tickArgs(f, -10_000 + 3 * (runs + 100), true) },
    { fn: 'insert without foreign-key check', caller: c.controller, what: 'the same, session_replication_role = replica', part: true,
      query: TICK_INSERT, params: tickArgs(f, -10_000 + 4 * (runs + 100), true), setup: ['set session_replication_role = replica'] },
  ];
  const out: Timing[] = [];
  for (const r of rows) {
    log(`timing ${r.fn} as ${callerLabel(r.caller)} (${runs} runs)`);
    const times = await timeQuery(url, { caller: r.caller, query: r.query, params: r.params, runs: r.runs ?? runs, rollback: r.rollback, setup: r.setup });
    out.push({ fn: r.fn, caller: r.caller, what: r.what, goal: r.goal ?? false, part: r.part ?? false, times, goalP95: r.goalP95 });
  }
  return out;
}

function seqScanViolations(results: CaseResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    for (const step of r.steps) {
      for (const st of step.statements) {
        for (const s of scansOf(st.plan)) {
          if (s.index === null && BIG_TABLES.test(s.relation)) {
            out.push(`${step.label} (${callerLabel(r.caller)}): ${s.node} on ${s.relation} in: ${st.queryText.split('\n')[0]}`);
          }
        }
      }
    }
  }
  return out;
}

function firstLine(q: string): string {
  const line = q.replace(/\s+/g, ' ').trim();
  return line.length > 90 ? `${line.slice(0, 87)}...` : line;
}

function report(ctx: {
  started: Date; loadAverage: number[]; load: { loadSeconds: string; vacuumSeconds: string; rollupSeconds: string; rollupRows: number };
  facts: Awaited<ReturnType<typeof facts>>; results: CaseResult[]; timing: Timing[]; violations: string[];
}): string {
  const { counts, partitions, server } = ctx.facts;
  const cpu = os.cpus();
  const nproc = os.availableParallelism?.() ?? cpu.length;
  const out: string[] = [];
  const plans = ctx.results.reduce((n, r) => n + r.steps.reduce((m, s) => m + s.statements.length, 0), 0);
  out.push('### Results', '');
  out.push(`Generated by \`npx tsx bench/scale-check.ts --write-docs\` on ${ctx.started.toISOString().slice(0, 16).replace('T', ' ')} UTC.`, '');
  out.push(`- **Machine**: \`nproc\` = ${nproc} (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
    `${os.type()} ${os.release()}; load average ${ctx.loadAverage.map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min) when the timing began.`);
  out.push(`- **Server**: PostgreSQL ${server.version} on the same host, default settings (shared_buffers ${server.shared_buffers}, work_mem ${server.work_mem}).`);
  out.push(`- **Data**: ${fmt(counts.machines)} machines, ${fmt(counts.components)} components, ${fmt(counts.parameters)} parameters (${server.parameters_size}), ` +
    `${fmt(counts.operators)} operator grants, ${fmt(counts.recipes)} recipes (${fmt(counts.recipe_steps)} steps), ${fmt(counts.executions)} process executions, ${fmt(counts.step_executions)} step executions, ` +
    `${fmt(counts.commands)} commands, ${fmt(counts.parameter_changes)} parameter changes, ` +
    `**${fmt(counts.readings)} readings** in ${fmt(counts.ticks)} ticks (${server.data_points_size}) in ${partitions.length} partitions: ` +
    partitions.map((p) => `${p.partition} ${fmt(p.rows)} ticks`).join(', ') + '.');
  out.push(`- **Load**: ${ctx.load.loadSeconds} s (bench/scale-data.sql), then \`vacuum (analyze)\` ${ctx.load.vacuumSeconds} s, ` +
    `then the rollups of the whole history, per minute and the levels from 2 minutes to 1 day (two runs of \`private.rollup_readings()\`, work_mem 256MB) ${ctx.load.rollupSeconds} s: ` +
    `${fmt(ctx.load.rollupRows)} rows (${server.rollups_size}).`, '');

  const table = (rows: Timing[]) => {
    out.push('| function | caller | call | median | p95 | min | max | goal |', '|---|---|---|---:|---:|---:|---:|---|');
    for (const t of rows) {
      const s = summarize(t.times);
      const goal = t.goalP95 !== undefined
        ? (s.p95 <= t.goalP95 ? `p95 ≤ ${t.goalP95} ms: met` : `p95 ≤ ${t.goalP95} ms: **missed**`)
        : t.goal ? (s.median < GOAL_MS ? `< ${GOAL_MS} ms: met` : `< ${GOAL_MS} ms: **missed**`) : '';
      out.push(`| \`${t.fn}\` | ${callerLabel(t.caller)} | ${t.what} | ${ms(s.median)} | ${ms(s.p95)} | ${ms(s.min)} | ${ms(s.max)} | ${goal} |`);
    }
    out.push('');
  };
  out.push('#### Server execution time', '');
  out.push(`EXPLAIN (ANALYZE, TIMING OFF) Execution Time of the call: the server's work, without network, planning of the call or commit. ` +
    `${runs} calls each after 5 warm-up calls, one connection per row, caches warm.`, '');
  table(ctx.timing.filter((t) => !t.part));
  out.push("record_process_data, statement by statement (the same statements run on their own; the insert is the tick's one readings row):", '');
  table(ctx.timing.filter((t) => t.part));

  out.push('#### Scans', '');
  out.push(ctx.violations.length === 0
    ? `No sequential scan of component_parameters, machine_components, readings (or a partition) or reading_rollups in any of the ${plans} plans below.`
    : `**${ctx.violations.length} sequential scans of a big table:**\n\n${ctx.violations.map((v) => `- ${v}`).join('\n')}`, '');
  out.push('| function | caller | statement | runs | scans (index, or Seq Scan on table) |', '|---|---|---|---:|---|');
  for (const r of ctx.results) {
    for (const step of r.steps) {
      for (const g of groupStatements(step.statements)) {
        const scans = scansOf(g.first.plan);
        if (scans.length === 0) continue;
        const text = scans.map((s) => s.index ? `${s.index} (${s.node})` : `${s.node} on ${s.relation}`);
        out.push(`| \`${step.label}\` | ${callerLabel(r.caller)} | \`${firstLine(g.first.queryText).replace(/\|/g, '\\|')}\` | ${g.count} | ${[...new Set(text)].join('<br>')} |`);
      }
    }
  }
  out.push('');

  out.push('#### Plans', '', 'auto_explain (log_analyze, log_buffers, log_nested_statements) of the call after 6 unobserved calls, ' +
    'so each plpgsql statement runs the plan its cache settled on. Each call runs in a transaction that is rolled back. ' +
    'A statement run once per row (a foreign-key check) is shown once with its count. Times include the instrumentation.', '');
  for (const r of ctx.results) {
    out.push(`<details><summary>${r.title}: ${callerLabel(r.caller)}</summary>`, '', '```text');
    for (const step of r.steps) {
      for (const g of groupStatements(step.statements)) {
        const times = g.count === 1 ? `${g.totalMs.toFixed(3)} ms` : `${g.count} times, ${g.totalMs.toFixed(3)} ms in all`;
        out.push(`-- ${step.label}: ${times}`, g.first.queryText, g.first.plan, '');
      }
    }
    out.push('```', '', '</details>', '');
  }
  return out.join('\n').trimEnd();
}

/** The generated report, whole, in its own file: docs/indexes.md keeps the reasoning and links to it. */
async function writeDocs(section: string): Promise<void> {
  const path = join(repoRoot, 'docs/scale-check.md');
  const header = '<!-- Generated by `npx tsx bench/scale-check.ts --write-docs`: do not edit by hand. The reasoning is in indexes.md. -->\n'
    + '# Scale check: the output\n\n';
  await writeFile(path, `${header}${section}\n`);
  log('wrote docs/scale-check.md');
}

async function main(): Promise<number> {
  const started = new Date();
  const name = uniqueDatabaseName('ald_scale');
  log(`preparing ${name} on ${redact(serverUrl)} (platform bootstrap, supabase db push, seed)`);
  const url = await prepareDatabase(serverUrl, name, { seed: true });
  try {
    log('loading scale data (bench/scale-data.sql)');
    const loaded = await load(url);
    log(`loaded in ${loaded.loadSeconds} s, vacuum analyze ${loaded.vacuumSeconds} s, rollups ${loaded.rollupSeconds} s (${loaded.rollupRows} rows)`);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    let f: Fixture;
    let fx: Awaited<ReturnType<typeof facts>>;
    try {
      f = await fixture(sql);
      fx = await facts(sql);
    } finally {
      await sql.end();
    }
    const small = Object.entries(TARGETS).filter(([k, v]) => (fx.counts as Record<string, number>)[k] < v);
    log('explaining every RPC (auto_explain)');
    const results = await explainCases(url, cases(f));
    const violations = seqScanViolations(results);
    const loadAverage = os.loadavg();
    const timing = await timings(url, f);
    const section = report({ started, loadAverage, load: loaded, facts: fx, results, timing, violations });
    console.log(section);
    if (values['write-docs']) await writeDocs(section);
    for (const v of violations) log(`FAIL sequential scan: ${v}`);
    for (const [k, v] of small) log(`FAIL too little data: ${k} is ${(fx.counts as Record<string, number>)[k]}, the check needs ${v}`);
    return violations.length === 0 && small.length === 0 ? 0 : 1;
  } finally {
    if (values.keep) log(`kept database: ${url}`);
    else await dropDatabase(serverUrl, name);
  }
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
