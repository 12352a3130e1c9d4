// The HTTP transport: every call is `supabase.rpc(...)`, i.e. one PostgREST request.
//
// postgrest-js retries GET requests by itself (up to 3 times, 1 s/2 s/4 s) on network errors and
// 503; that is switched off here (`.retry(false)`) so that one call is exactly one request and
// the SDK's own retry policy (src/retry.ts) is the only one, for both transports.
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../database.types.ts';
import { AldDbError, fromPostgrestError } from '../errors.ts';
import { RPC_CATALOG, type CallOptions, type PoolStats, type RpcArgs, type RpcName, type Transport } from './types.ts';

type Functions = Database['public']['Functions'];
/** supabase.rpc's arguments for any RPC of the catalog (the generated Database type names them). */
type AnyRpcArgs = Functions[RpcName]['Args'];

// A GET puts the arguments in the URL; past a few kilobytes servers and proxies refuse it, so
// long id lists go by POST (a STABLE function still runs read-only there).
const MAX_GET_QUERY_LENGTH = 4000;

function queryLength(args: RpcArgs): number {
  let length = 0;
  for (const [name, value] of Object.entries(args)) {
    length += name.length + 2 + (Array.isArray(value) ? value.join(',').length + 2 : String(value).length);
  }
  return length;
}

export class SupabaseTransport implements Transport {
  readonly kind = 'supabase' as const;
  private readonly client: SupabaseClient<Database>;
  private inFlight = 0;

  // Whatever schema types the caller's client was created with, the SDK calls it as a client of
  // ald-db's own schema (src/sdk/database.types.ts): `supabase.rpc` is typed by its RPCs.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(client: SupabaseClient<any, any, any>) {
    this.client = client as SupabaseClient<Database>;
  }

  async call<T>(rpc: RpcName, args: RpcArgs, options: CallOptions): Promise<T> {
    const def = RPC_CATALOG[rpc];
    const body: RpcArgs = {};
    for (const name of Object.keys(def.args)) if (args[name] !== undefined) body[name] = args[name];
    const get = def.readOnly && queryLength(body) <= MAX_GET_QUERY_LENGTH && Object.values(body).every((v) => v !== null);

    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, options.timeoutMs);
    this.inFlight++;
    try {
      let result: Awaited<ReturnType<SupabaseClient<Database>['rpc']>>;
      try {
        result = await this.client.rpc(rpc, body as AnyRpcArgs, { get }).retry(false).abortSignal(abort.signal);
      } catch (error) {
        // postgrest-js turns fetch failures into results; anything thrown here is unexpected.
        throw new AldDbError({ code: 'ALD_UNEXPECTED', message: String(error), operation: rpc, cause: error });
      }
      if (timedOut) {
        throw new AldDbError({ code: 'ALD_TIMEOUT', message: `${rpc} got no reply within ${options.timeoutMs} ms`, operation: rpc });
      }
      if (result.error) throw fromPostgrestError(result.error, result.status, rpc);
      return result.data as T;
    } finally {
      clearTimeout(timer);
      this.inFlight--;
    }
  }

  pool(): PoolStats {
    // fetch keeps its own sockets; the SDK only knows how many requests are open.
    return { max: 0, inUse: this.inFlight, waiting: 0 };
  }

  async close(): Promise<void> {
    // The supabase client belongs to the caller; nothing to release here.
  }
}
