// db.watchMachine / db.watchRun: what a UI follows, over supabase-js Realtime postgres_changes.
// The tables are in the supabase_realtime publication (20261204301300_realtime.sql); Realtime
// filters every change through the table's SELECT policy, so a viewer receives exactly the rows of
// the machines they may see. Channels:
//   ald:machine:<machine_id>  machines (id), controllers, recipe_commands, process_executions (machine_id)
//   ald:run:<process_id>      process_execution_state (process_id): the live progress of one run
// Each handler receives { table, eventType: 'INSERT' | 'UPDATE' | 'DELETE', new, old } as
// supabase-js delivers it (new: the row after the change; old: its primary key, or the whole row
// with replica identity full).
import type { SupabaseClient } from '@supabase/supabase-js';
import { invalidArgument } from './errors.ts';
import type { Command, Controller } from './types.ts';
import { requireUuid } from './validate.ts';

export interface Change<T> {
  table: string;
  eventType: 'INSERT' | 'UPDATE' | 'DELETE';
  new: T | Record<string, never>;
  old: Partial<T>;
}

type Handler<T> = (change: Change<T>) => void;

export interface MachineHandlers {
  machine?: Handler<Record<string, unknown>>;
  controllers?: Handler<Controller>;
  commands?: Handler<Command>;
  processes?: Handler<Record<string, unknown>>;
}

export interface Watch {
  readonly channel: string;
  unsubscribe(): Promise<void>;
}

/** The channel names, exported so that UIs and tests agree on them. */
export const machineChannel = (machineId: string) => `ald:machine:${machineId}`;
export const runChannel = (processId: string) => `ald:run:${processId}`;

type Subscription = { table: string; filter: string; handler: Handler<never> };

function subscribe(supabase: SupabaseClient, name: string, subs: Subscription[]): Watch {
  let channel = supabase.channel(name);
  for (const s of subs) {
    channel = channel.on(
      'postgres_changes' as never,
      { event: '*', schema: 'public', table: s.table, filter: s.filter } as never,
      ((payload: { table: string; eventType: Change<never>['eventType']; new: never; old: never }) =>
        s.handler({ table: payload.table, eventType: payload.eventType, new: payload.new, old: payload.old })) as never,
    );
  }
  channel.subscribe();
  return { channel: name, unsubscribe: async () => { await supabase.removeChannel(channel); } };
}

/** Follows one machine: its row, its controllers, its commands and its runs. */
export function watchMachine(supabase: SupabaseClient | undefined, machineId: string, handlers: MachineHandlers): Watch {
  if (!supabase) throw invalidArgument('watchMachine', 'watching needs a client created with { supabase } (Realtime)', 'a direct client');
  requireUuid('watchMachine', 'a machineId', machineId);
  const subs: Subscription[] = [];
  const add = (table: string, filter: string, handler: Handler<never> | undefined) => { if (handler) subs.push({ table, filter, handler }); };
  add('machines', `id=eq.${machineId}`, handlers.machine as Handler<never> | undefined);
  add('controllers', `machine_id=eq.${machineId}`, handlers.controllers as Handler<never> | undefined);
  add('recipe_commands', `machine_id=eq.${machineId}`, handlers.commands as Handler<never> | undefined);
  add('process_executions', `machine_id=eq.${machineId}`, handlers.processes as Handler<never> | undefined);
  if (subs.length === 0) throw invalidArgument('watchMachine', 'give at least one handler (machine, controllers, commands, processes)', handlers);
  return subscribe(supabase, machineChannel(machineId), subs);
}

/** Follows the live progress of one run (process_execution_state, written by every advance_step). */
export function watchRun(supabase: SupabaseClient | undefined, processId: string, onProgress: Handler<Record<string, unknown>>): Watch {
  if (!supabase) throw invalidArgument('watchRun', 'watching needs a client created with { supabase } (Realtime)', 'a direct client');
  requireUuid('watchRun', 'a processId', processId);
  return subscribe(supabase, runChannel(processId), [{ table: 'process_execution_state', filter: `process_id=eq.${processId}`, handler: onProgress as Handler<never> }]);
}
