-- Types for running a recipe as operators drive it (issue 13), in a file of their own: a value
-- added to an enum cannot be used in the transaction that adds it.

-- A run paused between two steps by a pause_recipe command; it still holds its machine.
alter type public.execution_status add value if not exists 'paused' after 'running';
comment on type public.execution_status is 'Life cycle of a process execution (a recipe run): running, paused (between two steps, by a pause_recipe command; resumes at the next step), then completed, failed or aborted.';

create type public.controller_status as enum ('alive', 'dead', 'replaced', 'stopped');
comment on type public.controller_status is 'A registered controller: alive while it is heard from; dead once silent past its timeout (reap_dead_controllers); replaced when another controller took its machine over; stopped when it signed off.';
