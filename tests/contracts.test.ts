/**
 * Contracts written once and checked by machine: each test compares one source with what is
 * derived from or documents it, and shows (by changing one side in a rolled-back transaction or in
 * a copy) that a difference is reported.
 *   - src/sdk/database.types.ts (npm run gen:types) vs the migrated test database
 *   - RPC_CATALOG vs pg_proc: names, argument names in order, types, return kind, volatility
 *   - the parameter row: component_parameters' columns vs Parameter (derived from Database) and
 *     the Edge Functions' select list
 *   - the README's RPC reference vs RPC_CATALOG, its error tables vs ERROR_CODES, its metrics table
 *     vs the SDK's registry (the Edge metrics: tests/deno/metrics_test.ts)
 * Needs TEST_DATABASE_URL: `npm test -- --only vitest tests/contracts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, ERROR_CODES, type Parameter } from '../src/index.ts';
import { repoRoot } from '../src/database/database.ts';
import { RPC_CATALOG, type RpcDefinition } from '../src/sdk/transport/types.ts';
import { canonicalTypes, compareCatalog, readRpcSignatures } from '../scripts/contracts.ts';
import { DATABASE_TYPES, REGENERATE_TYPES_COMMAND, generateDatabaseTypes } from '../scripts/gen-types.ts';
import {
  compareErrorCodes, compareMetrics, compareReadmeRpcs, errorCodesOfReadme, rpcsOfReadme, sdkMetricsOfReadme, setDifference, type MetricShape,
} from '../scripts/readme-tables.ts';
import { adminSql, databaseUrl } from './sdk/support.ts';
import { fakeTransport } from './sdk/fake-transport.ts';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const committedTypes = () => readFileSync(join(repoRoot, DATABASE_TYPES), 'utf8');

let sql: postgres.Sql;
beforeAll(() => {
  sql = adminSql();
});
afterAll(async () => {
  await sql?.end();
});

describe(`${DATABASE_TYPES} (the Database type the package ships)`, () => {
  it('is what @supabase/postgrest-typegen generates from the migrated test database', async () => {
    const generated = await generateDatabaseTypes(databaseUrl());
    expect(committedTypes(), `${DATABASE_TYPES} is out of date: run ${REGENERATE_TYPES_COMMAND}`).toBe(generated);
  });

  it('changes when a column of component_parameters changes (so the comparison above can fail)', async () => {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('alter table public.component_parameters add column contract_probe integer');
      // introspect() sends its queries at once; one pg.Client wants them one after another.
      let queue: Promise<unknown> = Promise.resolve();
      const serial = { query: (text: string) => (queue = queue.then(() => client.query(text))) as Promise<{ rows: unknown[] }> };
      const generated = await generateDatabaseTypes(serial);
      expect(generated).not.toBe(committedTypes());
      expect(generated).toContain('contract_probe: number | null');
    } finally {
      await client.query('rollback');
      await client.end();
    }
  });
});

async function catalogProblems(catalog: Record<string, RpcDefinition>, mutate?: (tx: postgres.TransactionSql) => Promise<unknown>): Promise<string[]> {
  let problems: string[] = [];
  await sql.begin(async (tx) => {
    await mutate?.(tx);
    const procs = await readRpcSignatures(tx);
    const types = await canonicalTypes(tx, Object.values(catalog).flatMap((def) => Object.values(def.args)));
    problems = compareCatalog(catalog, procs, (t) => types.get(t) ?? t);
    // Always roll back: the mutations are demonstrations only.
    throw Object.assign(new Error('rollback'), { rollback: true });
  }).catch((error) => {
    if (!(error as { rollback?: boolean }).rollback) throw error;
  });
  return problems;
}

describe('RPC_CATALOG and pg_proc', () => {
  it('name every public function authenticated may execute with the same arguments (in order), types and return kind', async () => {
    expect(await catalogProblems(RPC_CATALOG)).toEqual([]);
  });

  it('report a function renamed, added or with its arguments changed in the database', async () => {
    const problems = await catalogProblems(RPC_CATALOG, async (tx) => {
      await tx`alter function public.get_parameter_epochs(uuid[]) rename to get_parameter_epochs_renamed`;
      await tx`create function public.contract_probe(a integer) returns void language sql as ''`;
      await tx`grant execute on function public.contract_probe(integer) to authenticated`;
      await tx`drop function public.claim_next_command(uuid, text, uuid)`;
      await tx`create function public.claim_next_command(machine_id uuid, worker text default null, claim_key uuid default null) returns setof public.recipe_commands language sql stable as 'select * from public.recipe_commands where false'`;
      await tx`grant execute on function public.claim_next_command(uuid, text, uuid) to authenticated`;
    });
    expect(problems).toEqual([
      'public.contract_probe(a integer) is executable by authenticated but missing from RPC_CATALOG (src/sdk/transport/types.ts)',
      'public.get_parameter_epochs_renamed(machine_ids uuid[]) is executable by authenticated but missing from RPC_CATALOG (src/sdk/transport/types.ts)',
      'get_parameter_epochs is in RPC_CATALOG but the database has no public.get_parameter_epochs that authenticated may execute',
      'claim_next_command: arguments differ: RPC_CATALOG (machine_id uuid, claimed_by text, claim_key uuid), database (machine_id uuid, worker text, claim_key uuid)',
      'claim_next_command: readOnly differs: RPC_CATALOG false, database stable',
    ]);
  });

  it('report a catalog entry whose argument order, type, return kind or volatility is wrong', async () => {
    const copy: Record<string, RpcDefinition> = structuredClone(RPC_CATALOG) as never;
    copy.get_machine_parameters = { ...copy.get_machine_parameters, args: { include_inactive: 'boolean', machine_id: 'uuid' } };
    copy.record_process_data = { ...copy.record_process_data, args: { ...copy.record_process_data.args, timestamps: 'timestamp[]' }, returns: 'row' };
    copy.get_parameters = { ...copy.get_parameters, readOnly: false };
    expect(await catalogProblems(copy)).toEqual([
      'get_machine_parameters: arguments differ: RPC_CATALOG (include_inactive boolean, machine_id uuid), database (machine_id uuid, include_inactive boolean)',
      'get_parameters: readOnly differs: RPC_CATALOG false, database stable',
      expect.stringMatching(/^record_process_data: arguments differ: .*timestamps timestamp without time zone\[\].*timestamps timestamp with time zone\[\]/),
      "record_process_data: returns differ: RPC_CATALOG 'row', database 'value'",
    ]);
  });
});

describe("the README's RPC reference and RPC_CATALOG", () => {
  const publicFunctions = async () =>
    (await sql<{ name: string }[]>`select p.proname::text as name from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'`).map((r) => r.name);

  it('document every RPC with its arguments in order (and only functions that exist)', async () => {
    expect(compareReadmeRpcs(rpcsOfReadme(readme), RPC_CATALOG, await publicFunctions())).toEqual([]);
  });

  it('report an RPC left out, an argument renamed or moved, or a function that does not exist', async () => {
    const changed = readme
      .replace('| `get_parameter_epochs(machine_ids uuid[])` |', '| `get_parameter_epoch(machine_ids uuid[])` |')
      .replace('`claim_next_command(machine_id, claimed_by = null, claim_key = null)`', '`claim_next_command(claimed_by = null, machine_id, claim_key = null)`')
      .replace('`get_parameters(parameter_ids uuid[])`', '`get_parameters(ids uuid[])`');
    expect(compareReadmeRpcs(rpcsOfReadme(changed), RPC_CATALOG, await publicFunctions())).toEqual([
      "get_parameters: the README gives arguments (ids), RPC_CATALOG (parameter_ids)",
      "get_parameter_epochs(machine_ids) is in RPC_CATALOG but not in the README's RPC reference",
      'claim_next_command: the README gives arguments (claimed_by, machine_id, claim_key), RPC_CATALOG (machine_id, claimed_by, claim_key)',
      "get_parameter_epoch is in the README's RPC reference but is neither in RPC_CATALOG nor a public function",
    ]);
  });
});

describe('the parameter row', () => {
  const columns = async (): Promise<string[]> =>
    (await sql<{ column_name: string }[]>`select column_name::text from information_schema.columns
      where table_schema = 'public' and table_name = 'component_parameters' order by ordinal_position`).map((r) => r.column_name);

  it('has the columns of component_parameters in what get_parameters returns through the SDK (Parameter)', async () => {
    const [row] = await sql<{ row: Parameter }[]>`select to_json(p) as row from public.component_parameters p limit 1`;
    // Parameter is Tables<'component_parameters'>: its keys are the table's columns by construction;
    // this checks the rows the RPCs send carry exactly them.
    const [fromRpc] = await sql<{ row: Parameter }[]>`select to_json(p) as row from public.get_parameters(array[${row.row.id}]::uuid[]) p`;
    expect(Object.keys(fromRpc.row).sort()).toEqual((await columns()).sort());
  });

  it('in the Edge Functions lists every column of the table and of the generated type', async () => {
    const { PARAMETER_COLUMN_NAMES } = await import('../functions/_shared/parameter-columns.ts');
    expect(setDifference(await columns(), PARAMETER_COLUMN_NAMES)).toEqual([[], []]);
    const generatedRow = /component_parameters: \{\s*Row: \{([\s\S]*?)\n {8}\}/.exec(committedTypes())![1];
    const typeKeys = [...generatedRow.matchAll(/^\s+([a-z_]+):/gm)].map((m) => m[1]);
    expect(setDifference(typeKeys, PARAMETER_COLUMN_NAMES)).toEqual([[], []]);
  });

  it('differs from the Edge list when a column is added to the table (so the comparison above can fail)', async () => {
    const { PARAMETER_COLUMN_NAMES } = await import('../functions/_shared/parameter-columns.ts');
    let difference: [string[], string[]] = [[], []];
    await sql.begin(async (tx) => {
      await tx`alter table public.component_parameters add column contract_probe integer`;
      await tx`alter table public.component_parameters drop column unit`;
      const cols = await tx<{ column_name: string }[]>`select column_name::text from information_schema.columns
        where table_schema = 'public' and table_name = 'component_parameters'`;
      difference = setDifference(cols.map((c) => c.column_name), PARAMETER_COLUMN_NAMES);
      throw Object.assign(new Error('rollback'), { rollback: true });
    }).catch((error) => {
      if (!(error as { rollback?: boolean }).rollback) throw error;
    });
    expect(difference).toEqual([['contract_probe'], ['unit']]);
  });
});

describe('the README error tables and ERROR_CODES', () => {
  it('list the same codes', () => {
    expect(compareErrorCodes(errorCodesOfReadme(readme), Object.keys(ERROR_CODES))).toEqual([]);
  });

  it('report a code on one side only', () => {
    const fewer = readme.replace('| `40001` |', '| `40099` |');
    expect(compareErrorCodes(errorCodesOfReadme(fewer), [...Object.keys(ERROR_CODES), 'ALD_NEW'])).toEqual([
      "40099 is in the README's error tables but not in ERROR_CODES (src/sdk/errors.ts)",
      '40001 is in ERROR_CODES (src/sdk/errors.ts) but in neither README error table',
      'ALD_NEW is in ERROR_CODES (src/sdk/errors.ts) but in neither README error table',
    ]);
  });
});

describe("the README's metrics table and the SDK's registry", () => {
  const registered = (): MetricShape[] => {
    const db = createAldDb({ transport: fakeTransport() });
    try {
      return db.metrics.getMetricsAsArray().map((m) => ({ name: m.name, labels: [...((m as unknown as { labelNames?: string[] }).labelNames ?? [])] }));
    } finally {
      void db.close();
    }
  };

  it('name the same metrics with the same labels', () => {
    expect(compareMetrics(sdkMetricsOfReadme(readme), registered(), 'the README')).toEqual([]);
  });

  it('report a metric or a label on one side only', () => {
    const changed = readme.replace('| `ald_db_client_retries_total` | counter | `operation` |', '| `ald_db_client_retry_total` | counter | `operation`, `code` |')
      .replace('| `ald_db_client_errors_total` | counter | `operation`, `code` |', '| `ald_db_client_errors_total` | counter | `operation` |');
    expect(compareMetrics(sdkMetricsOfReadme(changed), registered(), 'the README')).toEqual([
      'ald_db_client_retries_total is registered but missing from the README',
      'ald_db_client_retry_total is in the README but not registered',
      'ald_db_client_errors_total: the README gives labels {operation}, the registry {code,operation}',
    ]);
  });
});
