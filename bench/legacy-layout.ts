// The previous readings layout, one row per (process, parameter, ts) with its 3-column primary key
// (the first table public.process_data_points, replaced by public.readings, 20261204400000), rebuilt in
// the schema bench_old: the old controller's direct inserts go there, as they went into its own
// table, so the benchmark keeps measuring the old access pattern on the old layout.
import type { Sql } from 'postgres';

export const LEGACY_TABLE = 'bench_old.process_data_points';

/** Creates bench_old.process_data_points with partitions for last, this and next month (idempotent). */
export async function createLegacyLayout(sql: Sql): Promise<void> {
  await sql.unsafe(`
    create schema if not exists bench_old;
    create table if not exists bench_old.process_data_points (
      process_id uuid not null,
      parameter_id uuid not null,
      ts timestamptz not null,
      value double precision check (value not in ('NaN', 'Infinity', '-Infinity')),
      set_point double precision check (set_point not in ('NaN', 'Infinity', '-Infinity')),
      primary key (process_id, parameter_id, ts)
    ) partition by range (ts);
    create table if not exists bench_old.process_data_points_default partition of bench_old.process_data_points default;
    do $$
    declare
      lo date;
    begin
      for i in -1 .. 1 loop
        lo := (date_trunc('month', now()) + make_interval(months => i))::date;
        if to_regclass('bench_old.process_data_points_' || to_char(lo, 'YYYYMM')) is null then
          execute format('create table bench_old.%I partition of bench_old.process_data_points for values from (%L) to (%L)',
            'process_data_points_' || to_char(lo, 'YYYYMM'), lo, (lo + interval '1 month')::date);
        end if;
      end loop;
    end $$;`).simple();
}
