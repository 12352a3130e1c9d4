// Every error code the SDK raises, produced for real where a database can produce it, on both
// transports; and the mapping of postgres.js and PostgREST errors into AldDbError.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AldDbError, ERROR_CODES, createAldDb, type AldDb } from '../../src/index.ts';
import { fromPostgresError, fromPostgrestError, isTransient } from '../../src/sdk/errors.ts';
import { signJwt, type PostgrestEndpoint } from '../../support/postgrest-endpoint.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import {
  SEED, TRANSPORTS, adminSql, clientFor, cloneReactor, databaseUrl, dropReactor, nextEvent, startEndpoint, supabaseFor, viaPort,
  type Reactor,
} from './support.ts';

/** Every code seen below; the last test checks each one is in ERROR_CODES. */
const seen = new Set<string>();

async function failure(promise: Promise<unknown>): Promise<AldDbError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AldDbError);
  seen.add(String((error as AldDbError).code));
  return error as AldDbError;
}

describe('AldDbError', () => {
  it('carries name, code, message, details, hint, operation and serialises them with toJSON()', () => {
    const e = new AldDbError({ code: '22003', message: 'value out of range', details: 'd', hint: 'h', operation: 'set_parameter_value', status: 400 });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('AldDbError');
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      name: 'AldDbError', code: '22003', message: 'value out of range', details: 'd', hint: 'h', operation: 'set_parameter_value', status: 400,
    });
  });

  it('maps a PostgresError with its SQLSTATE, detail and hint', () => {
    const pg = Object.assign(new postgres.PostgresError('value out of range'), { code: '22003', detail: '9 is outside [0, 1]', hint: 'x' });
    expect(fromPostgresError(pg, 'set_parameter_value')).toMatchObject({ code: '22003', details: '9 is outside [0, 1]', hint: 'x', operation: 'set_parameter_value' });
  });

  it('maps lost connections, whatever their form, to ALD_CONNECTION, and an ended pool to ALD_CLOSED', () => {
    const terminated = Object.assign(new postgres.PostgresError('terminating connection due to administrator command'), { code: '57P01' });
    const socket = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const closed = Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });
    for (const e of [terminated, socket, closed]) expect(fromPostgresError(e, 'x').code).toBe('ALD_CONNECTION');
    expect(fromPostgresError(Object.assign(new Error('ended'), { code: 'CONNECTION_ENDED' }), 'x').code).toBe('ALD_CLOSED');
  });

  it('maps PostgREST errors: SQLSTATE kept, fetch failures and PGRST000 to ALD_CONNECTION, others to ALD_HTTP_<status>', () => {
    expect(fromPostgrestError({ code: '22023', message: 'm', details: 'd', hint: 'h' }, 400, 'op')).toMatchObject({ code: '22023', details: 'd', hint: 'h', status: 400 });
    expect(fromPostgrestError({ code: '', message: 'TypeError: fetch failed' }, 0, 'op').code).toBe('ALD_CONNECTION');
    expect(fromPostgrestError({ code: 'PGRST000', message: 'Database connection error' }, 503, 'op').code).toBe('ALD_CONNECTION');
    const jwt = fromPostgrestError({ code: 'PGRST301', message: 'JWT cryptographic operation failed' }, 401, 'op');
    expect(jwt).toMatchObject({ code: 'ALD_HTTP_401', status: 401 });
    expect(jwt.message).toContain('PGRST301');
  });

  it('retries only what can succeed later', () => {
    const transient = ['ALD_CONNECTION', 'ALD_TIMEOUT', 'ALD_UNEXPECTED', 'ALD_HTTP_503', '40P01', '53300'];
    const permanent = ['22004', '22023', '22003', 'P0002', '42501', '55000', '40001', '23505', 'ALD_INVALID_ARGUMENT', 'ALD_CLOSED', 'ALD_HTTP_401'];
    for (const code of transient) expect(isTransient(new AldDbError({ code, message: '' })), code).toBe(true);
    for (const code of permanent) expect(isTransient(new AldDbError({ code, message: '' })), code).toBe(false);
  });
});

