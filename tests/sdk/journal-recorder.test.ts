// The machine's recorder through the journal (issue 16): journal.recorder(machineId) journals every
// tick (durable) before record() returns and drains them by record_readings, whether or not a run
// is open: every tick once, in order, merged while the parameters stay the same, through an outage
// and a restart on the same journal file; bounded by maxPendingBytes with an explicit alarm.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb, type AldDb, type AldDbError } from '../../src/index.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { adminSql, cloneReactor, databaseUrl, dropReactor, viaPort, type Reactor } from './support.ts';

let sql: postgres.Sql;
let dir: string;
let proxy: TcpProxy;
let reactor: Reactor;
let db: AldDb;

beforeAll(async () => {
  sql = adminSql();
  dir = mkdtempSync(join(tmpdir(), 'ald-journal-recorder-'));
  const target = new URL(databaseUrl());
  proxy = new TcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  await proxy.start();
  reactor = await cloneReactor(sql, 'journaled recorder');
  db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), timeoutMs: 3000 });
});

afterAll(async () => {
  await db?.close();
  await proxy?.close();
  await dropReactor(sql, reactor);
  await sql?.end();
  rmSync(dir, { recursive: true, force: true });
});

/** Tick i of a series: one second apart, ending before now (the server refuses ticks from the future). */
let series = 0;
function clock(): (i: number) => Date {
  const base = Date.now() - 3_600_000 + (series++) * 600_000;
  return (i) => new Date(base + i * 1000);
}

const readingsOf = (ids: string[], i: number) => Object.fromEntries(ids.map((id, j) => [id, i * 100 + j]));

async function stored(from: Date, to: Date) {
  const [r] = await sql<{ ticks: number; distinct: number; runs: number }[]>`
    select count(*)::int as ticks, count(distinct ts)::int as distinct, count(process_id)::int as runs
    from public.readings where machine_id = ${reactor.machineId} and ts between ${from} and ${to}`;
  return r;
}

