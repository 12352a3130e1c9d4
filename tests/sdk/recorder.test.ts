// The recorder's buffering and error policy, against a scripted transport (every call recorded,
// every reply controlled). recorder-outage.test.ts runs it against a real database and a real
// outage.
import { describe, expect, it } from 'vitest';
import { createAldDb } from '../../src/index.ts';
import { AldDbError } from '../../src/sdk/errors.ts';
import type { RecorderOptions } from '../../src/sdk/recorder.ts';
import type { CallOptions, RpcArgs, RpcName, Transport } from '../../src/sdk/transport/types.ts';
import { nextEvent } from './support.ts';

const PROCESS = '11111111-0000-4000-8000-000000000000';
const pid = (i: number) => `22222222-0000-4000-8000-${String(i).padStart(12, '0')}`;
const tick = (n: number, value = 1) => Object.fromEntries(Array.from({ length: n }, (_, i) => [pid(i), value]));

interface Call { args: RpcArgs; settle: (outcome: number | AldDbError) => void }

/** A transport whose replies the test gives: each call waits until settle() (or auto-replies). */
class ScriptedTransport implements Transport {
  readonly kind = 'postgres' as const;
  calls: Call[] = [];
  /** When set, calls are answered at once by this function. */
  auto: ((args: RpcArgs, index: number) => number | AldDbError) | undefined = (args) => (args.parameter_ids as string[]).length;
  call<T>(_rpc: RpcName, args: RpcArgs, _options: CallOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const settle = (outcome: number | AldDbError) => (outcome instanceof AldDbError ? reject(outcome) : resolve(outcome as T));
      const index = this.calls.push({ args, settle }) - 1;
      if (this.auto) settle(this.auto(args, index));
    });
  }
  pool() { return { max: 1, inUse: 0, waiting: 0 }; }
  async close() {}
  rows(i: number): number { return (this.calls[i].args.parameter_ids as string[]).length; }
}

function setup(options: RecorderOptions = {}) {
  const transport = new ScriptedTransport();
  const db = createAldDb({ transport, timeoutMs: 1000, retry: { attempts: 1, baseMs: 1, maxMs: 1 }, cache: { hotRefreshMs: 0 } });
  const recorder = db.processRecorder(PROCESS, { retryBaseMs: 1, retryMaxMs: 4, ...options });
  return { transport, recorder, db };
}

const connectionLost = () => new AldDbError({ code: 'ALD_CONNECTION', message: 'connection failed: ECONNRESET' });