describe.each(TRANSPORTS)('error codes from a real database (%s transport)', (transport) => {
  let sql: postgres.Sql;
  let endpoint: PostgrestEndpoint;
  let reactor: Reactor;
  let db: AldDb;

  beforeAll(async () => {
    sql = adminSql();
    endpoint = await startEndpoint();
    reactor = await cloneReactor(sql, `errors ${transport}`);
    db = clientFor(transport, endpoint);
    await db.ready();
  });

  afterAll(async () => {
    await db?.close();
    await endpoint?.close();
    await dropReactor(sql, reactor);
    await sql.end();
  });

  it('22004 when a required argument is missing (start without a recipe)', async () => {
    expect(await failure(db.process.start({ machineId: reactor.machineId }))).toMatchObject({ code: '22004', message: 'recipe_id is required', operation: 'start_process' });
  });

  it('22023 for a fraction on an integer parameter, and for a non-finite value without a round trip', async () => {
    expect(await failure(db.parameters.set(reactor.param('chamber_heater/pid_period'), 10.5))).toMatchObject({ code: '22023' });
    const before = db.stats().roundTrips.set_parameter_value;
    expect(await failure(db.parameters.set(reactor.param('chamber_heater/pid_period'), Number.NaN))).toMatchObject({ code: '22023', message: 'value must be a finite number' });
    expect(db.stats().roundTrips.set_parameter_value).toBe(before);
  });

  it('22003 for a setpoint out of range, with the range in details', async () => {
    const e = await failure(db.parameters.set(reactor.param('chamber_heater/temperature_set'), 1e9));
    expect(e).toMatchObject({ code: '22003', message: 'value out of range' });
    expect(e.details).toContain('outside [0, 400]');
  });

  it('P0002 for an unknown parameter or machine', async () => {
    expect(await failure(db.parameters.set(randomUUID(), 1))).toMatchObject({ code: 'P0002', message: 'parameter not found' });
    expect(await failure(db.parameters.get(randomUUID()))).toMatchObject({ code: 'P0002' });
    expect(await failure(db.parameters.forMachine(randomUUID()))).toMatchObject({ code: 'P0002', message: 'machine not found' });
  });

  it('55000 for a read-only parameter', async () => {
    expect(await failure(db.parameters.set(reactor.param('chamber_heater/temperature_read'), 20))).toMatchObject({ code: '55000', message: 'parameter is not writable' });
  });

  it('40001 for a stale expectedVersion, with a hint', async () => {
    const id = reactor.param('chamber_heater/kp');
    const current = await db.parameters.get(id);
    const e = await failure(db.parameters.set(id, 5, { expectedVersion: current.version - 1 + 10 }));
    expect(e).toMatchObject({ code: '40001', message: 'parameter version conflict' });
    expect(e.hint).toMatch(/read the parameter again/);
  });

  it('23505 when the machine is already running a process', async () => {
    const plan = await db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
    try {
      expect(await failure(db.process.start({ machineId: reactor.machineId, recipeId: reactor.recipeId }))).toMatchObject({ code: '23505' });
    } finally {
      await db.process.complete({ processId: plan.process_id, status: 'aborted' });
    }
  });

  it('ALD_INVALID_ARGUMENT before any round trip, stating the rule and echoing the input', async () => {
    const before = JSON.stringify(db.stats().roundTrips);
    expect(await failure(db.parameters.getMany(42 as never))).toMatchObject({ code: 'ALD_INVALID_ARGUMENT', message: 'getMany must be called with an array of ids, but got: 42' });
    expect(await failure(db.parameters.get('nope'))).toMatchObject({ message: 'get must be called with a parameter id (a uuid string), but got: "nope"' });
    expect(await failure(db.parameters.set(reactor.param('chamber_heater/kp'), '5' as never))).toMatchObject({ message: 'set must be called with a number value, but got: "5"' });
    expect(await failure(db.process.advance({ processId: randomUUID(), stepId: randomUUID() }))).toMatchObject({ code: 'ALD_INVALID_ARGUMENT' });
    expect(JSON.stringify(db.stats().roundTrips)).toBe(before);
  });

  it('ALD_CLOSED after close(), for reads served from memory too', async () => {
    const other = clientFor(transport, endpoint);
    await other.ready();
    const id = reactor.param('chamber_heater/kd');
    await other.parameters.get(id);
    await other.parameters.get(id);
    await other.close();
    expect(await failure(other.parameters.get(id))).toMatchObject({ code: 'ALD_CLOSED' });
    expect(() => other.processRecorder(randomUUID())).toThrowError(expect.objectContaining({ code: 'ALD_CLOSED' }));
  });
});

