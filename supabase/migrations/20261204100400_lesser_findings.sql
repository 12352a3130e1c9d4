-- Issue 14, finding 6 (lesser findings) that the schema itself can close with constraints: size
-- limits and the sign of a binary setpoint. private.is_service()'s rule for sessions without JWT
-- claims is in 20261126000700_access.sql; the other findings are fixed in the Edge Functions or
-- documented as accepted in docs/security.md.

-- Size limits: an operator could store 200 MB in a command's parameters or a step's details.
-- Generous for what the controller writes (a few hundred bytes), small enough that nobody fills the
-- disk through them. A larger value is refused with 23514 and changes nothing.
alter table public.recipe_commands
  add constraint recipe_commands_parameters_size check (pg_column_size(parameters) <= 65536),
  add constraint recipe_commands_error_message_length check (length(error_message) <= 10000),
  add constraint recipe_commands_claimed_by_length check (length(claimed_by) <= 200);
alter table public.step_executions
  add constraint step_executions_details_size check (pg_column_size(details) <= 65536),
  add constraint step_executions_error_message_length check (length(error_message) <= 10000);
alter table public.process_executions
  add constraint process_executions_error_message_length check (length(error_message) <= 10000);

-- A binary setpoint is 0 or 1, not -0 (equal to 0 for float8, but stored, returned and cached with
-- its sign). A float or integer setpoint may be -0: that is a number the operator wrote.
alter table public.component_parameters
  add constraint component_parameters_binary_not_negative_zero check (
    data_type <> 'binary' or set_value is null or set_value::text <> '-0');
