-- Partitions and retention of public.readings: a plain function that any caller (the demo, a
-- deploy script, an operator) can run, scheduled daily with pg_cron where the extension can be
-- created in this database. pg_cron loads only through shared_preload_libraries and may be
-- created only in the database named by cron.database_name: elsewhere (the demo's embedded
-- PostgreSQL, test databases) the migration carries on without a schedule. Retention also deletes
-- the rollups (public.reading_rollups and the stale minutes, created right after this file in
-- 20261204400150, which needs the pg_cron extension created here) of the months it drops or detaches, so that get_readings never answers from rollups of readings that are gone.
--
-- Error codes: 22023 months_ahead outside 0..120.

create function public.maintain_readings(months_ahead integer default null)
returns setof text
language plpgsql
-- definer: creating, attaching, detaching and dropping partitions needs the table owner's rights,
-- which service_role (the only role granted execute) does not have.
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  cfg private.telemetry_settings;
  ahead integer;
  first_month date;
  lo date;
  hi date;
  part text;
  moved bigint;
  old record;
begin
  select * into cfg from private.telemetry_settings;
  ahead := coalesce(months_ahead, cfg.months_ahead, 3);
  if ahead < 0 or ahead > 120 then
    raise exception using errcode = '22023',
      message = 'months_ahead must be between 0 and 120',
      detail = format('got %s', ahead), hint = 'pass null to use private.telemetry_settings.months_ahead';
  end if;

  -- From the month of the oldest tick still accepted (a replayed backlog) to months ahead.
  first_month := date_trunc('month', now() - coalesce(cfg.max_tick_age, interval '31 days'))::date;
  lo := first_month;
  while lo < (date_trunc('month', now()) + make_interval(months => ahead + 1))::date loop
    hi := (lo + interval '1 month')::date;
    part := format('readings_y%sm%s', to_char(lo, 'YYYY'), to_char(lo, 'MM'));
    if to_regclass('public.' || part) is null
       and (cfg.retention is null or hi > now() - cfg.retention) then
      -- Ticks already in the default partition for this month must move, or the attach fails.
      lock table public.readings_default in access exclusive mode;
      execute format('create table public.%I (like public.readings including defaults including constraints)', part);
      execute format('alter table public.%I add constraint %I check (ts >= %L and ts < %L)', part, part || '_range', lo, hi);
      execute format('with moved as (delete from public.readings_default where ts >= %L and ts < %L returning *)
                      insert into public.%I select * from moved', lo, hi, part);
      get diagnostics moved = row_count;
      execute format('alter table public.readings attach partition public.%I for values from (%L) to (%L)', part, lo, hi);
      execute format('alter table public.%I drop constraint %I', part, part || '_range');
      execute format('alter table public.%I enable row level security', part);
      execute format('comment on table public.%I is %L', part, format('readings for %s (monthly partition)', to_char(lo, 'YYYY-MM')));
      execute format('revoke all on public.%I from public, anon, authenticated', part);
      execute format('grant all on public.%I to service_role', part);
      return next 'created ' || part || case when moved > 0 then format(' (moved %s ticks from default)', moved) else '' end;
    end if;
    lo := hi;
  end loop;

  -- Retention: whole monthly partitions older than the retention go (null keeps everything).
  if cfg.retention is not null then
    for old in
      select c.relname, pg_catalog.pg_get_expr(c.relpartbound, c.oid) as bound
      from pg_catalog.pg_inherits i
      join pg_catalog.pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'public.readings'::regclass and c.relname ~ '^readings_y\d{4}m\d{2}$'
        and (to_date(substr(c.relname, 11, 4) || substr(c.relname, 16, 2), 'YYYYMM') + interval '1 month')
            <= now() - cfg.retention
      order by c.relname
    loop
      execute format('alter table public.readings detach partition public.%I', old.relname);
      -- the month's rollups go with its readings (20261204400150)
      delete from public.reading_rollups x
        where x.bucket < to_date(substr(old.relname, 11, 4) || substr(old.relname, 16, 2), 'YYYYMM') + interval '1 month';
      delete from private.reading_rollup_stale x
        where x.minute < to_date(substr(old.relname, 11, 4) || substr(old.relname, 16, 2), 'YYYYMM') + interval '1 month';
      if cfg.retention_action = 'drop' then
        execute format('drop table public.%I', old.relname);
        return next 'dropped ' || old.relname;
      else
        execute format('comment on table public.%I is %L', old.relname,
          format('readings detached by retention (%s) on %s; no longer part of public.readings', old.bound, now()::date));
        return next 'detached ' || old.relname;
      end if;
    end loop;
  end if;
end;
$$;
comment on function public.maintain_readings(integer) is
  'Creates the monthly partitions of public.readings from the month of the oldest accepted tick through months_ahead months ahead (default private.telemetry_settings.months_ahead), moving ticks out of the default partition, then drops or detaches the partitions older than private.telemetry_settings.retention (null: keep everything), and with them their months of public.reading_rollups. Idempotent; returns what it did. Scheduled daily by pg_cron where available; runs without it. Security definer; executable by service_role only. Errors: 22023.';
revoke execute on function public.maintain_readings(integer) from public, anon, authenticated;
grant execute on function public.maintain_readings(integer) to service_role;

select public.maintain_readings();

-- The schedule, where pg_cron can be had. Nothing here may fail the migration.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron')
     and exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    begin
      create extension pg_cron;
    exception when others then
      raise notice 'pg_cron not available in database % (%): public.maintain_readings is not scheduled; run it daily yourself',
        current_database(), sqlerrm;
    end;
  end if;
  if exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') then
    begin
      perform cron.schedule('ald-db-maintain-readings', '17 3 * * *', 'select public.maintain_readings()');
    exception when others then
      raise notice 'pg_cron could not schedule public.maintain_readings (%): run it daily yourself', sqlerrm;
    end;
  end if;
end $$;