describe('journal.recorder(machineId)', () => {
  it('records an idle machine through the journal: 0 round trips per tick, every tick once, the backlog in one call', async () => {
    const journal = db.journal({ path: join(dir, 'idle.db') });
    const recorder = journal.recorder(reactor.machineId);
    const ids = reactor.parameterIds.slice(0, 20);
    const at = clock();
    const before = db.stats().roundTrips;
    const sent: { rows: number; ticks: number; inserted: number }[] = [];
    recorder.on('sent', (info) => sent.push(info));
    for (let i = 0; i < 50; i++) expect(recorder.record(readingsOf(ids, i), at(i))).toBe(true);
    // record() is synchronous and journals: nothing was sent while it ran.
    expect(db.stats().roundTrips).toEqual(before);
    expect(journal.state().pending).toMatchObject({ entries: 50, rows: 50 * 20 });
    await recorder.flush({ timeoutMs: 20_000 });
    const after = db.stats().roundTrips;
    // The 50 ticks, journaled back to back, drained as one record_readings call in one apply_journal.
    expect((after.apply_journal ?? 0) - (before.apply_journal ?? 0)).toBe(1);
    expect(after.record_readings ?? 0).toBe(0);
    expect(sent).toEqual([{ rows: 1000, ticks: 50, inserted: 1000 }]);
    expect(recorder.sent).toBe(1000);
    expect(await stored(at(0), at(49))).toEqual({ ticks: 50, distinct: 50, runs: 0 });
    // The machine's latest tick is the last one, with its values.
    const latest = await db.readings.latest(reactor.machineId);
    expect(new Date(latest[0].ts).getTime()).toBe(at(49).getTime());
    expect(Object.fromEntries(latest.filter((l) => ids.includes(l.parameter_id)).map((l) => [l.parameter_id, l.value]))).toEqual(readingsOf(ids, 49));
    await recorder.close();
    journal.close();
  });

  it('through an outage: ticks pile up on disk and arrive once, in order, after the reconnect (one call per run of equal parameters)', async () => {
    const journal = db.journal({ path: join(dir, 'outage.db'), retryBaseMs: 20, retryMaxMs: 100 });
    const recorder = journal.recorder(reactor.machineId);
    const at = clock();
    const first = reactor.parameterIds.slice(0, 10);
    const second = reactor.parameterIds.slice(10, 22);
    proxy.setRefusing(true);
    proxy.resetAll();
    const retried = new Promise((resolve) => recorder.once('retry', resolve));
    for (let i = 0; i < 15; i++) recorder.record(readingsOf(first, i), at(i));
    for (let i = 15; i < 30; i++) recorder.record(readingsOf(second, i), at(i));
    // A tick with set points is not merged with ticks without.
    recorder.record(second.map((id, j) => ({ parameterId: id, value: j, setPoint: j + 0.5 })), at(30));
    await retried;
    expect(journal.state().pending.entries).toBe(31);
    const drained: { entries: number; calls: number }[] = [];
    journal.on('sent', (info) => drained.push({ entries: info.entries, calls: info.calls }));
    proxy.setRefusing(false);
    await recorder.flush({ timeoutMs: 20_000 });
    // The backlog in one round trip: three record_readings calls (10 ids, 12 ids, 12 ids with set points).
    expect(drained).toEqual([{ entries: 31, calls: 3 }]);
    expect(await stored(at(0), at(30))).toEqual({ ticks: 31, distinct: 31, runs: 0 });
    const [withSetPoints] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.readings where machine_id = ${reactor.machineId} and ts between ${at(0)} and ${at(30)} and set_points is not null`;
    expect(withSetPoints.n).toBe(1);
    await recorder.close();
    journal.close();
  });

  it('a restart on the same journal file drains what it holds once; ticks recorded again store nothing', async () => {
    const path = join(dir, 'restart.db');
    let journal = db.journal({ path, retryBaseMs: 20, retryMaxMs: 100 });
    let recorder = journal.recorder(reactor.machineId);
    const ids = reactor.parameterIds.slice(0, 30);
    const at = clock();
    proxy.setRefusing(true);
    proxy.resetAll();
    for (let i = 0; i < 10; i++) recorder.record(readingsOf(ids, i), at(i));
    journal.close(); // the controller dies with everything on disk
    expect(() => recorder.record(readingsOf(ids, 10), at(10))).toThrow(expect.objectContaining({ code: 'ALD_CLOSED' }));
    proxy.setRefusing(false);

    journal = db.journal({ path });
    expect(journal.state().pending.entries).toBe(10);
    await journal.flush({ timeoutMs: 20_000 });
    expect(await stored(at(0), at(9))).toEqual({ ticks: 10, distinct: 10, runs: 0 });
    // The restarted controller records the same ticks again: the key (machine, tick time) keeps one of each.
    recorder = journal.recorder(reactor.machineId);
    const sent: number[] = [];
    recorder.on('sent', (info) => sent.push(info.inserted));
    for (let i = 0; i < 10; i++) recorder.record(readingsOf(ids, i), at(i));
    await recorder.flush({ timeoutMs: 20_000 });
    expect(sent).toEqual([0]);
    expect(await stored(at(0), at(9))).toEqual({ ticks: 10, distinct: 10, runs: 0 });
    await recorder.close();
    journal.close();
  });

  it('past maxPendingBytes: the tick is refused with ALD_JOURNAL_FULL (overflow, and the journal\'s full alarm); a tick the database refuses is reported', async () => {
    const journal = db.journal({ path: join(dir, 'full.db'), maxPendingBytes: 20_000, retryBaseMs: 20, retryMaxMs: 100 });
    const recorder = journal.recorder(reactor.machineId);
    const at = clock();
    const overflows: string[] = [];
    const alarms: string[] = [];
    recorder.on('overflow', (error) => overflows.push(String(error.code)));
    journal.on('full', (error) => alarms.push(String(error.code)));
    proxy.setRefusing(true);
    proxy.resetAll();
    const accepted = Array.from({ length: 6 }, (_, i) => recorder.record(readingsOf(reactor.parameterIds, i), at(i)));
    const refused = accepted.filter((a) => !a).length;
    expect(refused).toBeGreaterThan(0);
    expect(overflows).toEqual(Array(refused).fill('ALD_JOURNAL_FULL'));
    expect(alarms).toEqual(overflows);
    expect(recorder.dropped).toBe(refused * reactor.parameterIds.length);
    proxy.setRefusing(false);
    await expect(recorder.flush({ timeoutMs: 20_000 })).rejects.toMatchObject({ code: 'ALD_JOURNAL_FULL' });
    expect((await stored(at(0), at(5))).ticks).toBe(accepted.filter(Boolean).length);

    // A parameter of no machine: the database refuses the tick for good; it is reported, the next one stored.
    const errors: AldDbError[] = [];
    recorder.on('error', (error) => errors.push(error));
    recorder.record({ '00000000-0000-4000-8000-00000000dead': 1 }, at(10));
    recorder.record(readingsOf(reactor.parameterIds.slice(0, 5), 11), at(11));
    await expect(recorder.flush({ timeoutMs: 20_000 })).rejects.toMatchObject({ code: '22023' });
    expect(errors.map((e) => e.code)).toEqual(['22023']);
    expect(journal.refusedEntries().map((e) => e.kind)).toEqual(['record_readings']);
    expect((await stored(at(10), at(11))).ticks).toBe(1);
    await recorder.close();
    journal.close();
  });

  it('refuses misuse before journaling anything', () => {
    const journal = db.journal({ path: join(dir, 'misuse.db') });
    expect(() => journal.recorder('not-a-uuid')).toThrow(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    const recorder = journal.recorder(reactor.machineId);
    const id = reactor.parameterIds[0];
    expect(() => recorder.record([{ parameterId: id, value: 1 }, { parameterId: id, value: 2 }])).toThrow(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    expect(() => recorder.record({ [id]: 1 }, 'yesterday')).toThrow(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    expect(journal.state().pending.entries).toBe(0);
    journal.close();
  });
});
