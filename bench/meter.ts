// Times one controller action and counts its round trips at the TcpProxy.
//
// The proxy counts a round trip for every ReadyForQuery the server sends (one per simple Query
// or extended-protocol Sync) and counts it as the bytes arrive, before forwarding them; so by the
// time the client's promise resolves, the proxy has counted every round trip of the action.
// Each controller (old, new) gets a proxy of its own, so the other's traffic never mixes in.
import { performance } from 'node:perf_hooks';
import type { TcpProxy } from '../support/tcp-proxy.ts';
import { distribution, round, type Distribution } from './stats.ts';

export interface Measurement {
  /** Round trips per action: the mean over the measured iterations (an integer when every iteration cost the same). */
  roundTrips: number;
  /** Fewest and most round trips one iteration cost. */
  roundTripsMin: number;
  roundTripsMax: number;
  /**
   * Times per action the client had to wait for the server (the proxy's clientTurns), mean over
   * the iterations: equals roundTrips when every statement was already prepared; more when a
   * statement was parsed first (postgres.js's Parse/Describe, then Bind/Execute).
   */
  clientWaits: number;
  /** Connections opened while the iterations ran (0 in the steady state: each opening costs a handshake and a type query). */
  newConnections: number;
  /** Latency of one action in ms. */
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  iterations: number;
}

export interface MeasureOptions {
  iterations: number;
  /** Unmeasured runs first: prepared statements, connection start-up and cache fills are not the steady state. */
  warmup?: number;
}

export class Meter {
  constructor(readonly proxy: TcpProxy) {}

  /** Runs action (warmup + iterations) times, one after another. */
  async measure(action: (i: number) => Promise<unknown>, opts: MeasureOptions): Promise<Measurement> {
    const warmup = opts.warmup ?? 2;
    for (let i = 0; i < warmup; i++) await action(-1 - i);
    const times: number[] = [];
    const trips: number[] = [];
    let waits = 0;
    const connections = this.proxy.stats().connections;
    for (let i = 0; i < opts.iterations; i++) {
      const before = this.proxy.stats();
      const t0 = performance.now();
      await action(i);
      times.push(performance.now() - t0);
      const after = this.proxy.stats();
      trips.push(after.roundTrips - before.roundTrips);
      waits += after.clientTurns - before.clientTurns;
    }
    return summarize(times, trips, waits, this.proxy.stats().connections - connections);
  }

  /** Round trips of one unmeasured call (start, complete, background requests). */
  async count(action: () => Promise<unknown>): Promise<number> {
    const before = this.proxy.stats().roundTrips;
    await action();
    return this.proxy.stats().roundTrips - before;
  }
}

function summarize(times: number[], trips: number[], waits: number, newConnections: number): Measurement {
  const d: Distribution = distribution(times);
  const total = trips.reduce((s, x) => s + x, 0);
  return {
    roundTrips: round(total / trips.length, 2),
    roundTripsMin: Math.min(...trips),
    roundTripsMax: Math.max(...trips),
    clientWaits: round(waits / trips.length, 2),
    newConnections,
    p50: round(d.p50),
    p95: round(d.p95),
    p99: round(d.p99),
    mean: round(d.mean),
    iterations: trips.length,
  };
}
