// The journal the hard way (issue 16):
//  1. kill -9 of the controller process in the middle of a run, during a database blackout, then a
//     restart on the same journal: every tick and every step is in the database exactly once;
//  2. a blackout in the middle of a timed recipe: every step runs in its own slot of the
//     controller's schedule, as in the same recipe without the blackout, and all its data arrives
//     afterwards, each step stored with the time the controller ran it (not the time it
//     drained). The blackout is 2 s here; `npm run test:soak -- --journal` runs it for 60 s
//     (JOURNAL_BLACKOUT_MS).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createAldDb } from '../../src/index.ts';
import type { TcpProxy } from '../../support/tcp-proxy.ts';
import { adminSql, cloneReactor, databaseUrl, dropReactor, startProxy, viaPort, type Reactor } from './support.ts';

const BLACKOUT_MS = Number(process.env.JOURNAL_BLACKOUT_MS ?? 2000);

let sql: postgres.Sql;
let proxy: TcpProxy;
let reactor: Reactor;
let dir: string;

beforeAll(async () => {
  sql = adminSql();
  proxy = await startProxy();
  reactor = await cloneReactor(sql, 'journal faults');
  dir = mkdtempSync(join(tmpdir(), 'ald-journal-faults-'));
});

afterAll(async () => {
  await proxy?.close();
  await dropReactor(sql, reactor);
  await sql?.end();
  rmSync(dir, { recursive: true, force: true });
});

async function stored(processId: string) {
  const [steps] = await sql<{ n: number; distinct: number }[]>`
    select count(*)::int as n, count(distinct step_index)::int as distinct from public.step_executions where process_id = ${processId}`;
  const [points] = await sql<{ n: number; keys: number; stamps: number }[]>`
    select count(*)::int as n, count(distinct (parameter_id, ts))::int as keys, count(distinct ts)::int as stamps
    from public.process_data_points where process_id = ${processId}`;
  const [run] = await sql<{ status: string }[]>`select status::text from public.process_executions where id = ${processId}`;
  return { steps, points, status: run?.status };
}

/** started_at and ended_at of every step (epoch ms, exact: a fraction of a ms would show), and the run's ended_at. */
async function stepTimes(processId: string) {
  const steps = await sql<{ started: number; ended: number }[]>`
    select (extract(epoch from started_at) * 1000)::float8 as started, (extract(epoch from ended_at) * 1000)::float8 as ended
    from public.step_executions where process_id = ${processId} order by step_index`;
  const [run] = await sql<{ ended: number }[]>`
    select (extract(epoch from ended_at) * 1000)::float8 as ended from public.process_executions where id = ${processId}`;
  return { steps: steps.map((x) => ({ started: x.started, ended: x.ended })), runEnded: run.ended };
}

interface Child { proc: ChildProcess; lines: Record<string, unknown>[]; waitFor: (p: (l: Record<string, unknown>) => boolean) => Promise<void>; exit: Promise<number | null> }

function controller(mode: 'start' | 'resume', journal: string, ticks: 'run' | 'machine' = 'run'): Child {
  // node itself with tsx's loader (not the tsx wrapper, whose own child would survive the SIGKILL).
  const proc = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'tests/faults/journal-child.ts')], {
    env: {
      ...process.env, MODE: mode, JOURNAL: journal, DB_URL: viaPort(proxy.port), LISTEN_URL: databaseUrl(),
      MACHINE: reactor.machineId, RECIPE: reactor.recipeId, STEP_MS: '25', NODE_NO_WARNINGS: '1', TICKS: ticks,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const watchers = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of watchers) w();
  });
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const waitFor = (p: (l: Record<string, unknown>) => boolean) => new Promise<void>((resolve, reject) => {
    const check = () => {
      if (lines.some(p)) {
        watchers.delete(check);
        resolve();
      }
    };
    watchers.add(check);
    check();
    void exit.then((code) => {
      if (!lines.some(p)) reject(new Error(`controller exited (${code}) before the awaited line; stderr: ${stderr}`));
    });
  });
  return { proc, lines, waitFor, exit };
}