describe('error codes of the supabase transport only', () => {
  let sql: postgres.Sql;
  let endpoint: PostgrestEndpoint;
  let reactor: Reactor;

  beforeAll(async () => {
    sql = adminSql();
    endpoint = await startEndpoint();
    reactor = await cloneReactor(sql, 'errors http');
  });

  afterAll(async () => {
    await endpoint?.close();
    await dropReactor(sql, reactor);
    await sql.end();
  });

  it('42501 (HTTP 403) when a viewer tries to operate the machine', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const viewer = createAldDb({ supabase: supabaseFor(endpoint, signJwt({ role: 'authenticated', sub: SEED.viewer, exp })) });
    try {
      expect(await failure(viewer.parameters.set(reactor.param('chamber_heater/kp'), 5))).toMatchObject({ code: '42501', status: 403 });
      expect(await failure(viewer.commands.claimNext(reactor.machineId))).toMatchObject({ code: '42501' });
      // Reading is what a viewer may do.
      expect(await viewer.parameters.forMachine(reactor.machineId)).toHaveLength(137);
    } finally {
      await viewer.close();
    }
  });

  it('P0002 answers HTTP 404, 55000 and 40001 409, 22003 422 through PostgREST, with the SQLSTATE kept in code', async () => {
    const db = createAldDb({ supabase: supabaseFor(endpoint, signJwt({ role: 'service_role' })) });
    try {
      const kp = reactor.param('chamber_heater/kp');
      const row = await db.parameters.get(kp);
      expect(await failure(db.parameters.set(randomUUID(), 1))).toMatchObject({ code: 'P0002', status: 404, message: 'parameter not found' });
      expect(await failure(db.parameters.set(kp, row.max_value! + 1))).toMatchObject({ code: '22003', status: 422 });
      expect(await failure(db.parameters.set(kp, 5, { expectedVersion: row.version + 10 })))
        .toMatchObject({ code: '40001', status: 409, hint: 'read the parameter again and retry with its current version' });
      expect(await failure(db.parameters.set(reactor.param('chamber_pressure_gauge/pressure_read'), 1))).toMatchObject({ code: '55000', status: 409 });
      // Nothing was written by any of them.
      expect(await sql`select count(*)::int as n from public.parameter_changes where parameter_id = ${kp}`).toEqual([{ n: 0 }]);
    } finally {
      await db.close();
    }
  });

  it('ALD_HTTP_401 when the API refuses the key', async () => {
    const forged = createAldDb({ supabase: supabaseFor(endpoint, signJwt({ role: 'service_role' }, 'another-secret-of-at-least-32-characters')) });
    try {
      expect(await failure(forged.parameters.forMachine(reactor.machineId))).toMatchObject({ code: 'ALD_HTTP_401', status: 401 });
    } finally {
      await forged.close();
    }
  });

  it('ALD_CONNECTION when the API cannot be reached, after the retries', async () => {
    const unreachable = createAldDb({ supabase: supabaseFor('http://127.0.0.1:9'), retry: { baseMs: 1, maxMs: 2 } });
    try {
      expect(await failure(unreachable.parameters.forMachine(reactor.machineId))).toMatchObject({ code: 'ALD_CONNECTION' });
      expect(unreachable.stats()).toMatchObject({ retries: 2, roundTrips: { get_machine_parameters: 3 } });
    } finally {
      await unreachable.close();
    }
  });
});

describe('error codes of the network (direct transport through a TcpProxy)', () => {
  let proxy: TcpProxy;

  beforeAll(async () => {
    const target = new URL(databaseUrl());
    proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    await proxy.start();
  });

  afterAll(async () => {
    await proxy?.close();
  });

  it('ALD_CONNECTION when connections are refused, after the retries', async () => {
    proxy.setRefusing(true);
    const db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), retry: { baseMs: 1, maxMs: 2 } });
    try {
      expect(await failure(db.parameters.forMachine(SEED.reactor))).toMatchObject({ code: 'ALD_CONNECTION' });
      expect(db.stats()).toMatchObject({ retries: 2, roundTrips: { get_machine_parameters: 3 } });
    } finally {
      proxy.setRefusing(false);
      await db.close();
    }
  });

  it('ALD_TIMEOUT when no reply comes within timeoutMs', async () => {
    const db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), timeoutMs: 100, retry: { attempts: 1 } });
    try {
      proxy.setRtt(3_600_000); // nothing gets through: not even the connection's startup
      expect(await failure(db.parameters.forMachine(SEED.reactor))).toMatchObject({ code: 'ALD_TIMEOUT', operation: 'get_machine_parameters' });
    } finally {
      proxy.setRtt(0);
      proxy.resetAll();
      await db.close();
    }
  });

  it('ALD_BUFFER_FULL as the recorder\'s overflow event while the database is unreachable', async () => {
    proxy.setRefusing(true);
    const db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl() });
    try {
      const recorder = db.processRecorder(randomUUID(), { maxBufferedRows: 3, retryBaseMs: 50, retryMaxMs: 50 });
      const overflow = nextEvent(recorder, 'overflow');
      const readings = { [randomUUID()]: 1, [randomUUID()]: 2 };
      recorder.record(readings);
      recorder.record(readings);
      const [error, info] = await overflow;
      seen.add(String(error.code));
      expect(error.code).toBe('ALD_BUFFER_FULL');
      expect(info).toEqual({ rows: 2, bufferedRows: 2 });
      expect(db.stats().recorder).toMatchObject({ bufferedRows: 2, dropped: 2 });
    } finally {
      proxy.setRefusing(false);
      await db.close({ timeoutMs: 100 });
    }
  });
});

describe('ERROR_CODES', () => {
  it('documents every code the tests above produced', () => {
    const documented = Object.keys(ERROR_CODES);
    for (const code of seen) {
      expect(documented.includes(code) || (/^ALD_HTTP_\d{3}$/.test(code) && documented.includes('ALD_HTTP_<status>')), code).toBe(true);
    }
    expect(seen.size).toBeGreaterThanOrEqual(14);
  });
});
