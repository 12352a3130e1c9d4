-- Rollups (20261204400150; get_readings 20261204400500): private.rollup_readings rolls up
-- the closed minutes, then the closed buckets of the coarser levels (2 minutes .. 1 day); get_readings
-- reads the level of its bucket width for the whole buckets of a window (grouping the buckets of
-- more than one row, and widths over a day from the 1-day level), the minutes for the cut ones
-- and the raw readings for the rest, and answers exactly what a plain SQL aggregate over the
-- narrow view answers: whole-minute windows, windows that cut a bucket and a minute at both
-- ends, a run's ticks only, parameters of two layout versions, nulls; a late tick into a rolled-up minute (stale until the next run);
-- retention takes the rollups with the readings.
--   reactor A 00000000-0000-4000-8000-000000000001; viewer ...101
begin;
select plan(32);
\ir helpers/identities.sql

-- Ten minutes of ticks, one a second, from a whole hour three hours ago: temperature (t) a saw
-- tooth, pressure (p) null every 7th tick, and from minute 5 valve_1 (v) too (a new layout
-- version). Values are multiples of 0.25, so that sums are exact in any order and the means
-- compare equal, not nearly.
create temp table ids as select
  '00000000-0000-4000-8000-000000000001'::uuid as a,
  pg_temp.param('chamber_heater', 'temperature_read') as t,
  pg_temp.param('chamber_pressure_gauge', 'pressure_read') as p,
  pg_temp.param('valve_1', 'state') as v,
  date_trunc('hour', now()) - interval '3 hours' as t0,
  '00000000-0000-4000-8000-00000000f701'::uuid as run;
create function pg_temp.ids() returns ids language sql stable security definer as $$ select * from pg_temp.ids $$;
update public.process_executions set status = 'aborted', ended_at = greatest(now(), started_at) where status = 'running';
update public.machines set status = 'idle', current_process_id = null;
-- a run from 2:10 to 4:10 into the ten minutes: its first and last minute are shared with no run
insert into public.process_executions (id, machine_id, recipe_snapshot, status, started_at, ended_at)
values ((pg_temp.ids()).run, (pg_temp.ids()).a, '{}', 'completed',
        (pg_temp.ids()).t0 + interval '130 seconds', (pg_temp.ids()).t0 + interval '250 seconds');

-- The plain aggregate: buckets of `width` seconds aligned to the epoch over the view.
create function pg_temp.expected(params uuid[], lo timestamptz, hi timestamptz, width double precision, run uuid default null)
returns table (parameter_id uuid, ts timestamptz, min_value double precision, max_value double precision,
               mean_value double precision, samples integer)
language sql stable as $$
  select d.parameter_id, greatest(to_timestamp(floor(date_part('epoch', d.ts) / width) * width), lo),
         min(d.value), max(d.value), sum(d.value) / count(d.value), count(d.value)::integer
  from public.process_data_points d
  where d.machine_id = (pg_temp.ids()).a and d.parameter_id = any (params) and d.value is not null
    and d.ts >= lo and d.ts < hi and (run is null or d.process_id = run)
  group by d.parameter_id, floor(date_part('epoch', d.ts) / width)
  order by array_position(params, d.parameter_id), floor(date_part('epoch', d.ts) / width)
$$;

select pg_temp.login_as_service();
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).p],
    (select array_agg(x order by g, k) from generate_series(0, 299) g,
       lateral (values (1, (g % 37) * 0.25), (2, case when g % 7 = 0 then null else 100 + (g % 11) * 0.5 end)) v(k, x)),
    (select array_agg((pg_temp.ids()).t0 + make_interval(secs => g) order by g) from generate_series(0, 299) g)),
  300, 'five minutes of ticks of two parameters are recorded');
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).p, (pg_temp.ids()).v, (pg_temp.ids()).t],
    (select array_agg(x order by g, k) from generate_series(300, 599) g,
       lateral (values (1, case when g % 7 = 0 then null else 100 + (g % 11) * 0.5 end), (2, (g % 2)::float8), (3, (g % 37) * 0.25)) v(k, x)),
    (select array_agg((pg_temp.ids()).t0 + make_interval(secs => g) order by g) from generate_series(300, 599) g)),
  300, 'five more with a third parameter, in another order (a new layout version)');
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
    (select array_agg((g % 13) * 0.5 order by g) from generate_series(0, 179) g),
    (select array_agg(date_trunc('day', now()) - interval '10 days' + interval '1 hour' + make_interval(secs => g) order by g) from generate_series(0, 179) g)),
  180, 'and three minutes of one parameter ten days ago');
select pg_temp.logout();

select is(private.rollup_readings(), 0, 'the first run of the rollup job only announces the minutes closed so far');
select cmp_ok(private.rollup_readings(), '>=', 10, 'the second rolls them up');
select is(
  (select count(distinct bucket)::integer from public.reading_rollups
   where machine_id = (pg_temp.ids()).a and bucket >= (pg_temp.ids()).t0 and bucket < (pg_temp.ids()).t0 + interval '10 minutes'),
  10, 'each of the ten minutes has rollups');
