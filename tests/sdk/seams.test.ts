// The SDK's seams: createAldDb({ transport }) (a transport injected as supabase-js accepts fetch),
// the coherence driver that AldDb owns and close() stops, and the ParameterCache's methods.
import { describe, expect, it } from 'vitest';
import { createAldDb, type Parameter } from '../../src/index.ts';
import { ListenCoherence } from '../../src/sdk/coherence.ts';
import { Emitter } from '../../src/sdk/emitter.ts';
import type { AldDbError } from '../../src/sdk/errors.ts';
import type { ParameterChange, ParameterChangeListener } from '../../src/sdk/listener.ts';
import { Metrics } from '../../src/sdk/metrics.ts';
import { ParameterCache } from '../../src/sdk/parameter-cache.ts';
import { FakeTransport } from './fake-transport.ts';
import { manualClock } from './support.ts';

const MACHINE = '44444444-0000-4000-8000-000000000001';
const ID = '44444444-0000-4000-8000-000000000002';
const row = (version: number) => ({ id: ID, machine_id: MACHINE, version, set_value: version, name: 'p' }) as Parameter;

describe('createAldDb({ transport })', () => {
  it('sends every call through the injected transport, checks epochs through it, and closes it on close()', async () => {
    const clock = manualClock();
    let epoch = 1;
    const transport = new FakeTransport((rpc) => {
      if (rpc === 'get_parameters') return [row(epoch)];
      if (rpc === 'get_parameter_epochs') return [{ machine_id: MACHINE, epoch }];
      return null;
    });
    const db = createAldDb({ transport, now: clock.now, cache: { hotRefreshMs: 0 } });
    expect(db.stats().transport).toBe('postgres'); // the transport's own kind
    await db.parameters.get(ID); // miss
    await db.parameters.get(ID); // first epoch check: the machine is new, so its rows are refetched
    await db.parameters.get(ID); // served from memory: the check is recent
    expect(transport.calls.map((c) => c.rpc)).toEqual(['get_parameters', 'get_parameter_epochs', 'get_parameters']);
    clock.advance(1000);
    epoch = 2;
    expect((await db.parameters.get(ID)).version).toBe(2); // check due, epoch moved: refetched
    expect(transport.calls.map((c) => c.rpc).slice(3)).toEqual(['get_parameter_epochs', 'get_parameters']);
    expect(db.stats().roundTrips).toEqual({ get_parameters: 3, get_parameter_epochs: 2 });

    await db.close();
    expect(transport.closed).toBe(true);
    const before = transport.calls.length;
    await expect(db.parameters.get(ID)).rejects.toMatchObject({ code: 'ALD_CLOSED' });
    expect(transport.calls).toHaveLength(before); // nothing served from memory, nothing sent
    expect(db.stats().cache.coherent).toBe(false);
  });

  it('refuses a transport without call/pool/close, or next to another transport option, naming the keys only', () => {
    for (const options of [
      { transport: { call: () => null } },
      { transport: new FakeTransport(), databaseUrl: 'postgresql://u:secret@h/db' },
      { transport: new FakeTransport(), supabase: {} },
    ]) {
      let error: AldDbError | undefined;
      try {
        createAldDb(options as never);
      } catch (e) {
        error = e as AldDbError;
      }
      expect(error, JSON.stringify(Object.keys(options))).toMatchObject({ code: 'ALD_INVALID_ARGUMENT', operation: 'createAldDb' });
      expect(error!.message).not.toContain('secret');
    }
  });
});

/** A stand-in for the LISTEN session: the test says when it is up or down. */
class FakeListener extends Emitter<{ change: [ParameterChange]; up: []; down: [AldDbError] }> {
  subscribed = false;
  start(): void {}
  up(): void {
    this.subscribed = true;
    this.emit('up');
  }
}

describe('ListenCoherence (owned by AldDb, stopped by close())', () => {
  it('stops hearing changes and resyncing, and serves nothing from memory, once stopped', async () => {
    const fetched: string[][] = [];
    const cache = new ParameterCache(async (ids) => {
      fetched.push(ids);
      return [row(1)];
    }, new Metrics(), { ttlMs: 300_000, hotRefreshMs: 0, now: Date.now });
    const listener = new FakeListener();
    const coherence = new ListenCoherence(cache, listener as unknown as ParameterChangeListener, { baseMs: 1, maxMs: 1 }, () => {});
    coherence.start();
    listener.up();
    await new Promise((r) => setImmediate(r));
    expect(cache.coherent).toBe(true);
    await cache.get(ID);
    expect(cache.peek(ID)?.version).toBe(1);

    coherence.stop();
    expect(cache.coherent).toBe(false);
    expect(['change', 'up', 'down'].map((e) => listener.listenerCount(e as 'up'))).toEqual([0, 0, 0]);
    listener.up(); // a late reconnect after close: no resync
    await new Promise((r) => setImmediate(r));
    expect(cache.coherent).toBe(false);
    const calls = fetched.length;
    await cache.get(ID); // not from memory
    expect(fetched).toHaveLength(calls + 1);
  });
});

describe('ParameterCache methods', () => {
  it('vouch() lets memory be served, suspend() stops it, forget() drops a row but keeps its version floor', async () => {
    const cache = new ParameterCache(async () => [row(1)], new Metrics(), { ttlMs: 300_000, hotRefreshMs: 0, now: Date.now });
    expect(cache.coherent).toBe(false);
    cache.vouch();
    cache.absorb([row(3)], true);
    expect([cache.size, cache.ids(), cache.peek(ID)?.version]).toEqual([1, [ID], 3]);
    cache.forget(ID);
    expect(cache.size).toBe(0);
    cache.absorb([row(2)], true); // older than the forgotten version 3: kept out
    expect(cache.peek(ID)).toBeUndefined();
    cache.suspend();
    expect(cache.coherent).toBe(false);
  });
});
