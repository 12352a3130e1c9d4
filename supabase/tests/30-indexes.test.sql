-- The indexes the RPCs read through exist with the columns they need, and no index in public
-- duplicates another. docs/indexes.md says which function uses which index and shows the plans
-- (bench/scale-check.ts proves them at 1 000 machines and 5 000 000 data points). The last part
-- plants a redundant index and the design guide's (id) include (...) index inside this rolled-back
-- transaction, to show that the checks would catch them.
begin;
select plan(33);

-- Indexes the functions read through ---------------------------------------------------------------
select has_index('public', 'component_parameters', 'component_parameters_machine_id_component_id_name_idx',
  array['machine_id', 'component_id', 'name'],
  'get_machine_parameters reads one machine''s parameters in (component_id, name) order from one index');
select has_index('public', 'component_parameters', 'component_parameters_component_id_name_key',
  array['component_id', 'name'],
  'get_component_parameters_bulk reads the parameters of given components in order from the unique (component_id, name) index');
select has_index('public', 'component_parameters', 'component_parameters_pkey', array['id'],
  'get_parameters, set_parameter_value and record_process_data''s parameter check find parameters by id through the primary key');
select has_index('public', 'machines', 'machines_pkey', array['id'],
  'get_machine_parameters, claim_next_command and start_process find the machine by its primary key');
select has_index('public', 'machine_parameter_epochs', 'machine_parameter_epochs_pkey', array['machine_id'],
  'get_parameter_epochs and the epoch trigger find a machine''s epoch by its primary key');
select has_index('public', 'machine_operators', 'machine_operators_pkey', array['machine_id', 'user_id'],
  'has_machine_role finds the caller''s grant on a machine by the (machine_id, user_id) primary key');
select has_index('public', 'machine_operators', 'machine_operators_user_id_idx', array['user_id'],
  'machine_ids_with_role (every RLS policy) finds the caller''s machines by user_id');
select has_index('public', 'recipe_commands', 'recipe_commands_pending_idx', array['machine_id', 'created_at', 'id'],
  'claim_next_command finds a machine''s oldest pending command in (created_at, id) order');
select is((select pg_catalog.pg_get_expr(i.indpred, i.indrelid) from pg_catalog.pg_index i
           where i.indexrelid = 'public.recipe_commands_pending_idx'::regclass),
  '(status = ''pending''::command_status)',
  'recipe_commands_pending_idx holds pending commands only, so it stays small however long the history grows');
select has_index('public', 'recipe_commands', 'recipe_commands_pkey', array['id'],
  'claim_next_command, start_process and complete_process update a command by its primary key');
select has_index('public', 'process_executions', 'process_executions_pkey', array['id'],
  'record_process_data, advance_step, complete_process and the data points'' foreign key find an execution by its primary key');
select has_index('public', 'process_executions', 'process_executions_one_open_per_machine', array['machine_id'],
  'start_process finds a machine''s open (running or paused) execution through the partial unique index');
select has_index('public', 'process_executions', 'process_executions_request_id_key', array['request_id'],
  'start_process finds a replayed start by request_id');
select has_index('public', 'process_execution_state', 'process_execution_state_pkey', array['process_id'],
  'advance_step, complete_process and the plan and summary replies find the progress row by process_id');
select has_index('public', 'step_executions', 'step_executions_process_id_step_index_key', array['process_id', 'step_index'],
  'advance_step finds a replayed step and complete_process the open step by process_id');
select has_index('public', 'step_executions', 'step_executions_pkey', array['id'],
  'advance_step closes the open step by its primary key');
select has_index('public', 'parameter_changes', 'parameter_changes_request_id_key', array['request_id'],
  'set_parameter_value finds a replayed write by request_id');
select has_index('public', 'recipe_steps', 'recipe_steps_recipe_id_parent_step_id_sequence_number_key',
  array['recipe_id', 'parent_step_id', 'sequence_number'],
  'start_process reads a recipe''s steps by recipe_id');
select has_index('public', 'recipe_steps', 'recipe_steps_pkey', array['id'],
  'advance_step finds the step to open by its primary key');
select has_index('public', 'readings', 'readings_pkey', array['machine_id', 'ts'],
  'record_readings inserts idempotently against the (machine_id, ts) primary key, which also serves get_readings');

-- Indexes that are gone, and why ----------------------------------------------------------------------
select hasnt_index('public', 'component_parameters', 'component_parameters_machine_id_idx',
  'component_parameters has no (machine_id) index: it was a prefix of (machine_id, component_id, name)');
select hasnt_index('public', 'component_parameters', 'component_parameters_component_id_machine_id_idx',
  'component_parameters has no (component_id, machine_id) index: (machine_id, component_id, name) covers the foreign key');
select is((select array_agg(c.relname::text order by c.relname) from pg_catalog.pg_index i
           join pg_catalog.pg_class c on c.oid = i.indexrelid
           where i.indrelid = 'public.readings'::regclass),
  array['readings_machine_id_layout_version_idx', 'readings_pkey', 'readings_process_id_idx', 'readings_ts_brin_idx'],
  'readings carries its key, the indexes of its foreign keys, and a BRIN on ts for the rollup job only: every further index would be paid by every recorded tick');
select is((select am.amname::text from pg_catalog.pg_class c join pg_catalog.pg_am am on am.oid = c.relam
           where c.oid = 'public.readings_ts_brin_idx'::regclass),
  'brin', 'the rollup job''s index on readings (ts) is a BRIN: a few pages per partition, no b-tree entry per tick');

-- The checks, as views so that they can be asked again after planting an index -------------------------