select is(
  (select count(*)::integer from public.reading_rollups
   where machine_id = (pg_temp.ids()).a and width = 60 and bucket = (pg_temp.ids()).t0 + interval '2 minutes'),
  2, 'the minute the run starts in has a row outside the run and a row of the run');
select is(
  (select sum(ticks)::integer from public.reading_rollups
   where machine_id = (pg_temp.ids()).a and width = 60 and bucket >= (pg_temp.ids()).t0 and bucket < (pg_temp.ids()).t0 + interval '10 minutes'),
  600, 'the rollups count every tick once');
select is(
  (select array_agg(distinct s.n) from (select sum(ticks)::integer as n from public.reading_rollups
     where machine_id = (pg_temp.ids()).a and width <= 3600 and bucket >= (pg_temp.ids()).t0 and bucket < (pg_temp.ids()).t0 + interval '1 hour'
     group by width) s)
  || array[(select count(distinct width)::integer from public.reading_rollups
            where machine_id = (pg_temp.ids()).a and bucket >= (pg_temp.ids()).t0 and bucket < (pg_temp.ids()).t0 + interval '1 hour' and width <= 3600)],
  array[600, 7], 'the coarser levels (2, 5, 10, 15, 30 minutes, 1 hour) hold the closed buckets, every tick once in each');
select is(
  (select count(*)::integer from public.reading_rollups
   where machine_id = (pg_temp.ids()).a and width = 120 and bucket = (pg_temp.ids()).t0 + interval '2 minutes'),
  2, 'a level bucket a run starts in has a row outside the run and a row of the run, like its minutes');
select is(
  (select count(*)::integer from public.reading_rollups
   where machine_id = (pg_temp.ids()).a and width = 86400 and bucket > now() - interval '1 day'),
  0, 'a bucket that has not closed (today) has no level row');
select is(private.rollup_readings(), 0, 'a third run in the same minute finds nothing new');

select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                       (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 10) $$,
  $$ select * from pg_temp.expected(array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                    (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 60) $$,
  'whole minutes: one-minute buckets equal the plain aggregate (a viewer, through RLS)');
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).v, (pg_temp.ids()).t, (pg_temp.ids()).p],
                                       (pg_temp.ids()).t0 + interval '30 seconds', (pg_temp.ids()).t0 + interval '550 seconds', 5) $$,
  $$ select * from pg_temp.expected(array[(pg_temp.ids()).v, (pg_temp.ids()).t, (pg_temp.ids()).p],
                                    (pg_temp.ids()).t0 + interval '30 seconds', (pg_temp.ids()).t0 + interval '550 seconds', 120) $$,
  'a window that cuts its first and last bucket (and minute): two-minute buckets equal the plain aggregate, across two layout versions');
select is(
  (select count(*)::integer from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
                                                     (pg_temp.ids()).t0 + interval '30 seconds', (pg_temp.ids()).t0 + interval '550 seconds', 5)),
  5, 'five points for max_points 5');
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                       (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 4, (pg_temp.ids()).run) $$,
  $$ select * from pg_temp.expected(array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                    (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 300, (pg_temp.ids()).run) $$,
  'one run only: the run''s ticks of the minutes it shares with no run, equal to the plain aggregate');
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
                                       (pg_temp.ids()).t0 + interval '30 seconds', (pg_temp.ids()).t0 + interval '9 minutes', 1) $$,
  $$ select * from pg_temp.expected(array[(pg_temp.ids()).t],
                                    (pg_temp.ids()).t0 + interval '30 seconds', (pg_temp.ids()).t0 + interval '9 minutes', 600) $$,
  'one point: a ten-minute bucket cut by the window on both sides');
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).p, (pg_temp.ids()).v, (pg_temp.ids()).t],
                                       (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 5) $$,
  $$ select * from pg_temp.expected(array[(pg_temp.ids()).p, (pg_temp.ids()).v, (pg_temp.ids()).t],
                                    (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 120) $$,
  'whole two-minute buckets from the 2-minute level, two of them holding a run''s start or end (two rows each): equal to the plain aggregate');
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                       (pg_temp.ids()).t0 - interval '1 hour', (pg_temp.ids()).t0 + interval '2 hours', 3) $$,
  $$ select * from pg_temp.expected(array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                    (pg_temp.ids()).t0 - interval '1 hour', (pg_temp.ids()).t0 + interval '2 hours', 3600) $$,
  'hour buckets from the 1-hour level: equal to the plain aggregate');
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
                                       date_bin('8 days', now() - interval '30 days', 'epoch'), date_bin('8 days', now() - interval '30 days', 'epoch') + interval '24 days', 3) $$,
  $$ select * from pg_temp.expected(array[(pg_temp.ids()).t],
                                    date_bin('8 days', now() - interval '30 days', 'epoch'), date_bin('8 days', now() - interval '30 days', 'epoch') + interval '24 days', 691200) $$,
  'eight-day buckets, grouped from the 1-day level rows: equal to the plain aggregate');
