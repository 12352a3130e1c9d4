// Which calls are repeated after a transient failure, and that a repeat carries the same
// idempotency key as the first attempt (so the database can tell it is a repeat).
import { describe, expect, it } from 'vitest';
import { createAldDb } from '../../src/index.ts';
import { AldDbError } from '../../src/sdk/errors.ts';
import { backoffDelay } from '../../src/sdk/retry.ts';
import type { CallOptions, RpcArgs, RpcName, Transport } from '../../src/sdk/transport/types.ts';

const ID = '33333333-0000-4000-8000-000000000001';
const MACHINE = '33333333-0000-4000-8000-000000000002';

/** Fails the first `failures` calls with `error`, then answers with `reply(rpc, args)`. */
class FlakyTransport implements Transport {
  readonly kind = 'postgres' as const;
  calls: { rpc: RpcName; args: RpcArgs }[] = [];
  constructor(private failures: number, private readonly error: () => AldDbError, private readonly reply: (rpc: RpcName, args: RpcArgs) => unknown) {}
  async call<T>(rpc: RpcName, args: RpcArgs, _options: CallOptions): Promise<T> {
    this.calls.push({ rpc, args: { ...args } });
    if (this.failures-- > 0) throw this.error();
    return this.reply(rpc, args) as T;
  }
  pool() { return { max: 1, inUse: 0, waiting: 0 }; }
  async close() {}
}

function setup(failures: number, code = 'ALD_CONNECTION') {
  const transport = new FlakyTransport(failures, () => new AldDbError({ code, message: 'lost' }), (rpc, args) => {
    if (rpc === 'set_parameter_value') return { id: args.parameter_id, machine_id: MACHINE, version: 2, set_value: args.value };
    if (rpc === 'start_process') return { process_id: ID, parameters: [], steps: [], total_steps: 0 };
    if (rpc === 'claim_next_command') return [];
    return null;
  });
  const db = createAldDb({ transport, timeoutMs: 1000, retry: { attempts: 3, baseMs: 1, maxMs: 2 }, cache: { hotRefreshMs: 0 } });
  return { transport, db, parameters: db.parameters, process: db.process, commands: db.commands };
}

describe('retries after a transient failure', () => {
  it('repeats set() with the request_id of its first attempt, and counts one round trip per attempt', async () => {
    const { transport, parameters, db } = setup(2);
    await parameters.set(ID, 5);
    expect(transport.calls).toHaveLength(3);
    const keys = transport.calls.map((c) => c.args.request_id);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(db.stats().roundTrips.set_parameter_value).toBe(3);
    expect(db.stats().retries).toBe(2);
  });

  it('gives every set() call its own request_id', async () => {
    const { transport, parameters } = setup(0);
    await parameters.set(ID, 5);
    await parameters.set(ID, 5);
    expect(transport.calls[0].args.request_id).not.toBe(transport.calls[1].args.request_id);
  });

  it('repeats start() with the request_id of its first attempt', async () => {
    const { transport, process } = setup(1, 'ALD_TIMEOUT');
    await process.start({ machineId: MACHINE, recipeId: ID });
    expect(transport.calls).toHaveLength(2);
    expect(transport.calls[0].args.request_id).toBe(transport.calls[1].args.request_id);
  });

  it('gives up after the configured attempts with the last error', async () => {
    const { transport, parameters } = setup(5);
    await expect(parameters.set(ID, 5)).rejects.toMatchObject({ code: 'ALD_CONNECTION' });
    expect(transport.calls).toHaveLength(3);
  });

  it('repeats claimNext() with the claim_key of its first attempt: the retry returns the command that claim took', async () => {
    const { transport, commands } = setup(2);
    expect(await commands.claimNext(MACHINE)).toBeNull();
    expect(transport.calls).toHaveLength(3);
    const keys = transport.calls.map((c) => c.args.claim_key);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(await commands.claimNext(MACHINE)).toBeNull();
    expect(transport.calls[3].args.claim_key).not.toBe(keys[0]);
  });

  it('never repeats a call the server refused on its merits', async () => {
    const { transport, parameters } = setup(1, '22003');
    await expect(parameters.set(ID, 5)).rejects.toMatchObject({ code: '22003' });
    expect(transport.calls).toHaveLength(1);
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt up to the maximum, jittered into the upper half', () => {
    const o = { baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, o, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, o, () => 0))).toEqual([50, 100, 200, 400, 500]);
  });
});
