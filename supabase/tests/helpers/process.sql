-- Shared by the process pgTAP files (\ir helpers/process.sql after helpers/identities.sql): the
-- executed sequence of the seed recipe, the run under test (readable whatever the current
-- identity), and a loop that advances a run through part of its sequence.
-- The executed sequence of a recipe, loops unrolled: the order in which the controller calls
-- advance_step. A loop step runs once, then its children once per iteration.
create function pg_temp.sequence(recipe uuid default '00000000-0000-4000-8000-000000003001')
returns table (step_index integer, step_id uuid, loop_iteration integer)
language sql stable security definer set search_path = '' as $$
  with recursive walk (step_id, path, loop_iteration) as (
    select s.id, array[s.sequence_number], null::integer
    from public.recipe_steps s
    where s.recipe_id = sequence.recipe and s.parent_step_id is null
    union all
    select c.id, w.path || array[i.n, c.sequence_number], i.n
    from walk w
    join public.loop_step_configs l on l.step_id = w.step_id
    cross join lateral generate_series(1, l.iteration_count) i (n)
    join public.recipe_steps c on c.parent_step_id = w.step_id
  )
  select (row_number() over (order by path) - 1)::integer, step_id, loop_iteration from walk order by path
$$;
-- The run under test.
create temp table run (id uuid, plan jsonb);
create function pg_temp.run_id() returns uuid language sql stable security definer as $$ select id from pg_temp.run $$;
-- One advance_step call per step of the sequence from step_index first to last, as the caller.
create function pg_temp.advance_through(process uuid, first integer, last integer) returns integer language plpgsql as $$
declare
  s record;
  calls integer := 0;
begin
  for s in select * from pg_temp.sequence() q where q.step_index between first and last order by q.step_index loop
    perform public.advance_step(process, s.step_id, s.step_index, s.loop_iteration);
    calls := calls + 1;
  end loop;
  return calls;
end $$;
grant select, insert, update, delete on run to public;
