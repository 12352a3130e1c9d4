// IsolateCache on a fake clock: what it serves, when it stops, and what it never does.
import assert from 'node:assert/strict';
import { IsolateCache } from '../../functions/_shared/cache.ts';
import type { ParameterRow } from '../../functions/_shared/parameter-row.ts';

const M1 = 'm1';
const M2 = 'm2';

function row(id: string, version: number, machine = M1, setValue = version): ParameterRow {
  return {
    id,
    component_id: 'c1',
    machine_id: machine,
    name: id,
    display_name: null,
    unit: null,
    data_type: 'float',
    min_value: 0,
    max_value: 100,
    set_value: setValue,
    applied_value: null,
    applied_at: null,
    applied_version: null,
    operand: null,
    description: null,
    show_in_ui: true,
    show_in_graph: true,
    is_writable: true,
    is_active: true,
    component_activated: true,
    read_modbus_address: null,
    read_modbus_type: null,
    write_modbus_address: 1,
    write_modbus_type: 'holding_register',
    modbus_value_type: 'float32',
    version,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  };
}

function setup(
  options: {
    epochCheckMs?: number;
    refreshAfterMs?: number;
    ttlMs?: number;
    maxEntries?: number;
    maxEntriesPerPrincipal?: number;
  } = {},
) {
  const clock = { t: 1_000_000 };
  const cache = new IsolateCache({
    epochCheckMs: 1000,
    refreshAfterMs: 60_000,
    ttlMs: 300_000,
    ...options,
    now: () => clock.t,
  });
  return { cache, clock };
}

const epochs = (...pairs: [string, number][]) => new Map(pairs);

Deno.test('cache: serves a filled answer without asking for epochs within the check interval', () => {
  const { cache, clock } = setup();
  const { stored } = cache.fill('alice', 'k', [row('a', 1), row('b', 1)], epochs([M1, 5]));
  assert.equal(stored, true);
  clock.t += 999;
  const entry = cache.lookup('alice', 'k')!;
  assert.deepEqual(cache.dueMachines(entry), []);
  assert.equal(cache.isCurrent(entry), true);
  assert.deepEqual(cache.rowsOf(entry).map((r) => r.id), ['a', 'b']);
  clock.t += 1;
  assert.deepEqual(cache.dueMachines(entry), [M1]);
});

Deno.test('cache: keeps answers per principal, because RLS decides what a query returns', () => {
  const { cache } = setup();
  cache.fill('alice', 'k', [row('a', 1)], epochs([M1, 5]));
  assert.equal(cache.lookup('bob', 'k'), undefined);
});

Deno.test('cache: an answer is stale once its machine epoch moved', async () => {
  const { cache, clock } = setup();
  cache.fill('alice', 'k', [row('a', 1)], epochs([M1, 5]));
  clock.t += 2000;
  const entry = cache.lookup('alice', 'k')!;
  await cache.checkEpochs('alice', cache.dueMachines(entry), () => Promise.resolve(epochs([M1, 6])));
  assert.equal(cache.isCurrent(entry), false);
});

Deno.test('cache: concurrent epoch checks of a machine by one caller make one read', async () => {
  const { cache, clock } = setup();
  cache.fill('alice', 'k1', [row('a', 1)], epochs([M1, 5]));
  cache.fill('alice', 'k2', [row('a', 1)], epochs([M1, 5]));
  clock.t += 2000;
  let reads = 0;
  const read = async (ids: string[]) => {
    reads += 1;
    await new Promise((r) => setTimeout(r, 5));
    return new Map(ids.map((id) => [id, 5]));
  };
  await Promise.all([cache.checkEpochs('alice', [M1], read), cache.checkEpochs('alice', [M1], read)]);
  assert.equal(reads, 1);
  assert.equal(cache.isCurrent(cache.lookup('alice', 'k2')!), true);
});

