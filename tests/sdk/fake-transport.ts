// A Transport for createAldDb({ transport }) in tests: every call is recorded; replies come from
// `reply` (a value, or an AldDbError to reject with). No database, no network.
import type { AldDbError } from '../../src/sdk/errors.ts';
import type { CallOptions, PoolStats, RpcArgs, RpcName, Transport } from '../../src/sdk/transport/types.ts';

export interface FakeCall { rpc: RpcName; args: RpcArgs }

export class FakeTransport implements Transport {
  readonly kind = 'postgres' as const;
  readonly calls: FakeCall[] = [];
  closed = false;

  constructor(private readonly reply: (rpc: RpcName, args: RpcArgs, index: number) => unknown = () => null) {}

  async call<T>(rpc: RpcName, args: RpcArgs, _options: CallOptions): Promise<T> {
    const index = this.calls.push({ rpc, args: { ...args } }) - 1;
    const outcome = await this.reply(rpc, args, index);
    if (outcome instanceof Error && (outcome as AldDbError).name === 'AldDbError') throw outcome;
    return outcome as T;
  }

  pool(): PoolStats {
    return { max: 1, inUse: 0, waiting: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export const fakeTransport = (reply?: (rpc: RpcName, args: RpcArgs, index: number) => unknown) => new FakeTransport(reply);
