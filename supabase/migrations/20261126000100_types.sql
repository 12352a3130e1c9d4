-- Types and schemas shared by every other migration.
-- The private schema holds helpers that PostgREST never exposes (it is not in [api].schemas).
--
-- Every function of ald-db, definer or not, declares `set search_path = pg_catalog, pg_temp`
-- (issue 14, finding 3). `set search_path = ''` does not keep pg_temp out: PostgreSQL searches the
-- session's temporary schema FIRST for relations and types unless the path names pg_temp, so a
-- session that may create temporary objects (TEMP is granted to PUBLIC) could define a domain
-- pg_temp.text whose check function then ran inside a SECURITY DEFINER function as its owner. The
-- PostgreSQL manual's advice ("Writing SECURITY DEFINER Functions Safely"): name pg_temp
-- explicitly and last. pg_temp is then searched after pg_catalog for relations and types, and
-- never for functions and operators. An invoker function called from a definer one runs as the
-- definer's owner too, so invoker functions get the same path. The bodies schema-qualify every
-- relation, type and function outside pg_catalog. supabase/tests/05-search-path.test.sql fails
-- for any function in public or private with another setting.

create schema if not exists private;
comment on schema private is 'ald-db internals: access helpers and trigger functions; never exposed through the API.';
revoke all on schema private from public;

create type public.machine_status as enum ('idle', 'running', 'paused', 'error', 'maintenance', 'offline');
comment on type public.machine_status is 'What a machine is doing; running while a process execution is open.';

create type public.operator_role as enum ('viewer', 'operator', 'admin');
comment on type public.operator_role is 'Ordered roles on a machine: viewer < operator < admin. Each role includes the rights of those before it.';

create type public.parameter_data_type as enum ('float', 'integer', 'binary');
comment on type public.parameter_data_type is 'How a parameter value is interpreted: any finite number, a whole number, or 0/1.';

create type public.modbus_register_type as enum ('coil', 'discrete_input', 'input_register', 'holding_register');
comment on type public.modbus_register_type is 'The Modbus table a parameter is read from or written to.';

create type public.modbus_value_type as enum ('bool', 'int16', 'uint16', 'int32', 'uint32', 'float32');
comment on type public.modbus_value_type is 'How the register content is decoded (float32/int32 span two registers).';

create type public.step_type as enum ('valve', 'purge', 'parameter', 'loop');
comment on type public.step_type is 'Kinds of recipe step; each has its own config table.';

create type public.command_type as enum ('start_recipe', 'stop_recipe', 'pause_recipe', 'resume_recipe', 'set_parameter');
comment on type public.command_type is 'What an operator asks the controller to do.';

create type public.command_status as enum ('pending', 'claimed', 'executing', 'completed', 'failed', 'cancelled');
comment on type public.command_status is 'Life cycle of a recipe command: pending until a controller claims it exactly once.';

create type public.execution_status as enum ('running', 'completed', 'failed', 'aborted');
comment on type public.execution_status is 'Life cycle of a process execution (a recipe run).';

create type public.step_execution_status as enum ('running', 'completed', 'failed', 'skipped', 'aborted');
comment on type public.step_execution_status is 'Outcome of one executed step.';

create type public.change_source as enum ('operator', 'recipe', 'controller', 'api', 'system');
comment on type public.change_source is 'Where a setpoint change came from, for the audit trail.';
