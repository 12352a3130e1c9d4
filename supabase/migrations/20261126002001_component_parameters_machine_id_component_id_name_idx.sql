-- Serves get_machine_parameters and start_process's plan (private.process_plan): both read the
-- parameters of one machine ordered by component then name, so the index scan on machine_id
-- returns them already in order (no sort) and touches only that machine's rows. The RLS
-- policies on component_parameters (machine_id = any (...)) use it too.
-- Its leading columns {machine_id, component_id} are the composite foreign key to
-- machine_components (component_id, machine_id), so it also covers that key (the cascade from a
-- deleted component), which frees the two narrower indexes dropped in 002002 and 002003.
create index concurrently if not exists component_parameters_machine_id_component_id_name_idx
  on public.component_parameters (machine_id, component_id, name);
