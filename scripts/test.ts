// `npm test`: every suite (pgTAP, vitest, Deno) against a throwaway database created for this run
// on the server in DATABASE_URL (default: the local PostgreSQL at 127.0.0.1:5432), dropped at the end.
//
//   npm test                        all suites
//   npm test -- --only pgtap        one suite (types | pgtap | vitest | deno); repeatable
//   npm test -- --keep              keep the database afterwards (its URL is printed)
//   npm test -- <vitest filter>     extra words go to vitest as file filters
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { DEFAULT_SERVER_URL, dropDatabase, prepareDatabase, redact, repoRoot, uniqueDatabaseName } from '../src/database/database.ts';

const SUITES = ['types', 'pgtap', 'vitest', 'deno'] as const;
type Suite = (typeof SUITES)[number];

const { values, positionals } = parseArgs({
  options: { only: { type: 'string', multiple: true }, keep: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const only = (values.only ?? []) as string[];
for (const s of only) {
  if (!SUITES.includes(s as Suite)) {
    console.error(`--only must be one of ${SUITES.join(', ')}, but got: ${s}`);
    process.exit(2);
  }
}
const suites: Suite[] = only.length ? (only as Suite[]) : [...SUITES];
const serverUrl = process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;

/**
 * What the suites need beyond npm: pgTAP on the server and pg_prove on PATH (pgtap), Chromium for
 * the dashboard's browser test (vitest), and in CI (CI=true) pg_cron preloaded for
 * tests/pg-cron.test.ts and tests/faults/reaper-cron.test.ts. Everything missing is reported at once, with the install command; never
 * skipped silently.
 */
async function checkPrerequisites(): Promise<void> {
  const missing: string[] = [];
  if (suites.includes('pgtap')) {
    const sql = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
    try {
      const [{ major }] = await sql`select current_setting('server_version_num')::int / 10000 as major`;
      const [row] = await sql`select count(*)::int as n from pg_available_extensions where name = 'pgtap'`;
      if (row.n === 0) {
        missing.push(`pgTAP is not installed on the PostgreSQL server at ${redact(serverUrl)}: sudo apt-get install -y postgresql-${major}-pgtap`);
      }
    } catch (error) {
      missing.push(`cannot reach PostgreSQL at ${redact(serverUrl)} (${(error as Error).message}): start it or set DATABASE_URL`);
    } finally {
      await sql.end();
    }
    if (spawnSync('pg_prove', ['--version']).error) {
      missing.push('pg_prove is not on PATH: sudo apt-get install -y libtap-parser-sourcehandler-pgtap-perl');
    }
  }
  const dashboardTest = positionals.length === 0 || positionals.some((p) => 'tests/dashboard.test.ts'.includes(p));
  if (suites.includes('vitest') && dashboardTest && !existsSync('/usr/bin/chromium')) {
    missing.push('Chromium (for the dashboard\'s browser test) is not at /usr/bin/chromium: sudo apt-get install -y chromium');
  }
  // The scheduled paths under pg_cron (tests/pg-cron.test.ts skips where pg_cron is not preloaded,
  // tests/faults/reaper-cron.test.ts fails there): in CI a missing preload is a missing
  // prerequisite, reported before anything runs, so that CI can never skip them.
  const cronTest = positionals.length === 0
    || positionals.some((p) => ['tests/pg-cron.test.ts', 'tests/faults/reaper-cron.test.ts'].some((f) => f.includes(p)));
  if (suites.includes('vitest') && cronTest && /^(1|true)$/i.test(process.env.CI ?? '')) {
    const sql = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
    try {
      const [{ libs, major }] = await sql`select current_setting('shared_preload_libraries') as libs,
                                                 current_setting('server_version_num')::int / 10000 as major`;
      if (!String(libs).split(',').map((l) => l.trim()).includes('pg_cron')) {
        missing.push(`pg_cron is not preloaded on the PostgreSQL server at ${redact(serverUrl)} (CI=true: the scheduled path must be tested): ` +
          `sudo apt-get install -y postgresql-${major}-cron, then shared_preload_libraries = 'pg_cron' and cron.database_name = 'postgres', and restart PostgreSQL`);
      }
    } catch (error) {
      missing.push(`cannot reach PostgreSQL at ${redact(serverUrl)} (${(error as Error).message}): start it or set DATABASE_URL`);
    } finally {
      await sql.end();
    }
  }
  if (missing.length > 0) {
    throw new Error(`npm test needs what is missing here (bash .ci/run installs all of it on Debian):\n  - ${missing.join('\n  - ')}`);
  }
}

interface Result { suite: Suite; ok: boolean; passed: number; failed: number }

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const childEnv = { ...process.env, ...colorEnv, ...env };
    if (colorEnv.NO_COLOR) delete childEnv.FORCE_COLOR;
    const child = spawn(cmd, args, { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

/**
 * The suites write through pipes into our stdout: colour only when that is a terminal and NO_COLOR
 * is not set (vitest's colour library switches colour on whenever CI is set, even into a pipe).
 */
const colorEnv: NodeJS.ProcessEnv = process.stdout.isTTY && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb'
  ? { FORCE_COLOR: '1' }
  : { NO_COLOR: '1' };

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

async function runSuite(suite: Suite, url: string): Promise<Result> {
  const env = { TEST_DATABASE_URL: url, ALD_TEST_SERVER_URL: serverUrl };
  if (suite === 'types') {
    // tsc over src, tests, bench, scripts and the README's example: one check, counted as one test.
    const { code } = await run(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], env);
    if (code === 0) console.log('tsc: clean');
    return { suite, ok: code === 0, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 };
  }
  if (suite === 'pgtap') {
    const files = readdirSync(join(repoRoot, 'supabase/tests')).filter((f) => f.endsWith('.test.sql')).sort()
      .map((f) => join('supabase/tests', f));
    const u = new URL(url);
    const { code, out } = await run('pg_prove', ['--ext', '.sql', ...files], {
      PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username || 'postgres'),
      PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: u.pathname.slice(1),
    });
    const tests = Number(/Tests=(\d+)/.exec(out)?.[1] ?? 0);
    const failedMatch = /Failed (\d+)\/(\d+) subtests/g;
    let failed = 0;
    for (const m of out.matchAll(failedMatch)) failed += Number(m[1]);
    return { suite, ok: code === 0 && tests > 0, passed: tests - failed, failed: code === 0 ? 0 : Math.max(failed, 1) };
  }
  if (suite === 'vitest') {
    const { code, out } = await run(join(repoRoot, 'node_modules/.bin/vitest'), ['run', ...positionals], env);
    const text = strip(out);
    const passed = Number(/Tests\s+.*?(\d+) passed/.exec(text)?.[1] ?? 0);
    const failed = Number(/Tests\s+(\d+) failed/.exec(text)?.[1] ?? 0);
    return { suite, ok: code === 0 && passed > 0, passed, failed };
  }
  const denoTests = join(repoRoot, 'tests/deno');
  if (!existsSync(denoTests)) {
    console.log('deno: no tests/deno folder yet');
    return { suite, ok: true, passed: 0, failed: 0 };
  }
  const deno = join(repoRoot, 'node_modules/.bin/deno');
  for (const [name, args] of [['check', ['check', 'functions/', 'tests/deno/']], ['lint', ['lint']]] as const) {
    const r = await run(deno, [...args], env);
    if (r.code !== 0) return { suite, ok: false, passed: 0, failed: 1 };
    console.log(`deno ${name}: clean`);
  }
  const { code, out } = await run(deno, ['test', '--allow-all', 'tests/deno/'], env);
  const text = strip(out);
  const m = /(ok|FAILED) \| (\d+) passed.*?\| (\d+) failed/.exec(text);
  const passed = Number(m?.[2] ?? 0);
  const failed = Number(m?.[3] ?? 0);
  return { suite, ok: code === 0 && passed > 0, passed, failed };
}

async function main(): Promise<number> {
  await checkPrerequisites();
  // The CLI (bin/ald-db.js) runs what ships: dist/. Build it first so that no suite tests a stale one.
  const build = await run(process.execPath, [join(repoRoot, 'scripts/build.mjs')], {});
  if (build.code !== 0) throw new Error('npm run build failed (see above)');
  const name = uniqueDatabaseName('ald_test');
  const started = Date.now();
  console.log(`preparing ${name} on ${redact(serverUrl)} (platform bootstrap, supabase db push, seed)`);
  const url = await prepareDatabase(serverUrl, name, { seed: true });
  const results: Result[] = [];
  try {
    if (suites.includes('pgtap')) {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      await sql`create extension if not exists pgtap schema extensions`;
      await sql.unsafe(`alter database "${name}" set search_path = "$user", public, extensions`);
      await sql.end();
    }
    console.log(`database ready in ${Date.now() - started} ms`);
    for (const suite of suites) {
      console.log(`\n=== ${suite} ===`);
      results.push(await runSuite(suite, url));
    }
  } finally {
    if (values.keep) console.log(`kept database: ${url}`);
    else await dropDatabase(serverUrl, name);
  }
  console.log('\n=== summary ===');
  for (const r of results) console.log(`${r.suite.padEnd(7)} ${r.ok ? 'ok    ' : 'FAILED'} ${r.passed} passed, ${r.failed} failed`);
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const ok = results.every((r) => r.ok);
  console.log(`tests: ${passed} passed, ${ok ? failed : Math.max(failed, 1)} failed`);
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
