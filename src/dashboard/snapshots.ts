// The dashboard's clock: every intervalMs one snapshot (SDK metrics + database status + the
// doctor's last report), kept in a bounded history and handed to the subscribers (the SSE
// clients). Ticks never overlap: the next one is scheduled when the previous one has finished.
import type { Registry } from 'prom-client';
import type { DatabaseMonitor } from './database-monitor.ts';
import { describeError } from './database-monitor.ts';
import { SdkWindow } from './sdk-stats.ts';
import type { HistoryPoint, Snapshot } from './types.ts';

export interface SnapshotOptions {
  intervalMs: number;
  windowMs: number;
  /** Snapshots kept for GET /api/snapshot?id= and GET /api/history. */
  historySize: number;
}

export class Snapshots {
  private readonly history: Snapshot[] = [];
  private readonly subscribers = new Set<(s: Snapshot) => void>();
  private readonly window: SdkWindow;
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Why the registry could not be read last time (a broken custom collect()), else null. */
  private registryError: string | null = null;

  constructor(
    private readonly registry: Pick<Registry, 'getMetricsAsJSON'> | undefined,
    private readonly database: DatabaseMonitor,
    private readonly options: SnapshotOptions,
  ) {
    this.window = new SdkWindow(options.windowMs);
  }

  /** Takes the first snapshot (once the first database check is over), then one every intervalMs. */
  async start(): Promise<void> {
    this.database.start();
    await this.database.check();
    await this.tick();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.database.stop();
    this.subscribers.clear();
  }

  latest(): Snapshot | undefined {
    return this.history[this.history.length - 1];
  }

  byId(id: number): Snapshot | undefined {
    return this.history.find((s) => s.id === id);
  }

  /** The history without the doctor's report (the charts' points), oldest first. */
  points(): HistoryPoint[] {
    return this.history.map(({ doctor: _doctor, ...point }) => point);
  }

  subscribe(fn: (s: Snapshot) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule());
    }, this.options.intervalMs);
  }

  private async tick(): Promise<void> {
    // A slow database delays the tick by at most half an interval (see DatabaseMonitor.check).
    await this.database.check(Math.max(50, this.options.intervalMs / 2));
    const atMs = Date.now();
    let sdk: Snapshot['sdk'] = null;
    if (this.registry) {
      try {
        sdk = await this.window.read(this.registry, atMs);
        this.registryError = null;
      } catch (error) {
        this.registryError = describeError(error);
      }
    }
    const snapshot: Snapshot = {
      id: this.nextId++,
      at: new Date(atMs).toISOString(),
      atMs,
      intervalMs: this.options.intervalMs,
      windowMs: this.options.windowMs,
      sdk,
      sdkError: this.registryError,
      database: this.database.status(),
      doctor: this.database.doctor(),
    };
    this.history.push(snapshot);
    if (this.history.length > this.options.historySize) this.history.shift();
    for (const fn of this.subscribers) fn(snapshot);
  }
}