select pg_temp.logout();
update public.reading_rollups set maxs = array_fill(1000::float8, array[cardinality(maxs)])
  where machine_id = (pg_temp.ids()).a and width = 300 and bucket = (pg_temp.ids()).t0 + interval '5 minutes';
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select is(
  (select array_agg(max_value order by ts) from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
                                                                   (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 2)),
  array[(select max(value) from public.process_data_points where machine_id = (pg_temp.ids()).a and parameter_id = (pg_temp.ids()).t
           and ts >= (pg_temp.ids()).t0 and ts < (pg_temp.ids()).t0 + interval '5 minutes'), 1000::float8],
  'a whole 5-minute bucket of one row is that level row, read as it is (one changed behind its back shows)');
select pg_temp.logout();
select private.rollup_level(300, 60, null, null, array[(pg_temp.ids()).a], array[(pg_temp.ids()).t0 + interval '5 minutes']);
select pg_temp.login_as('00000000-0000-4000-8000-000000000101');
select is(
  (select sum(samples)::integer from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).p],
                                                         (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 3)),
  600 - 86, 'null readings are not counted (86 of the 600 pressure ticks are null)');
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
                                       (pg_temp.ids()).t0 + interval '61 seconds', (pg_temp.ids()).t0 + interval '65 seconds', 10) $$,
  $$ select parameter_id, ts, value, value, value, 1 from public.process_data_points
     where machine_id = (pg_temp.ids()).a and parameter_id = (pg_temp.ids()).t
       and ts >= (pg_temp.ids()).t0 + interval '61 seconds' and ts < (pg_temp.ids()).t0 + interval '65 seconds' order by ts $$,
  'a window of fewer ticks than max_points still gives the raw points');

-- The rollups are what get_readings reads: a minute changed behind its back shows.
select pg_temp.logout();
update public.reading_rollups set maxs = array_fill(1000::float8, array[cardinality(maxs)])
  where machine_id = (pg_temp.ids()).a and bucket = (pg_temp.ids()).t0 + interval '4 minutes';
select is(
  (select max_value from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
                                             (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 10)
   where ts = (pg_temp.ids()).t0 + interval '4 minutes'),
  1000::float8, 'a whole minute''s max comes from its rollup row, not from the readings');
-- put it right: mark the minute stale and let the job rebuild it
insert into private.reading_rollup_stale (machine_id, minute) values ((pg_temp.ids()).a, (pg_temp.ids()).t0 + interval '4 minutes');
select is(
  (select max_value from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t],
                                             (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 10)
   where ts = (pg_temp.ids()).t0 + interval '4 minutes'),
  (select max(value) from public.process_data_points where machine_id = (pg_temp.ids()).a and parameter_id = (pg_temp.ids()).t
     and ts >= (pg_temp.ids()).t0 + interval '4 minutes' and ts < (pg_temp.ids()).t0 + interval '5 minutes'),
  'a stale minute is read raw');
select cmp_ok(private.rollup_readings(), '>=', 1, 'the job rebuilds the stale minute');

-- A late tick into a rolled-up minute: stale at once, right before and after the next run.
select pg_temp.login_as_service();
select is(
  public.record_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t], array[999.75],
                         array[(pg_temp.ids()).t0 + interval '6 minutes 20.5 seconds']),
  1, 'a late tick between two ticks of a rolled-up minute is recorded');
select pg_temp.logout();
select is(
  (select count(*)::integer from private.reading_rollup_stale
   where machine_id = (pg_temp.ids()).a and minute = (pg_temp.ids()).t0 + interval '6 minutes'),
  1, 'and marks its minute stale in the same statement');
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                       (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 10) $$,
  $$ select * from pg_temp.expected(array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                    (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 60) $$,
  'before the next run the answer already holds the late tick (its minute read raw)');
select private.rollup_readings();
select results_eq(
  $$ select * from public.get_readings((pg_temp.ids()).a, array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                       (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 10) $$,
  $$ select * from pg_temp.expected(array[(pg_temp.ids()).t, (pg_temp.ids()).p],
                                    (pg_temp.ids()).t0, (pg_temp.ids()).t0 + interval '10 minutes', 60) $$,
  'and after it, from the rebuilt rollup, no longer stale');

-- Retention takes a month's rollups with its partition.
update private.telemetry_settings set retention = interval '1 day';
insert into public.reading_rollups (machine_id, bucket, layout_version, ticks, mins, maxs, sums, counts)
  select (pg_temp.ids()).a, date_trunc('month', now()) - interval '2 months', 1, 1, '{1}', '{1}', '{1}', '{1}';
select pg_temp.login_as_service();
select lives_ok($$ select public.maintain_readings() $$, 'maintain_readings applies a retention of one day');
select pg_temp.logout();
select is(
  (select count(*)::integer from public.reading_rollups
   where machine_id = (pg_temp.ids()).a and bucket < date_trunc('month', now() - interval '31 days')),
  0, 'the rollups of the dropped months are gone with them');

select * from finish();
rollback;