-- Indexes of public tables that another index of the same table makes unnecessary: same access
-- method, same predicate, no expressions, its key columns (with their operator classes,
-- collations and sort options) are the leading key columns of the other. INCLUDE columns do not
-- rescue an index (the rule of `ald-db doctor`, src/doctor/redundant-indexes.ts): fold them into
-- the index that stays. A unique index is listed only when the other is an identical unique index
-- (it enforces something otherwise); of two identical indexes, the later one is listed.
create temp view redundant_indexes as
with ix as (
  select i.indexrelid, i.indrelid, i.indnkeyatts as nkey, i.indisunique as is_unique,
         i.indnullsnotdistinct as nulls_not_distinct, c.relam,
         string_to_array(i.indkey::text, ' ')::int[] as cols,
         string_to_array(i.indclass::text, ' ')::oid[] as opclasses,
         string_to_array(i.indcollation::text, ' ')::oid[] as collations,
         string_to_array(i.indoption::text, ' ')::int[] as options,
         coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), '') as predicate,
         i.indexprs is not null as has_expressions
  from pg_catalog.pg_index i
  join pg_catalog.pg_class c on c.oid = i.indexrelid
  join pg_catalog.pg_class t on t.oid = i.indrelid
  join pg_catalog.pg_namespace n on n.oid = t.relnamespace
  where n.nspname = 'public'
)
select a.indexrelid::regclass::text as index_name, b.indexrelid::regclass::text as made_redundant_by
from ix a
join ix b on b.indrelid = a.indrelid and b.indexrelid <> a.indexrelid
where a.relam = b.relam
  and not a.has_expressions and not b.has_expressions
  and a.predicate = b.predicate
  and a.nkey <= b.nkey
  and a.cols[1:a.nkey] = b.cols[1:a.nkey]
  and a.opclasses[1:a.nkey] = b.opclasses[1:a.nkey]
  and a.collations[1:a.nkey] = b.collations[1:a.nkey]
  and a.options[1:a.nkey] = b.options[1:a.nkey]
  and (not a.is_unique
       or (b.is_unique and a.nkey = b.nkey and a.nulls_not_distinct = b.nulls_not_distinct))
  and not (a.nkey = b.nkey and a.cols = b.cols and a.is_unique = b.is_unique and a.indexrelid < b.indexrelid);

-- The design guide's index: component_parameters (id) with included columns, beside the primary key.
create temp view parameter_id_indexes_besides_primary_key as
select i.indexrelid::regclass::text as index_name
from pg_catalog.pg_index i
where i.indrelid = 'public.component_parameters'::regclass
  and not i.indisprimary
  and i.indnkeyatts = 1
  and i.indkey[0] = (select a.attnum from pg_catalog.pg_attribute a
                     where a.attrelid = 'public.component_parameters'::regclass and a.attname = 'id');

select is_empty('select * from redundant_indexes',
  'no index in public duplicates another or is a prefix of another with the same predicate');
select is_empty('select * from parameter_id_indexes_besides_primary_key',
  'component_parameters has no (id) include (...) index beside its primary key: the functions need the whole row, so an index-only scan saves nothing');
select is_empty($$select i.indexrelid::regclass::text from pg_catalog.pg_index i
                  join pg_catalog.pg_class t on t.oid = i.indrelid
                  join pg_catalog.pg_namespace n on n.oid = t.relnamespace
                  where n.nspname = 'public' and not (i.indisvalid and i.indisready)$$,
  'every index in public is valid (no create index concurrently was left half-built)');
select is_empty($$select c.conrelid::regclass::text from pg_catalog.pg_constraint c
                  where c.contype = 'f' and c.conrelid = 'public.component_parameters'::regclass
                    and not exists (
                      select 1 from pg_catalog.pg_index i
                      where i.indrelid = c.conrelid and i.indisvalid and i.indpred is null
                        and (select array_agg(k order by k) from unnest((string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)]) k)
                            = (select array_agg(k order by k) from unnest(c.conkey) k))$$,
  'the composite foreign key of component_parameters is still covered: (machine_id, component_id, name) leads with its columns');

-- Each check fails when an index is planted ------------------------------------------------------------
create index planted_component_id_idx on public.component_parameters (component_id);
select results_eq('select index_name, made_redundant_by from redundant_indexes',
  $$values ('planted_component_id_idx', 'component_parameters_component_id_name_key')$$,
  'the redundancy check lists an index whose columns lead another index');

create index planted_copy_idx on public.component_parameters (machine_id, component_id, name);
select results_eq('select index_name, made_redundant_by from redundant_indexes order by 1',
  $$values ('planted_component_id_idx', 'component_parameters_component_id_name_key'),
           ('planted_copy_idx', 'component_parameters_machine_id_component_id_name_idx')$$,
  'the redundancy check lists the second of two identical indexes, once');

drop index planted_component_id_idx, planted_copy_idx;
create index planted_claimed_idx on public.recipe_commands (machine_id) where status = 'claimed';
select is_empty('select * from redundant_indexes',
  'the redundancy check does not list an index whose predicate differs from the longer index''s');

create index planted_guide_idx on public.component_parameters (id) include (set_value, min_value, max_value);
select results_eq('select * from parameter_id_indexes_besides_primary_key',
  $$values ('planted_guide_idx')$$,
  'the check on the design guide''s index lists an (id) include (...) index on component_parameters');
select results_eq('select index_name, made_redundant_by from redundant_indexes order by 2',
  $$values ('planted_guide_idx', 'component_parameters_id_machine_id_key'), ('planted_guide_idx', 'component_parameters_pkey')$$,
  'the redundancy check lists it too: included columns do not make a copy of the primary key worth keeping');

select * from finish();
rollback;