Deno.test("cache: another caller's epoch read is never borrowed, it says nothing about this caller's access", async () => {
  const { cache, clock } = setup();
  cache.fill('alice', 'k', [row('a', 1)], epochs([M1, 5]));
  cache.fill('bob', 'k', [row('a', 1)], epochs([M1, 5]));
  clock.t += 2000;
  let reads = 0;
  const read = async (ids: string[]) => {
    reads += 1;
    await new Promise((r) => setTimeout(r, 5));
    return new Map(ids.map((id) => [id, 5]));
  };
  await Promise.all([cache.checkEpochs('alice', [M1], read), cache.checkEpochs('bob', [M1], read)]);
  assert.equal(reads, 2);
});

// Issue 14, finding 1: bob's traffic (epoch checks every 500 ms, and writes through this isolate)
// kept the machine's shared check time fresh, so alice, revoked, was served from memory for a
// minute. Her check time is hers now: one epochCheckMs after her last read she must read again,
// as herself, and the read that no longer shows the machine drops her answers.
Deno.test('cache: a revoked caller is served from memory no longer than the check interval, whatever others do', async () => {
  const { cache, clock } = setup();
  cache.fill('alice', 'k', [row('a', 1), row('b', 1)], epochs([M1, 5]));
  cache.fill('bob', 'k', [row('a', 1), row('b', 1)], epochs([M1, 5]));
  const bobReads = (ids: string[]) => Promise.resolve(new Map(ids.map((id) => [id, 5])));
  for (let i = 0; i < 4; i++) {
    clock.t += 500;
    await cache.checkEpochs('bob', cache.dueMachines(cache.lookup('bob', 'k')!), bobReads);
    if (i === 1) cache.noteWrite(row('a', 2), { epochBefore: 5, epochAfter: 6, versionBefore: 1 });
  }
  const entry = cache.lookup('alice', 'k')!;
  assert.deepEqual(cache.dueMachines(entry), [M1], 'alice must read the epoch herself again');
  await cache.checkEpochs('alice', [M1], () => Promise.resolve(new Map())); // revoked: RLS hides M1
  assert.equal(cache.isCurrent(entry), false, 'the entry in hand is not current any more');
  assert.equal(cache.lookup('alice', 'k'), undefined);
  assert.notEqual(cache.lookup('bob', 'k'), undefined);
});

Deno.test("cache: a machine no longer visible to a caller drops only that caller's answers", async () => {
  const { cache, clock } = setup();
  cache.fill('alice', 'k', [row('a', 1)], epochs([M1, 5]));
  cache.fill('bob', 'k', [row('a', 1)], epochs([M1, 5]));
  clock.t += 2000;
  await cache.checkEpochs('alice', [M1], () => Promise.resolve(new Map()));
  assert.equal(cache.lookup('alice', 'k'), undefined);
  assert.notEqual(cache.lookup('bob', 'k'), undefined);
});

Deno.test('cache: a late reply with an older version never replaces a newer row', () => {
  const { cache } = setup();
  cache.fill('alice', 'k', [row('a', 1)], epochs([M1, 5]));
  cache.noteWrite(row('a', 3));
  const { rows } = cache.fill('bob', 'k', [row('a', 2)], epochs([M1, 6]));
  assert.equal(rows[0].version, 3);
  assert.equal(cache.rowsOf(cache.lookup('alice', 'k')!)[0].version, 3);
});

Deno.test('cache: does not store an answer it could not validate later', () => {
  const { cache } = setup();
  assert.equal(cache.fill('alice', 'empty', [], new Map()).stored, false);
  assert.equal(cache.fill('alice', 'k', [row('a', 1, M2)], epochs([M1, 5])).stored, false);
  assert.equal(cache.lookup('alice', 'k'), undefined);
});

Deno.test('cache: never serves past the TTL', () => {
  const { cache, clock } = setup({ ttlMs: 300_000 });
  cache.fill('alice', 'k', [row('a', 1)], epochs([M1, 5]));
  clock.t += 300_001;
  assert.equal(cache.lookup('alice', 'k'), undefined);
});