describe('the journal under faults', () => {
  it.each([
    ['the run\'s ticks (run.record)', 'run'],
    ['the machine\'s ticks (journal.recorder, the README\'s loop)', 'machine'],
  ] as const)('kill -9 during a blackout, restart: every tick and step in the database exactly once, %s', { timeout: 120_000 }, async (_label, ticks) => {
    const path = join(dir, `killed-${ticks}.db`);
    const first = controller('start', path, ticks);
    await first.waitFor((l) => l.event === 'step' && l.i === 5);
    // The database disappears (every connection reset, new ones refused) while the run goes on.
    proxy.setRefusing(true);
    proxy.resetAll();
    await first.waitFor((l) => l.event === 'step' && l.i === 20);
    first.proc.kill('SIGKILL');
    expect(await first.exit).toBe(null);
    const processId = String(first.lines[0].processId);
    const acknowledged = { ticks: first.lines.filter((l) => l.event === 'tick').length, steps: first.lines.filter((l) => l.event === 'step').length };
    expect(acknowledged.steps).toBeGreaterThanOrEqual(21);
    // Nothing reached the database during the blackout.
    const during = await stored(processId);
    expect(during.steps.n).toBeLessThan(acknowledged.steps);

    proxy.setRefusing(false);
    const second = controller('resume', path, ticks);
    await second.waitFor((l) => l.event === 'started');
    // It knew its run and where it was: the step after the last one journaled before the kill.
    expect(second.lines[0]).toMatchObject({ processId });
    expect(Number(second.lines[0].next)).toBeGreaterThanOrEqual(acknowledged.steps);
    await second.waitFor((l) => l.event === 'done');
    expect(await second.exit).toBe(0);

    const s = await stored(processId);
    expect(s.status).toBe('completed');
    expect(s.steps).toEqual({ n: 45, distinct: 45 });
    // One tick per step, 20 rows each, every one exactly once (those acknowledged before the kill included).
    expect(s.points).toEqual({ n: 45 * 20, keys: 45 * 20, stamps: 45 });
  });

  it(`a ${BLACKOUT_MS / 1000} s blackout during a recipe: every step in its slot, as without it; all data afterwards`, { timeout: 60_000 + 4 * BLACKOUT_MS }, async () => {
    const slotMs = Math.max(150, Math.ceil(BLACKOUT_MS / 30));
    const runOnce = async (blackoutAtStep: number | null, name: string) => {
      const db = createAldDb({ databaseUrl: viaPort(proxy.port), listenUrl: databaseUrl(), timeoutMs: 2000 });
      const journal = db.journal({ path: join(dir, `${name}.db`), retryBaseMs: 50, retryMaxMs: 500 });
      try {
        const run = await journal.start({ machineId: reactor.machineId, recipeId: reactor.recipeId });
        // The controller's time of each step (LocalStepReply.at) and of the end (complete_process' args).
        const stepAt: string[] = [];
        let completeAt: string | undefined;
        journal.on('applied', (info) => {
          if (info.kind === 'complete_process') completeAt = info.args.at as string;
        });
        const t0 = performance.now();
        const late: number[] = [];
        let blackout: Promise<void> | undefined;
        let dark = false;
        let stepsInTheDark = 0;
        for (const step of run.steps) {
          const due = t0 + step.step_index * slotMs;
          // Timers may fire up to a millisecond early: wait until the slot has begun.
          while (performance.now() < due) await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(due - performance.now()))));
          if (step.step_index === blackoutAtStep) {
            dark = true;
            blackout = proxy.blackout(BLACKOUT_MS).then(() => { dark = false; });
          }
          if (dark) stepsInTheDark++;
          run.record(Object.fromEntries(reactor.parameterIds.map((id, j) => [id, step.step_index + j])));
          stepAt.push(run.advance().at);
          // How far into its slot the step's journaled write finished.
          late.push((performance.now() - due) / slotMs);
        }
        run.complete();
        const finishedInSlots = (performance.now() - t0) / slotMs;
        if (blackout) {
          // Steps ran on schedule through the whole blackout, with no database to reach.
          expect(stepsInTheDark).toBeGreaterThanOrEqual(Math.floor(BLACKOUT_MS / slotMs) - 1);
          await blackout;
        }
        await journal.flush({ timeoutMs: 30_000 + BLACKOUT_MS });
        return { processId: run.processId, late, finishedInSlots, stepAt, completeAt };
      } finally {
        await db.close();
      }
    };
    const calm = await runOnce(null, 'calm');
    const stormy = await runOnce(5, 'stormy');
    // The blackout covered part of the recipe, not all of it.
    expect(slotMs * 40).toBeGreaterThan(BLACKOUT_MS);
    for (const r of [calm, stormy]) {
      // Every step finished inside its own slot of the schedule, and the recipe ended in the slot
      // after its last step: with or without the database.
      expect(r.late.filter((x) => !(x >= 0 && x < 1))).toEqual([]);
      expect(Math.floor(r.finishedInSlots)).toBe(44);
      const s = await stored(r.processId);
      expect(s.status).toBe('completed');
      expect(s.steps).toEqual({ n: 45, distinct: 45 });
      expect(s.points).toEqual({ n: 45 * reactor.parameterIds.length, keys: 45 * reactor.parameterIds.length, stamps: 45 });
      // Each step is stored with the time the controller ran it, to the millisecond, not the time
      // its journal entry drained: the steps of the blackout keep their spacing (the drain would
      // have stamped them all with the reconnect time, one now() per batch); each ends when the
      // next began, the last one and the run when complete() was called.
      const times = await stepTimes(r.processId);
      expect(r.stepAt).toHaveLength(45);
      expect(times.steps.map((x) => x.started)).toEqual(r.stepAt.map((t) => Date.parse(t)));
      expect(new Set(times.steps.map((x) => x.started)).size).toBe(45);
      expect(times.steps.map((x) => x.ended)).toEqual([...r.stepAt.slice(1), r.completeAt].map((t) => Date.parse(t!)));
      expect(times.runEnded).toBe(Date.parse(r.completeAt!));
    }
  });
});
