// `npx tsx scripts/compare-schema.ts --base <git ref>`: pushes the migrations of <ref> and of the
// working tree, each onto an empty database with the real Supabase CLI, and compares
// `pg_dump --schema-only` of the two. Exit 0 when they are the same schema, 1 with the diff.
// For changes that must not change the schema, e.g. folding create-then-drop migrations into the
// files that create the objects (before the first release).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SERVER_URL, dropDatabase, prepareDatabase, repoRoot, uniqueDatabaseName } from '../src/database/database.ts';

const { values } = parseArgs({ options: { base: { type: 'string', default: 'HEAD' }, 'keep-dumps': { type: 'boolean', default: false } } });
const serverUrl = process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;
const base = values.base!;

/** pg_dump's schema, without the lines that differ between any two dumps (headers, restrict keys). */
function dumpSchema(url: string): string {
  const out = execFileSync('pg_dump', ['--schema-only', '--no-owner', '--dbname', url.replace(/[?&]sslmode=disable/, '')], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return out.split('\n').filter((l) => !/^-- (Dumped|Started|Completed)/.test(l) && !/^\\(un)?restrict /.test(l)).join('\n');
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'ald-schema-'));
  const names = [uniqueDatabaseName('ald_schema_base'), uniqueDatabaseName('ald_schema_tree')];
  try {
    execFileSync('sh', ['-c', `git -C "${repoRoot}" archive "${base}" supabase | tar -x -C "${work}"`]);
    console.log(`pushing the migrations of ${base} and of the working tree onto two empty databases`);
    const [baseUrl, treeUrl] = [
      await prepareDatabase(serverUrl, names[0], { seed: false, workdir: work }),
      await prepareDatabase(serverUrl, names[1], { seed: false }),
    ];
    const [a, b] = [dumpSchema(baseUrl), dumpSchema(treeUrl)];
    if (a === b) {
      console.log(`same schema: pg_dump --schema-only of ${base} and of the working tree are identical (${a.split('\n').length} lines)`);
      return 0;
    }
    writeFileSync(join(work, 'base.sql'), a);
    writeFileSync(join(work, 'tree.sql'), b);
    try {
      execFileSync('diff', ['-u', join(work, 'base.sql'), join(work, 'tree.sql')], { stdio: 'inherit' });
    } catch { /* diff exits 1 when the files differ: that is the report */ }
    console.log(`the schemas differ (dumps kept in ${work})`);
    values['keep-dumps'] = true;
    return 1;
  } finally {
    for (const name of names) await dropDatabase(serverUrl, name);
    if (!values['keep-dumps']) rmSync(work, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
});
