// The parameter cache on its own, with a scripted database: which reads reach the database,
// and which rows may be kept. The same rules run against a real database in coherence.test.ts.
import { describe, expect, it } from 'vitest';
import { EpochCoherence, type EpochRow } from '../../src/sdk/coherence.ts';
import { Metrics } from '../../src/sdk/metrics.ts';
import { ParameterCache } from '../../src/sdk/parameter-cache.ts';
import type { Parameter } from '../../src/sdk/types.ts';
import { manualClock } from './support.ts';

const MACHINE_A = 'aaaaaaaa-0000-4000-8000-000000000000';
const MACHINE_B = 'bbbbbbbb-0000-4000-8000-000000000000';
const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function row(i: number, version: number, machine = MACHINE_A): Parameter {
  return { id: id(i), machine_id: machine, version, set_value: version, name: `p${i}` } as Parameter;
}

/** A scripted get_parameters: records each call; replies from `db` unless a call is held. */
function scriptedDatabase() {
  const db = new Map<string, Parameter>();
  const calls: string[][] = [];
  let hold: { release: () => void; promise: Promise<void> } | undefined;
  const fetch = async (ids: string[]) => {
    calls.push(ids);
    const snapshot = ids.map((x) => db.get(x)).filter((r): r is Parameter => r !== undefined);
    if (hold) await hold.promise;
    return snapshot;
  };
  return {
    db, calls, fetch,
    /** The next fetches take their snapshot now but reply only on release(). */
    holdReplies() {
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      hold = { release: () => { hold = undefined; release(); }, promise };
      return hold;
    },
  };
}

function setup(options: { coherent?: boolean } = {}) {
  const clock = manualClock();
  const metrics = new Metrics();
  const database = scriptedDatabase();
  const cache = new ParameterCache(database.fetch, metrics, { ttlMs: 300_000, hotRefreshMs: 60_000, now: clock.now });
  if (options.coherent ?? true) cache.vouch();
  return { cache, metrics, clock, ...database };
}

