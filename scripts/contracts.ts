// The RPC contract as the database states it (pg_proc) and its comparison with the SDK's
// RPC_CATALOG (src/sdk/transport/types.ts), from which the transports, the Edge statements and
// the fuzz specs take names, argument order and types. Used by tests/contracts.test.ts.
import type postgres from 'postgres';
import type { RpcDefinition } from '../src/sdk/transport/types.ts';

export type ReturnKind = 'set' | 'row' | 'value' | 'void';

/** One public function callable by `authenticated`, as pg_proc declares it. */
export interface ProcSignature {
  name: string;
  /** Input arguments in declaration order; types as format_type writes them (schema-qualified outside pg_catalog). */
  args: { name: string; type: string }[];
  returns: ReturnKind;
  /** STABLE or IMMUTABLE. */
  readOnly: boolean;
}

/**
 * The public functions `authenticated` may execute (trigger functions aside). Runs `set local search_path` so that types
 * come out qualified (public.change_source): call it inside a transaction (sql.begin).
 */
export async function readRpcSignatures(tx: postgres.TransactionSql): Promise<ProcSignature[]> {
  await tx`set local search_path = pg_catalog`;
  const rows = await tx<{ name: string; args: { name: string; type: string }[]; returns: ReturnKind; read_only: boolean }[]>`
    select p.proname::text as name,
      coalesce((select json_agg(json_build_object('name', coalesce(p.proargnames[a.ord], ''), 'type', format_type(a.type, null)) order by a.ord)
        from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality as a(type, ord)
        where coalesce(p.proargmodes[a.ord], 'i') in ('i', 'b', 'v')), '[]'::json) as args,
      case when p.proretset then 'set'
           when p.prorettype = 'void'::regtype then 'void'
           when p.prorettype = 'record'::regtype or t.typtype = 'c' then 'row'
           else 'value' end as returns,
      p.provolatile in ('s', 'i') as read_only
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    join pg_catalog.pg_type t on t.oid = p.prorettype
    where n.nspname = 'public' and p.prokind = 'f' and has_function_privilege('authenticated', p.oid, 'execute')
      -- trigger functions cannot be called, by PostgREST or anyone
      and p.prorettype not in ('trigger'::regtype, 'event_trigger'::regtype)
    order by p.proname`;
  return rows.map((r) => ({ name: r.name, args: r.args, returns: r.returns, readOnly: r.read_only }));
}

/**
 * The catalog's SQL type names as format_type writes them ('timestamptz[]' → 'timestamp with
 * time zone[]'), resolved by the server itself. Inside the same transaction as readRpcSignatures.
 */
export async function canonicalTypes(tx: postgres.TransactionSql, types: readonly string[]): Promise<Map<string, string>> {
  await tx`set local search_path = pg_catalog`;
  const unique = [...new Set(types)];
  const rows = await tx<{ given: string; canonical: string }[]>`
    select t.given, t.given::regtype::text as canonical from unnest(${unique}::text[]) as t(given)`;
  return new Map(rows.map((r) => [r.given, r.canonical]));
}

const describeArgs = (args: readonly { name: string; type: string }[]) => `(${args.map((a) => `${a.name} ${a.type}`).join(', ')})`;

/**
 * Differences between the catalog and the database's functions, one readable line each; empty
 * when they agree. `typeOf` maps a catalog type to the database's spelling (canonicalTypes).
 */
export function compareCatalog(
  catalog: Readonly<Record<string, RpcDefinition>>,
  procs: readonly ProcSignature[],
  typeOf: (catalogType: string) => string = (t) => t,
): string[] {
  const problems: string[] = [];
  const byName = new Map<string, ProcSignature[]>();
  for (const p of procs) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  for (const [name, overloads] of byName) {
    if (!(name in catalog)) {
      problems.push(`public.${name}${describeArgs(overloads[0].args)} is executable by authenticated but missing from RPC_CATALOG (src/sdk/transport/types.ts)`);
    } else if (overloads.length > 1) {
      problems.push(`public.${name} has ${overloads.length} overloads; the catalog (and PostgREST) need exactly one`);
    }
  }
  for (const [name, def] of Object.entries(catalog)) {
    const proc = byName.get(name)?.[0];
    if (!proc) {
      problems.push(`${name} is in RPC_CATALOG but the database has no public.${name} that authenticated may execute`);
      continue;
    }
    const expected = Object.entries(def.args).map(([arg, type]) => ({ name: arg, type: typeOf(type) }));
    if (describeArgs(expected) !== describeArgs(proc.args)) {
      problems.push(`${name}: arguments differ: RPC_CATALOG ${describeArgs(expected)}, database ${describeArgs(proc.args)}`);
    }
    if (def.returns !== proc.returns) {
      problems.push(`${name}: returns differ: RPC_CATALOG '${def.returns}', database '${proc.returns}'`);
    }
    if (def.readOnly !== proc.readOnly) {
      problems.push(`${name}: readOnly differs: RPC_CATALOG ${def.readOnly}, database ${proc.readOnly ? 'stable' : 'volatile'}`);
    }
  }
  return problems;
}