Deno.test('cache: asks for a background refresh after the refresh age, one at a time', async () => {
  const { cache, clock } = setup({ refreshAfterMs: 60_000 });
  cache.fill('alice', 'k', [row('a', 1)], epochs([M1, 5]));
  assert.equal(cache.wantsRefresh(cache.lookup('alice', 'k')!), false);
  clock.t += 60_000;
  assert.equal(cache.wantsRefresh(cache.lookup('alice', 'k')!), true);
  let runs = 0;
  const task = () => new Promise<void>((r) => setTimeout(() => (runs += 1, r()), 5));
  assert.notEqual(cache.startRefresh('alice', 'k', task), undefined);
  assert.equal(cache.startRefresh('alice', 'k', task), undefined);
  await cache.idle();
  assert.equal(runs, 1);
  assert.notEqual(cache.startRefresh('alice', 'k', task), undefined);
  await cache.idle();
});

Deno.test("cache: an own write that is the machine's only change keeps answers current", () => {
  const { cache } = setup();
  cache.fill('alice', 'k', [row('a', 1), row('b', 1)], epochs([M1, 5]));
  cache.noteWrite(row('a', 2, M1, 42), { epochBefore: 5, epochAfter: 6, versionBefore: 1 });
  const entry = cache.lookup('alice', 'k')!;
  assert.equal(cache.isCurrent(entry), true);
  assert.equal(cache.rowsOf(entry)[0].set_value, 42);
});

Deno.test('cache: an own write alongside other changes makes answers stale', () => {
  const { cache } = setup();
  cache.fill('alice', 'k', [row('a', 1)], epochs([M1, 5]));
  cache.noteWrite(row('a', 2), { epochBefore: 5, epochAfter: 7, versionBefore: 1 });
  assert.equal(cache.isCurrent(cache.lookup('alice', 'k')!), false);
});

Deno.test("cache: a no-op write does not vouch for another writer's change", () => {
  const { cache } = setup();
  cache.fill('alice', 'k', [row('a', 1)], epochs([M1, 5]));
  // Our write changed nothing (version 1 → 1) while someone else moved the epoch.
  cache.noteWrite(row('a', 1), { epochBefore: 5, epochAfter: 6, versionBefore: 1 });
  assert.equal(cache.isCurrent(cache.lookup('alice', 'k')!), false);
});

Deno.test('cache: drops the oldest answers beyond maxEntries', () => {
  const { cache } = setup({ maxEntries: 2, maxEntriesPerPrincipal: 2 });
  cache.fill('alice', 'k1', [row('a', 1)], epochs([M1, 5]));
  cache.fill('alice', 'k2', [row('a', 1)], epochs([M1, 5]));
  cache.fill('alice', 'k3', [row('a', 1)], epochs([M1, 5]));
  assert.equal(cache.size, 2);
  assert.equal(cache.lookup('alice', 'k1'), undefined);
  assert.notEqual(cache.lookup('alice', 'k3'), undefined);
});

// Issue 14 (lesser finding): the entry limit was shared by all principals, so one user asking many
// distinct queries evicted every other user's answers.
Deno.test("cache: one caller's many queries evict only that caller's own answers", () => {
  const { cache } = setup({ maxEntries: 100 });
  assert.equal(cache.maxEntriesPerPrincipal, 25);
  cache.fill('bob', 'mine', [row('a', 1)], epochs([M1, 5]));
  for (let i = 0; i < 1000; i++) cache.fill('mallory', `q${i}`, [row('a', 1)], epochs([M1, 5]));
  assert.notEqual(cache.lookup('bob', 'mine'), undefined);
  assert.equal(cache.size, 26);
  assert.notEqual(cache.lookup('mallory', 'q999'), undefined);
  assert.equal(cache.lookup('mallory', 'q0'), undefined);
});