describe('ParameterCache', () => {
  it('coalesces concurrent misses of one tick into one bulk call', async () => {
    const { cache, db, calls } = setup();
    for (let i = 1; i <= 5; i++) db.set(id(i), row(i, 1));
    const rows = await Promise.all([1, 2, 3, 4, 5, 2].map((i) => cache.get(id(i))));
    expect(calls).toEqual([[id(1), id(2), id(3), id(4), id(5)]]);
    expect(rows.map((r) => r?.id)).toEqual([1, 2, 3, 4, 5, 2].map(id));
  });

  it('serves a cached row without a call, and counts hits and misses', async () => {
    const { cache, db, calls, metrics } = setup();
    db.set(id(1), row(1, 1));
    await cache.get(id(1));
    await cache.get(id(1));
    await cache.getMany([id(1), id(1)]);
    expect(calls).toHaveLength(1);
    expect(metrics.cache).toMatchObject({ hits: 2, misses: 1, revalidatingReads: 0 });
  });

  it('returns null for an id the database does not know, and does not cache the absence', async () => {
    const { cache, calls } = setup();
    expect(await cache.get(id(9))).toBeNull();
    expect(await cache.getMany([id(9)])).toEqual([null]);
    expect(calls).toHaveLength(2);
  });

  it('never lets an older version overwrite a newer one, whatever order the replies come in', async () => {
    const { cache, db, calls, holdReplies } = setup();
    db.set(id(1), row(1, 4));
    const hold = holdReplies();
    const late = cache.get(id(1)); // its reply will carry version 4
    await new Promise((r) => setImmediate(r));
    cache.absorb([row(1, 5)], true); // e.g. our own write's reply, version 5
    hold.release();
    await late;
    expect((await cache.get(id(1)))!.version).toBe(5);
    expect(calls).toHaveLength(1);
  });

  it('keeps a stale reply out when a change notification arrives while the fetch is in flight', async () => {
    const { cache, db, calls, holdReplies } = setup();
    db.set(id(1), row(1, 4));
    const hold = holdReplies();
    const pending = cache.get(id(1)); // snapshot taken: version 4
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    db.set(id(1), row(1, 5));
    cache.applyChange({ id: id(1), version: 5, machine_id: MACHINE_A, op: 'UPDATE' });
    hold.release();
    expect((await pending)!.version).toBe(4); // the read began before the change
    expect(cache.peek(id(1))).toBeUndefined(); // ...but version 4 was not kept
    expect((await cache.get(id(1)))!.version).toBe(5);
    expect(calls).toHaveLength(2);
  });

  it('keeps a deleted row out, even from a reply that was already in flight', async () => {
    const { cache, db, holdReplies } = setup();
    db.set(id(1), row(1, 3));
    await cache.get(id(1));
    cache.forget(id(1));
    const hold = holdReplies();
    const pending = cache.get(id(1));
    await new Promise((r) => setImmediate(r));
    cache.applyChange({ id: id(1), version: 3, machine_id: MACHINE_A, op: 'DELETE' });
    hold.release();
    await pending;
    expect(cache.peek(id(1))).toBeUndefined();
  });

  it('drops a row when notified of a newer version, and keeps it when the notice is about its own version', async () => {
    const { cache } = setup();
    cache.absorb([row(1, 2), row(2, 2)], true);
    const events: boolean[] = [];
    cache.on('invalidate', (e) => events.push(e.dropped));
    cache.applyChange({ id: id(1), version: 3, machine_id: MACHINE_A, op: 'UPDATE' });
    cache.applyChange({ id: id(2), version: 2, machine_id: MACHINE_A, op: 'UPDATE' }); // our own write's echo
    expect(events).toEqual([true, false]);
    expect(cache.peek(id(1))).toBeUndefined();
    expect(cache.peek(id(2))!.version).toBe(2);
  });

  it('serves nothing from memory while not coherent, and stores nothing fetched then', async () => {
    const { cache, db, calls, metrics } = setup();
    db.set(id(1), row(1, 1));
    await cache.get(id(1));
    cache.suspend();
    await cache.get(id(1));
    await cache.get(id(1));
    expect(calls).toHaveLength(3);
    expect(metrics.cache).toMatchObject({ hits: 0, misses: 3, revalidatingReads: 2 });
  });

  it('resyncs every cached id in one call, drops the ids that are gone, then serves memory again', async () => {
    const { cache, db, calls } = setup();
    for (let i = 1; i <= 3; i++) db.set(id(i), row(i, 1));
    await cache.getMany([id(1), id(2), id(3)]);
    cache.suspend();
    db.set(id(1), row(1, 2));
    db.delete(id(3));
    calls.length = 0;
    expect(await cache.resync()).toBe(true);
    expect(calls).toEqual([[id(1), id(2), id(3)]]);
    expect(cache.coherent).toBe(true);
    expect((await cache.get(id(1)))!.version).toBe(2);
    expect(cache.peek(id(3))).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('does not store a fetch that began before coherence was interrupted', async () => {
    const { cache, db, holdReplies } = setup();
    db.set(id(1), row(1, 1));
    const hold = holdReplies();
    const pending = cache.get(id(1));
    await new Promise((r) => setImmediate(r));
    cache.suspend();
    cache.vouch(); // e.g. a resync of other ids completed meanwhile
    hold.release();
    await pending;
    expect(cache.peek(id(1))).toBeUndefined();
  });

  it('does not serve a row past its TTL (300 s backstop)', async () => {
    const { cache, db, calls, clock } = setup();
    db.set(id(1), row(1, 1));
    await cache.get(id(1));
    clock.advance(300_001);
    await cache.get(id(1));
    expect(calls).toHaveLength(2);
  });

  it('refreshes the rows read during the last minute in one call, and only those', async () => {
    const { cache, db, calls, clock } = setup();
    for (let i = 1; i <= 3; i++) db.set(id(i), row(i, 1));
    await cache.getMany([id(1), id(2), id(3)]);
    clock.advance(30_000);
    await cache.get(id(1));
    await cache.get(id(2));
    clock.advance(40_000); // id 3 was last read 70 s ago
    calls.length = 0;
    await cache.refreshHot();
    expect(calls).toEqual([[id(1), id(2)]]);
  });
});

describe('EpochCoherence', () => {
  function epochSetup() {
    const s = setup();
    const epochs = new Map<string, number>();
    const epochCalls: string[][] = [];
    const fetchEpochs = async (machines: string[]): Promise<EpochRow[]> => {
      epochCalls.push(machines);
      return machines.filter((m) => epochs.has(m)).map((m) => ({ machine_id: m, epoch: epochs.get(m)! }));
    };
    const coherence = new EpochCoherence(s.cache, fetchEpochs, 1000, s.clock.now);
    coherence.start();
    return { ...s, epochs, epochCalls };
  }

  it('checks the epochs at most once per epochCheckMs, and serves memory in between', async () => {
    const { cache, db, calls, epochCalls, clock } = epochSetup();
    db.set(id(1), row(1, 1));
    await cache.get(id(1)); // miss: nothing cached yet, no epoch check
    expect(epochCalls).toHaveLength(0);
    await cache.get(id(1)); // first check: machine seen for the first time, so its rows are resynced
    expect(epochCalls).toEqual([[MACHINE_A]]);
    expect(calls).toHaveLength(2);
    await cache.get(id(1));
    clock.advance(999);
    await cache.get(id(1));
    expect(epochCalls).toHaveLength(1);
    expect(calls).toHaveLength(2);
    clock.advance(1);
    await cache.get(id(1)); // check due; epoch unchanged: served from memory
    expect(epochCalls).toHaveLength(2);
    expect(calls).toHaveLength(2);
  });

  it('refetches only the rows of a machine whose epoch moved', async () => {
    const { cache, db, calls, epochs, clock } = epochSetup();
    db.set(id(1), row(1, 1, MACHINE_A));
    db.set(id(2), row(2, 1, MACHINE_B));
    await cache.getMany([id(1), id(2)]);
    await cache.get(id(1)); // baseline check
    clock.advance(1000);
    db.set(id(2), row(2, 2, MACHINE_B));
    epochs.set(MACHINE_B, 1);
    calls.length = 0;
    expect((await cache.get(id(2)))!.version).toBe(2);
    expect(calls).toEqual([[id(2)]]);
  });

  it('after a failed resync, keeps memory closed until a check succeeds, then resyncs everything', async () => {
    const { cache, db, calls, epochs, clock } = epochSetup();
    db.set(id(1), row(1, 1));
    await cache.get(id(1));
    await cache.get(id(1)); // baseline
    clock.advance(1000);
    epochs.set(MACHINE_A, 1);
    db.set(id(1), row(1, 2));
    const fetchBefore = calls.length;
    const realFetch = db.get.bind(db);
    db.get = () => { throw new Error('database unreachable'); };
    await expect(cache.get(id(1))).rejects.toThrow('database unreachable');
    expect(cache.coherent).toBe(false);
    db.get = realFetch;
    expect((await cache.get(id(1)))!.version).toBe(2);
    expect(cache.coherent).toBe(true);
    expect(calls.length - fetchBefore).toBe(3); // failed resync, resync, nothing else
  });

  it('serves a row only once its own machine was covered by a recent check', async () => {
    const { cache, db, calls, epochCalls } = epochSetup();
    db.set(id(1), row(1, 1, MACHINE_A));
    db.set(id(2), row(2, 1, MACHINE_B));
    await cache.get(id(1));
    await cache.get(id(1)); // machine A checked just now
    await cache.get(id(2)); // a miss: machine B's row is stored
    calls.length = 0;
    await cache.get(id(2)); // A's check is recent, but it did not cover B
    expect(epochCalls).toEqual([[MACHINE_A], [MACHINE_A, MACHINE_B]]);
    expect(calls).toEqual([[id(2)]]); // B seen for the first time: its rows refetched
    await cache.get(id(2));
    expect(epochCalls).toHaveLength(2);
    expect(calls).toHaveLength(1);
  });

  it('coalesces the checks of concurrent reads into one call', async () => {
    const { cache, db, epochCalls, clock } = epochSetup();
    db.set(id(1), row(1, 1));
    await cache.get(id(1));
    await cache.get(id(1));
    clock.advance(5000);
    await Promise.all([cache.get(id(1)), cache.get(id(1)), cache.getMany([id(1)])]);
    expect(epochCalls).toHaveLength(2);
  });
});
