-- (machine_id) is a prefix of component_parameters_machine_id_component_id_name_idx (002001),
-- which serves every query that used it (get_machine_parameters, private.process_plan, the RLS
-- policies) and returns the rows in the order those functions ask for. One index less to
-- maintain on every parameter insert and non-HOT update.
drop index concurrently if exists public.component_parameters_machine_id_idx;
