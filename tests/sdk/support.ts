// Shared setup of the SDK suites: the test database, a private copy of the seed reactor for
// tests that write, both transports, and small waiting helpers.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { createClient } from '@supabase/supabase-js';
import { createAldDb, type AldDb, type AldDbOptions } from '../../src/index.ts';
import type { Emitter } from '../../src/sdk/emitter.ts';
import { PostgrestEndpoint, serviceRoleKey } from '../../support/postgrest-endpoint.ts';

export const SEED = {
  reactor: '00000000-0000-4000-8000-000000000001',
  bench: '00000000-0000-4000-8000-000000000002',
  recipe: '00000000-0000-4000-8000-000000003001',
  viewer: '00000000-0000-4000-8000-000000000101',
  operator: '00000000-0000-4000-8000-000000000102',
  /** Steps once the seed recipe's loop (10 × 4 steps) is unrolled: 2 + (1 + 40) + 2. */
  recipeSteps: 45,
  parameters: 137,
} as const;

export function databaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the suites with `npm test -- --only vitest tests/sdk`');
  return url;
}

export function adminSql(): postgres.Sql {
  return postgres(databaseUrl(), { max: 2, onnotice: () => {} });
}

/** The database URL with another host port, e.g. a TcpProxy in front of the server. */
export function viaPort(port: number): string {
  const url = new URL(databaseUrl());
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

export interface Reactor {
  machineId: string;
  recipeId: string;
  /** parameter id by `<component>/<parameter>` name */
  param: (path: string) => string;
  parameterIds: string[];
  componentIds: string[];
}

/**
 * A private copy of the seed's ALD Reactor A (21 components, 137 parameters, the recipe): tests
 * that start processes or write setpoints use it, so other suites sharing the database never
 * see the seed machine running or its setpoints moved. Ids are md5(machine id || seed id).
 */
export async function cloneReactor(sql: postgres.Sql, label: string): Promise<Reactor> {
  const machineId = randomUUID();
  const A = SEED.reactor;
  await sql.begin(async (tx) => {
    await tx`insert into public.machines (id, name, model) values (${machineId}, ${`sdk test ${label} ${machineId.slice(0, 8)}`}, 'clone of ALD Reactor A')`;
    await tx`insert into public.machine_components (id, machine_id, name, component_type, is_activated)
      select md5(${machineId} || c.id::text)::uuid, ${machineId}, c.name, c.component_type, c.is_activated
      from public.machine_components c where c.machine_id = ${A}`;
    await tx`insert into public.component_parameters (id, component_id, machine_id, name, display_name, unit, data_type,
        min_value, max_value, set_value, is_writable, is_active, read_modbus_address, read_modbus_type,
        write_modbus_address, write_modbus_type, modbus_value_type)
      select md5(${machineId} || p.id::text)::uuid, md5(${machineId} || p.component_id::text)::uuid, ${machineId}, p.name,
        p.display_name, p.unit, p.data_type, p.min_value, p.max_value, p.set_value, p.is_writable, p.is_active,
        p.read_modbus_address, p.read_modbus_type, p.write_modbus_address, p.write_modbus_type, p.modbus_value_type
      from public.component_parameters p where p.machine_id = ${A}`;
    await tx`insert into public.recipes (id, machine_id, name, description)
      select md5(${machineId} || r.id::text)::uuid, ${machineId}, r.name, r.description from public.recipes r where r.id = ${SEED.recipe}`;
    // Parents first: a child's trigger looks its loop up.
    for (const children of [false, true]) {
      await tx`insert into public.recipe_steps (id, recipe_id, parent_step_id, sequence_number, step_type, name)
        select md5(${machineId} || s.id::text)::uuid, md5(${machineId} || s.recipe_id::text)::uuid,
          case when s.parent_step_id is null then null else md5(${machineId} || s.parent_step_id::text)::uuid end,
          s.sequence_number, s.step_type, s.name
        from public.recipe_steps s where s.recipe_id = ${SEED.recipe} and (s.parent_step_id is not null) = ${children}`;
    }
    const step = (table: string, cols: string, select: string) =>
      tx.unsafe(`insert into public.${table} (step_id, ${cols})
        select md5($1 || c.step_id::text)::uuid, ${select} from public.${table} c
        join public.recipe_steps s on s.id = c.step_id where s.recipe_id = $2`, [machineId, SEED.recipe]);
    await step('valve_step_configs', 'valve_number, duration_ms', 'c.valve_number, c.duration_ms');
    await step('purge_step_configs', 'duration_ms, gas_type, flow_rate_sccm', 'c.duration_ms, c.gas_type, c.flow_rate_sccm');
    await step('loop_step_configs', 'iteration_count', 'c.iteration_count');
    await step('parameter_step_configs', 'parameter_id, value', 'md5($1 || c.parameter_id::text)::uuid, c.value');
    await tx`insert into public.machine_operators (machine_id, user_id, role) values
      (${machineId}, ${SEED.viewer}, 'viewer'), (${machineId}, ${SEED.operator}, 'operator')`;
  });
  const rows = await sql<{ id: string; path: string; component_id: string }[]>`
    select p.id, c.name || '/' || p.name as path, p.component_id from public.component_parameters p
    join public.machine_components c on c.id = p.component_id where p.machine_id = ${machineId} order by c.name, p.name`;
  const byPath = new Map(rows.map((r) => [r.path, r.id]));
  return {
    machineId,
    recipeId: (await sql<{ id: string }[]>`select id from public.recipes where machine_id = ${machineId}`)[0].id,
    param: (path) => {
      const id = byPath.get(path);
      if (!id) throw new Error(`no parameter ${path}`);
      return id;
    },
    parameterIds: rows.map((r) => r.id),
    componentIds: [...new Set(rows.map((r) => r.component_id))],
  };
}

export async function dropReactor(sql: postgres.Sql, reactor: Reactor | undefined): Promise<void> {
  if (reactor) await sql`delete from public.machines where id = ${reactor.machineId}`;
}

// Node 20 has no global WebSocket and supabase-js wants a realtime transport at construction,
// although the SDK never uses realtime. This stub throws if anything ever tries to.
class NoRealtime {
  constructor() {
    throw new Error('realtime is not used by the SDK');
  }
}

export function supabaseFor(endpoint: PostgrestEndpoint | string, key: string = serviceRoleKey()) {
  const url = typeof endpoint === 'string' ? endpoint : endpoint.url;
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: NoRealtime as never },
  });
}

