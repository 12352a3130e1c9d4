-- A setpoint the PLC reports on its own (a change on the local HMI, or what it holds at startup) is
-- audited with source 'plc'. Its own migration: a new enum value may not be used in the
-- transaction that adds it.
alter type public.change_source add value if not exists 'plc';
comment on type public.change_source is 'Where a setpoint change came from, for the audit trail: operator, recipe, controller, api, system, or plc (the PLC reported a value it holds, report_plc_values).';
