-- Serves claim_next_command: the oldest pending command of a machine is the first entry of this
-- index for that machine_id, in the function's own order (created_at, id), so the claim reads one
-- index entry instead of every command the machine ever had. Partial: only pending commands are
-- in it, so it stays a few pages however long the history grows. recipe_commands_machine_id_idx
-- stays: a partial index does not cover the machine_id foreign key.
create index concurrently if not exists recipe_commands_pending_idx
  on public.recipe_commands (machine_id, created_at, id)
  where status = 'pending';