export async function startEndpoint(dbUrl = databaseUrl()): Promise<PostgrestEndpoint> {
  const endpoint = new PostgrestEndpoint({ databaseUrl: dbUrl });
  await endpoint.start();
  return endpoint;
}

export type TransportName = 'postgres' | 'supabase';
export const TRANSPORTS: TransportName[] = ['postgres', 'supabase'];

type Extra = Omit<Partial<AldDbOptions>, 'databaseUrl' | 'supabase'>;

/** A client of either transport; the supabase one talks to `endpoint`. */
export function clientFor(transport: TransportName, endpoint: PostgrestEndpoint | undefined, extra: Extra = {}): AldDb {
  if (transport === 'postgres') return createAldDb({ databaseUrl: databaseUrl(), ...extra } as AldDbOptions);
  if (!endpoint) throw new Error('the supabase transport needs a PostgrestEndpoint');
  return createAldDb({ supabase: supabaseFor(endpoint), ...extra } as AldDbOptions);
}

/** Sum of db.stats().roundTrips. */
export function totalRoundTrips(db: AldDb): number {
  return Object.values(db.stats().roundTrips).reduce((a, b) => a + b, 0);
}

/** Waits for an event (the first whose arguments satisfy `match`); fails after timeoutMs. */
export function nextEvent<E extends { [K in keyof E]: unknown[] }, K extends keyof E>(
  target: Emitter<E>,
  event: K,
  match: (...args: E[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.off(event, handler);
      reject(new Error(`no '${String(event)}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (...args: E[K]) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      target.off(event, handler);
      resolve(args);
    };
    target.on(event, handler);
  });
}

/** A manually advanced clock for the cache (TTL, hot refresh, epoch checks). */
export function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}
