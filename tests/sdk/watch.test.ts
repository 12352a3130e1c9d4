// db.watchMachine / db.watchRun subscribe to the Realtime channels the README documents, with one
// postgres_changes filter per table, and hand each change to its handler. A fake supabase-js
// client records what was subscribed (Realtime itself is not part of the test stack); what a
// viewer receives through Realtime is what the tables' SELECT policies show, asserted per
// published table in supabase/tests/17-run-control.test.sql.
import type { SupabaseClient } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { machineChannel, runChannel } from '../../src/index.ts';
import { watchMachine, watchRun } from '../../src/sdk/watch.ts';

const MACHINE = '00000000-0000-4000-8000-000000000001';
const PROCESS = '00000000-0000-4000-8000-00000000f001';

type Listener = { filter: { event: string; schema: string; table: string; filter: string }; callback: (payload: unknown) => void };

function fakeSupabase() {
  const channels: { name: string; listeners: Listener[]; subscribed: boolean; removed: boolean }[] = [];
  const client = {
    channel(name: string) {
      const record = { name, listeners: [] as Listener[], subscribed: false, removed: false };
      channels.push(record);
      const channel = {
        on(_type: string, filter: Listener['filter'], callback: Listener['callback']) {
          expect(_type).toBe('postgres_changes');
          record.listeners.push({ filter, callback });
          return channel;
        },
        subscribe() {
          record.subscribed = true;
          return channel;
        },
        record,
      };
      return channel;
    },
    async removeChannel(channel: { record: { removed: boolean } }) {
      channel.record.removed = true;
      return 'ok';
    },
  };
  return { client: client as unknown as SupabaseClient, channels };
}

describe('Realtime watch helpers', () => {
  it('watchMachine: one channel per machine, one filtered subscription per followed table', async () => {
    const { client, channels } = fakeSupabase();
    const seen: string[] = [];
    const watch = watchMachine(client, MACHINE, {
      machine: (c) => seen.push(`machine ${c.eventType}`),
      controllers: (c) => seen.push(`controller ${c.eventType} ${c.new.status}`),
      commands: (c) => seen.push(`command ${c.eventType} ${c.new.status}`),
      processes: (c) => seen.push(`process ${c.eventType}`),
    });
    expect(watch.channel).toBe(`ald:machine:${MACHINE}`);
    expect(machineChannel(MACHINE)).toBe(watch.channel);
    expect(channels).toHaveLength(1);
    expect(channels[0].subscribed).toBe(true);
    expect(channels[0].listeners.map((l) => l.filter)).toEqual([
      { event: '*', schema: 'public', table: 'machines', filter: `id=eq.${MACHINE}` },
      { event: '*', schema: 'public', table: 'controllers', filter: `machine_id=eq.${MACHINE}` },
      { event: '*', schema: 'public', table: 'recipe_commands', filter: `machine_id=eq.${MACHINE}` },
      { event: '*', schema: 'public', table: 'process_executions', filter: `machine_id=eq.${MACHINE}` },
    ]);
    channels[0].listeners[1].callback({ table: 'controllers', eventType: 'UPDATE', new: { status: 'dead' }, old: { id: 'k' } });
    channels[0].listeners[2].callback({ table: 'recipe_commands', eventType: 'INSERT', new: { status: 'pending' }, old: {} });
    expect(seen).toEqual(['controller UPDATE dead', 'command INSERT pending']);
    await watch.unsubscribe();
    expect(channels[0].removed).toBe(true);
  });

  it('watchMachine subscribes only to the tables given a handler', () => {
    const { client, channels } = fakeSupabase();
    watchMachine(client, MACHINE, { commands: () => {} });
    expect(channels[0].listeners.map((l) => l.filter.table)).toEqual(['recipe_commands']);
  });

  it('watchRun follows the progress row of one run', () => {
    const { client, channels } = fakeSupabase();
    const progress: unknown[] = [];
    const watch = watchRun(client, PROCESS, (c) => progress.push(c.new));
    expect(watch.channel).toBe(runChannel(PROCESS));
    expect(channels[0].listeners.map((l) => l.filter)).toEqual([
      { event: '*', schema: 'public', table: 'process_execution_state', filter: `process_id=eq.${PROCESS}` },
    ]);
    channels[0].listeners[0].callback({ table: 'process_execution_state', eventType: 'UPDATE', new: { completed_steps: 3 }, old: {} });
    expect(progress).toEqual([{ completed_steps: 3 }]);
  });

  it('refuses without a supabase client, a machine id or a handler, sending nothing', () => {
    expect(() => watchMachine(undefined, MACHINE, { commands: () => {} })).toThrow(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    const { client, channels } = fakeSupabase();
    expect(() => watchMachine(client, 'reactor A', { commands: () => {} })).toThrow(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    expect(() => watchMachine(client, MACHINE, {})).toThrow(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    expect(() => watchRun(client, 'x', () => {})).toThrow(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    expect(channels).toHaveLength(0);
  });
});
