-- (component_id, machine_id) existed only to cover the composite foreign key to
-- machine_components. component_parameters_machine_id_component_id_name_idx (002001) leads with
-- the same two columns and covers it now; lookups by component (get_component_parameters_bulk,
-- the component activation trigger) use the unique (component_id, name) index. No function
-- reads through this one.
drop index concurrently if exists public.component_parameters_component_id_machine_id_idx;
