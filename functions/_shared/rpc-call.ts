// The RPC calls inside the functions' statements, written from the SDK's RPC_CATALOG
// (src/sdk/transport/types.ts: names, argument order and SQL types, compared with pg_proc by
// tests/contracts.test.ts) instead of restating each signature here.
import { RPC_CATALOG, type RpcName } from '../../src/sdk/transport/types.ts';
import { ARGS } from './db.ts';

/**
 * `public.<rpc>("name" => (<expression>)::<type>, ...)`: each given argument cast to its catalog
 * type, in the catalog's order, by name (arguments left out take their SQL default). Throws on a
 * name the catalog does not know, so a renamed argument fails when the module loads, not at call.
 */
export function rpcCall(rpc: RpcName, args: Readonly<Record<string, string>>): string {
  const types: Readonly<Record<string, string>> = RPC_CATALOG[rpc].args;
  const unknown = Object.keys(args).filter((name) => !(name in types));
  if (unknown.length > 0) {
    throw new TypeError(
      `${rpc} has no argument ${unknown.join(', ')}; RPC_CATALOG lists: ${Object.keys(types).join(', ')}`,
    );
  }
  const given = Object.keys(types).filter((name) => name in args);
  return `public.${rpc}(${given.map((name) => `"${name}" => (${args[name]})::${types[name]}`).join(', ')})`;
}

/** name → the expression reading that name from the call's arguments (ald.args), for rpcCall. */
export function fromArgs(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, `${ARGS} ->> '${name}'`]));
}
