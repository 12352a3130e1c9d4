// The journal's file: an SQLite database (node:sqlite, built into Node ≥ 22.13) in WAL mode with
// synchronous=FULL. Why SQLite, and what is durable when, is in docs/journal.md; in short:
//   - append() is one transaction; with WAL + synchronous=FULL the commit has reached the disk
//     (fsync of the WAL) when it returns, so an acknowledged entry survives kill -9 and power loss;
//   - a write cut short (power loss mid-record) leaves a WAL tail without a valid commit frame;
//     SQLite's recovery ignores it, so the journal reopens at the last whole committed record. open()
//     reads the WAL before SQLite does and reports such a tail (`recovery`), so the loss is seen;
//   - entries are deleted only once the database acknowledged them (drain), in one transaction
//     that is not fsynced: losing it to power loss means sending them again (idempotent).
//
// node:sqlite is loaded on first use (process.getBuiltinModule), so importing the SDK never prints
// Node's ExperimentalWarning for SQLite unless a journal is opened.
import { existsSync, openSync, readSync, closeSync, statSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { AldDbError } from './errors.ts';

export interface StoredEntry {
  seq: number;
  kind: string;
  args: Record<string, unknown>;
  rows: number;
  bytes: number;
}

export interface RefusedEntry {
  seq: number;
  kind: string;
  args: Record<string, unknown>;
  code: string;
  message: string;
  detail: string | null;
  at: string;
}

/** What open() found at the end of the WAL: a write that never committed (torn by a crash). */
export interface RecoveryReport {
  /** Bytes of the WAL after its last whole committed transaction: discarded by SQLite's recovery. */
  tornBytes: number;
  /** Whole WAL frames (pages) after the last commit: an unfinished transaction. */
  uncommittedFrames: number;
  /** A partial frame at the very end (the write itself was cut). */
  partialFrameBytes: number;
  /** The last whole record recovered (0: none). */
  lastSeq: number;
}

type SqliteModule = typeof import('node:sqlite');

function loadSqlite(): SqliteModule {
  const get = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const mod = get?.('node:sqlite') as SqliteModule | undefined;
  if (!mod?.DatabaseSync) {
    throw new AldDbError({
      code: 'ALD_UNEXPECTED', operation: 'journal',
      message: `the journal needs node:sqlite (Node.js ≥ 22.13), but this is Node.js ${process.versions.node}`,
    });
  }
  return mod;
}

/**
 * Reads the WAL of `path` (if any) the way SQLite's recovery will: frames whose salts match the
 * header count, up to the last commit frame. Anything after it is a transaction that never
 * committed, which SQLite discards; report it.
 */
export function inspectWal(path: string): Omit<RecoveryReport, 'lastSeq'> | null {
  const wal = `${path}-wal`;
  if (!existsSync(wal)) return null;
  const size = statSync(wal).size;
  if (size < 32) return size === 0 ? null : { tornBytes: size, uncommittedFrames: 0, partialFrameBytes: size };
  const fd = openSync(wal, 'r');
  try {
    const header = Buffer.alloc(32);
    readSync(fd, header, 0, 32, 0);
    const magic = header.readUInt32BE(0);
    if (magic !== 0x377f0682 && magic !== 0x377f0683) return null;
    const pageSize = header.readUInt32BE(8);
    const salt1 = header.readUInt32BE(16);
    const salt2 = header.readUInt32BE(20);
    const frameSize = 24 + pageSize;
    const frameHeader = Buffer.alloc(24);
    let offset = 32;
    let committedEnd = 32;
    let framesAfterCommit = 0;
    let partial = 0;
    while (offset < size) {
      if (size - offset < frameSize) {
        partial = size - offset;
        break;
      }
      readSync(fd, frameHeader, 0, 24, offset);
      // Frames of an older generation of the WAL (reused after a checkpoint) carry other salts.
      if (frameHeader.readUInt32BE(8) !== salt1 || frameHeader.readUInt32BE(12) !== salt2) break;
      offset += frameSize;
      if (frameHeader.readUInt32BE(4) !== 0) {
        committedEnd = offset;
        framesAfterCommit = 0;
      } else {
        framesAfterCommit++;
      }
    }
    const torn = framesAfterCommit * frameSize + partial;
    if (torn === 0) return null;
    void committedEnd;
    return { tornBytes: torn, uncommittedFrames: framesAfterCommit, partialFrameBytes: partial };
  } finally {
    closeSync(fd);
  }
}

export class JournalStore {
  /** Entries not yet acknowledged by the database. */
  pendingEntries = 0;
  pendingRows = 0;
  pendingBytes = 0;
  lastSeq = 0;
  readonly recovery: RecoveryReport | null;
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly setMeta: StatementSync;
  private readonly getMeta: StatementSync;
  private readonly selectHead: StatementSync;
  private readonly deleteOne: StatementSync;
  private readonly insertRefused: StatementSync;
  private readonly selectAcks: StatementSync;
  private closed = false;
  /** Commits since the last checkpoint: SQLite's automatic checkpoint is off (see checkpoint()). */
  private commits = 0;

  constructor(readonly path: string) {
    const { DatabaseSync } = loadSqlite();
    mkdirSync(dirname(path), { recursive: true });
    const torn = inspectWal(path);
    this.db = new DatabaseSync(path);
    this.db.exec(`
      pragma journal_mode = wal;
      pragma synchronous = full;
      pragma wal_autocheckpoint = 0;
      pragma foreign_keys = off;
      create table if not exists entries (
        seq integer primary key autoincrement,
        kind text not null,
        args text not null,
        rows integer not null,
        bytes integer not null,
        at text not null
      );
      create table if not exists refused (
        seq integer primary key,
        kind text not null,
        args text not null,
        code text not null,
        message text not null,
        detail text,
        at text not null
      );
      create table if not exists meta (key text primary key, value text not null);
      -- The setpoint acks still pending (few; a partial index costs the ticks and steps nothing).
      create index if not exists entries_acks on entries (seq) where kind = 'ack_setpoint_requests';
    `);
    this.insert = this.db.prepare('insert into entries (kind, args, rows, bytes, at) values (?, ?, ?, ?, ?)');
    this.setMeta = this.db.prepare('insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value');
    this.getMeta = this.db.prepare('select value from meta where key = ?');
    this.selectHead = this.db.prepare('select seq, kind, args, rows, bytes from entries where seq > ? order by seq limit ?');
    this.deleteOne = this.db.prepare('delete from entries where seq = ?');
    this.insertRefused = this.db.prepare('insert or replace into refused (seq, kind, args, code, message, detail, at) values (?, ?, ?, ?, ?, ?, ?)');
    this.selectAcks = this.db.prepare(`select seq, kind, args, rows, bytes from entries where kind = 'ack_setpoint_requests' order by seq`);
    const totals = this.db.prepare('select count(*) as n, coalesce(sum(rows), 0) as r, coalesce(sum(bytes), 0) as b, coalesce(max(seq), 0) as m from entries').get() as
      { n: number; r: number; b: number; m: number };
    this.pendingEntries = Number(totals.n);
    this.pendingRows = Number(totals.r);
    this.pendingBytes = Number(totals.b);
    const seqRow = this.db.prepare(`select coalesce((select seq from sqlite_sequence where name = 'entries'), 0) as s`).get() as { s: number };
    this.lastSeq = Math.max(Number(totals.m), Number(seqRow.s));
    this.recovery = torn ? { ...torn, lastSeq: this.lastSeq } : null;
  }

  /**
   * Appends one entry (and sets meta keys) in one transaction: durable on disk when it returns.
   * Returns the entry's seq.
   */
  append(kind: string, args: Record<string, unknown>, rows: number, meta: Record<string, string> = {}): number {
    const text = JSON.stringify(args);
    const bytes = Buffer.byteLength(text);
    this.db.exec('begin immediate');
    try {
      const result = this.insert.run(kind, text, rows, bytes, new Date().toISOString());
      for (const [k, v] of Object.entries(meta)) this.setMeta.run(k, v);
      this.db.exec('commit');
      this.lastSeq = Number(result.lastInsertRowid);
      // A backstop for a drain that never runs (a long outage): the WAL is folded back anyway.
      if (++this.commits >= 20_000) this.checkpoint();
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('rollback');
      throw error;
    }
    this.pendingEntries++;
    this.pendingRows += rows;
    this.pendingBytes += bytes;
    return this.lastSeq;
  }

  /**
   * Sets meta keys in one transaction: durable when it returns, or with `durable: false` not
   * fsynced (it survives a killed process, and power loss makes it as old as the last synced
   * commit: for state that may be lost that way, see RunControl's claim key).
   */
  writeMeta(meta: Record<string, string>, options: { durable?: boolean } = {}): void {
    const durable = options.durable ?? true;
    if (!durable) this.db.exec('pragma synchronous = off');
    this.db.exec('begin immediate');
    try {
      for (const [k, v] of Object.entries(meta)) this.setMeta.run(k, v);
      this.db.exec('commit');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('rollback');
      throw error;
    } finally {
      if (!durable) this.db.exec('pragma synchronous = full');
    }
  }

  /** The pending setpoint acks (entries of kind ack_setpoint_requests), oldest first. */
  pendingAcks(): StoredEntry[] {
    return (this.selectAcks.all() as { seq: number; kind: string; args: string; rows: number; bytes: number }[]).map((r) => ({
      seq: Number(r.seq), kind: r.kind, args: JSON.parse(r.args) as Record<string, unknown>, rows: Number(r.rows), bytes: Number(r.bytes),
    }));
  }

  /**
   * Copies the WAL back into the database file (PASSIVE: never waits). SQLite would do this inside
   * whichever commit crosses 1000 pages, i.e. inside some step's append(); the journal calls it from
   * the drain instead (settle), so a step's commit is never the one that pays for a checkpoint.
   */
  checkpoint(): void {
    this.commits = 0;
    this.db.exec('pragma wal_checkpoint(passive)');
  }

  meta(key: string): string | undefined {
    const row = this.getMeta.get(key) as { value: string } | undefined;
    return row?.value;
  }

  /** The oldest pending entries, in order, after `afterSeq`. */
  head(limit: number, afterSeq = 0): StoredEntry[] {
    return (this.selectHead.all(afterSeq, limit) as { seq: number; kind: string; args: string; rows: number; bytes: number }[]).map((r) => ({
      seq: Number(r.seq), kind: r.kind, args: JSON.parse(r.args) as Record<string, unknown>, rows: Number(r.rows), bytes: Number(r.bytes),
    }));
  }

  /**
   * Removes acknowledged entries and moves refused ones to the `refused` table, in one transaction.
   */
  settle(done: StoredEntry[], refused: { entry: StoredEntry; code: string; message: string; detail: string | null }[]): void {
    if (done.length === 0 && refused.length === 0) return;
    // Not fsynced: a deletion lost to power loss only makes the drain send those entries again,
    // which is idempotent. The next append's synced commit makes it durable anyway (WAL order).
    this.db.exec('pragma synchronous = off');
    this.db.exec('begin immediate');
    try {
      for (const e of done) this.deleteOne.run(e.seq);
      const at = new Date().toISOString();
      for (const r of refused) {
        this.deleteOne.run(r.entry.seq);
        this.insertRefused.run(r.entry.seq, r.entry.kind, JSON.stringify(r.entry.args), r.code, r.message, r.detail, at);
      }
      this.db.exec('commit');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('rollback');
      throw error;
    } finally {
      this.db.exec('pragma synchronous = full');
    }
    if (++this.commits >= 500) this.checkpoint();
    for (const e of [...done, ...refused.map((r) => r.entry)]) {
      this.pendingEntries--;
      this.pendingRows -= e.rows;
      this.pendingBytes -= e.bytes;
    }
  }

  /** Entries the database refused for good (kept for the operator). */
  refusedEntries(limit = 1000): RefusedEntry[] {
    return (this.db.prepare('select seq, kind, args, code, message, detail, at from refused order by seq limit ?').all(limit) as
      { seq: number; kind: string; args: string; code: string; message: string; detail: string | null; at: string }[])
      .map((r) => ({ ...r, seq: Number(r.seq), args: JSON.parse(r.args) as Record<string, unknown> }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