describe('Recorder', () => {
  it('returns at once and sends one call per tick while the database keeps up, with one timestamp per tick', async () => {
    const { transport, recorder } = setup();
    expect(recorder.record(tick(137))).toBeUndefined();
    expect(transport.calls).toHaveLength(0); // nothing was sent synchronously
    await recorder.flush();
    recorder.record(tick(137));
    await recorder.flush();
    expect(transport.calls).toHaveLength(2);
    expect(transport.calls[0].args.timestamps).toHaveLength(1);
    expect(recorder.sent).toBe(274);
  });

  it('sends the ticks recorded while a call is in flight together as one call, a timestamp per row', async () => {
    const { transport, recorder } = setup();
    transport.auto = undefined;
    recorder.record(tick(3), '2026-01-01T00:00:00.000001Z');
    await new Promise((r) => setImmediate(r));
    recorder.record(tick(3), '2026-01-01T00:00:01Z');
    recorder.record(tick(3), '2026-01-01T00:00:02Z');
    expect(recorder.buffered).toBe(9);
    transport.calls[0].settle(3);
    await new Promise((r) => setImmediate(r));
    expect(transport.calls).toHaveLength(2);
    expect(transport.calls[1].args.timestamps).toEqual([...Array(3).fill('2026-01-01T00:00:01Z'), ...Array(3).fill('2026-01-01T00:00:02Z')]);
    transport.calls[1].settle(6);
    await recorder.flush();
    expect(recorder.buffered).toBe(0);
  });

  it('keeps failing ticks, retries them with backoff and sends the backlog as one call when the database is back', async () => {
    const { transport, recorder } = setup();
    let failures = 3;
    transport.auto = (args) => (failures-- > 0 ? connectionLost() : (args.parameter_ids as string[]).length);
    const retries: number[] = [];
    recorder.on('retry', (_e, info) => retries.push(info.attempt));
    const firstFailure = nextEvent(recorder, 'retry');
    recorder.record(tick(10), new Date(Date.UTC(2026, 0, 1, 0, 0, 0)));
    await firstFailure;
    for (let i = 1; i < 5; i++) recorder.record(tick(10), new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    await recorder.flush();
    expect(retries).toEqual([1, 2, 3]);
    expect(recorder).toMatchObject({ retried: 3, sent: 50, dropped: 0, buffered: 0 });
    // The first attempt carried the first tick; every retry carried the whole backlog in one call.
    expect(transport.calls.map((_, i) => transport.rows(i))).toEqual([10, 50, 50, 50]);
    expect((transport.calls[3].args.timestamps as string[])).toHaveLength(50);
  });

  it('sends a large backlog in chunks of at most maxRowsPerCall rows', async () => {
    const { transport, recorder } = setup({ maxRowsPerCall: 1000 });
    transport.auto = undefined;
    recorder.record(tick(137), new Date(0));
    await new Promise((r) => setImmediate(r));
    for (let i = 1; i <= 20; i++) recorder.record(tick(137), new Date(i * 1000));
    transport.auto = (args) => (args.parameter_ids as string[]).length;
    transport.calls[0].settle(137);
    await recorder.flush();
    const sizes = transport.calls.map((_, i) => transport.rows(i));
    expect(sizes.slice(1).every((n) => n <= 1000)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(21 * 137);
    expect(sizes).toEqual([137, 959, 959, 822]);
  });

  it('sends NaN and ±Infinity as null and counts them', async () => {
    const { transport, recorder, db } = setup();
    recorder.record({ [pid(1)]: NaN, [pid(2)]: Infinity, [pid(3)]: -Infinity, [pid(4)]: 2.5, [pid(5)]: null });
    await recorder.flush();
    recorder.record([{ parameterId: pid(1), value: 1, setPoint: NaN }, { parameterId: pid(2), value: 2 }]);
    await recorder.flush();
    expect(transport.calls[0].args.values).toEqual([null, null, null, 2.5, null]);
    expect(transport.calls[1].args.set_points).toEqual([null, null]);
    expect(recorder.nonFinite).toBe(4);
    expect(db.stats().recorder.nonFinite).toBe(4);
  });

  it('reports a full buffer as an overflow event with the count, and flush() rejects with ALD_BUFFER_FULL', async () => {
    const { transport, recorder } = setup({ maxBufferedRows: 25 });
    transport.auto = () => connectionLost();
    const overflow = nextEvent(recorder, 'overflow');
    recorder.record(tick(10));
    recorder.record(tick(10));
    recorder.record(tick(10)); // 30 > 25: refused
    const [error, info] = await overflow;
    expect(error.code).toBe('ALD_BUFFER_FULL');
    expect(error.message).toMatch(/20 of 25 rows buffered, so the tick of 10 rows/);
    expect(info).toEqual({ rows: 10, bufferedRows: 20 });
    expect(recorder).toMatchObject({ dropped: 10, buffered: 20 });
    transport.auto = (args) => (args.parameter_ids as string[]).length;
    // The 20 buffered rows are stored; the flush still reports that a tick of its range was lost.
    await expect(recorder.flush()).rejects.toMatchObject({ code: 'ALD_BUFFER_FULL' });
    expect(recorder).toMatchObject({ sent: 20, dropped: 10, buffered: 0 });
    recorder.record(tick(10));
    await recorder.flush(); // a later flush answers only for later ticks
  });

  it('drops every tick of a call refused for the process (P0002), emits error, and keeps recording', async () => {
    const { transport, recorder } = setup();
    let refuse = true;
    transport.auto = (args) => (refuse ? new AldDbError({ code: 'P0002', message: 'process not found' }) : (args.parameter_ids as string[]).length);
    const errors: string[] = [];
    recorder.on('error', (e, info) => errors.push(`${e.code}:${info.rows}`));
    recorder.record(tick(4));
    await expect(recorder.flush()).rejects.toMatchObject({ code: 'P0002' });
    refuse = false;
    recorder.record(tick(4));
    await recorder.flush();
    expect(errors).toEqual(['P0002:4']);
    expect(recorder).toMatchObject({ dropped: 4, sent: 4 });
  });

  it('isolates the one tick the server refuses (22023) in a backlog and stores the others', async () => {
    const { transport, recorder } = setup();
    const BAD = '2026-01-01T00:00:05.000Z';
    transport.auto = undefined;
    recorder.record(tick(2), new Date(Date.UTC(2026, 0, 1, 0, 0, 0)));
    await new Promise((r) => setImmediate(r));
    for (let i = 1; i < 8; i++) recorder.record(tick(2), new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    transport.auto = (args) => ((args.timestamps as string[]).includes(BAD)
      ? new AldDbError({ code: '22023', message: 'parameter does not belong to the process\'s machine' })
      : (args.parameter_ids as string[]).length);
    transport.calls[0].settle(2);
    await expect(recorder.flush()).rejects.toMatchObject({ code: '22023' });
    expect(recorder).toMatchObject({ sent: 14, dropped: 2 });
    // 1 + the 7-tick backlog, then its halves until the bad tick was alone.
    expect(transport.calls.length).toBeLessThanOrEqual(1 + 1 + 2 * 3);
  });

  it('refuses misuse synchronously and states the rule', () => {
    const { recorder } = setup();
    expect(() => recorder.record(42 as never)).toThrowError(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    expect(() => recorder.record({ 'not-a-uuid': 1 })).toThrowError(/parameter ids that are uuid strings, but got: "not-a-uuid"/);
    expect(() => recorder.record({ [pid(1)]: '3' as never })).toThrowError(/value must be a number or null, but got: "3"/);
    expect(() => recorder.record(tick(1), 'yesterday')).toThrowError(/ts must be a Date/);
  });

  it('refuses record() after close() with ALD_CLOSED', async () => {
    const { recorder } = setup();
    await recorder.close();
    expect(() => recorder.record(tick(1))).toThrowError(expect.objectContaining({ code: 'ALD_CLOSED' }));
  });

  it('gives distinct, increasing timestamps to ticks recorded within one millisecond', async () => {
    const { transport, recorder } = setup();
    for (let i = 0; i < 5; i++) recorder.record(tick(1));
    await recorder.flush();
    const stamps = transport.calls.flatMap((c) => c.args.timestamps as string[]);
    expect(new Set(stamps).size).toBe(5);
    expect([...stamps].sort()).toEqual(stamps);
  });

  it('rejects flush() with ALD_TIMEOUT when the database stays away, keeping the rows buffered', async () => {
    const { transport, recorder } = setup({ retryBaseMs: 5, retryMaxMs: 5 });
    transport.auto = () => connectionLost();
    recorder.record(tick(3));
    const error = await recorder.flush({ timeoutMs: 50 }).catch((e: AldDbError) => e);
    expect(error).toMatchObject({ code: 'ALD_TIMEOUT' });
    expect((error as AldDbError).cause).toMatchObject({ code: 'ALD_CONNECTION' });
    expect(recorder.buffered).toBe(3);
    transport.auto = (args) => (args.parameter_ids as string[]).length;
    await recorder.flush();
    expect(recorder.buffered).toBe(0);
  });

  it('reports a tick dropped after its flush timed out to the next flush', async () => {
    const { transport, recorder } = setup({ retryBaseMs: 5, retryMaxMs: 5 });
    transport.auto = () => connectionLost();
    recorder.record(tick(3));
    await expect(recorder.flush({ timeoutMs: 30 })).rejects.toMatchObject({ code: 'ALD_TIMEOUT' });
    transport.auto = () => new AldDbError({ code: 'P0002', message: 'process not found' });
    await expect(recorder.flush()).rejects.toMatchObject({ code: 'P0002' });
    expect(recorder.dropped).toBe(3);
  });
});
