// The package's entry points: the source import and the package name through the exports map.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AldDbError, ERROR_CODES, createAldDb, flattenPlan, usePreparedStatements } from '../../src/index.ts';

const run = promisify(execFile);

describe('the package entry', () => {
  it('exports the client factory, the error class, the code table and the plan helper from src/index.ts', () => {
    expect(typeof createAldDb).toBe('function');
    expect(typeof flattenPlan).toBe('function');
    expect(typeof usePreparedStatements).toBe('function');
    expect(new AldDbError({ code: 'ALD_CLOSED', message: 'x' })).toBeInstanceOf(Error);
    expect(Object.keys(ERROR_CODES)).toContain('ALD_CONNECTION');
  });

  it('resolves the package name ald-db to the built entry with the same exports (self-reference through the exports map)', async () => {
    const byName = await import('ald-db');
    const bySource = await import('../../src/index.ts');
    expect(Object.keys(byName).sort()).toEqual(Object.keys(bySource).sort());
    expect(import.meta.resolve('ald-db')).toMatch(/\/dist\/index\.js$/);
  });

  it('resolves ald-db in plain Node too, without a TypeScript loader', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e',
      "import('ald-db').then((m) => console.log(typeof m.createAldDb, typeof m.flattenPlan, Object.keys(m.ERROR_CODES).length))"],
    { cwd: new URL('../..', import.meta.url).pathname });
    expect(stdout.trim()).toBe(`function function ${Object.keys(ERROR_CODES).length}`);
  });

  it('refuses options that name no transport, or both, echoing the keys but never the values', () => {
    expect(() => createAldDb({} as never)).toThrowError(expect.objectContaining({ code: 'ALD_INVALID_ARGUMENT' }));
    const both = { databaseUrl: 'postgresql://u:secret@h/db', supabase: {} } as never;
    try {
      createAldDb(both);
      expect.unreachable();
    } catch (e) {
      expect((e as AldDbError).code).toBe('ALD_INVALID_ARGUMENT');
      expect((e as AldDbError).message).toContain('["databaseUrl","supabase"]');
      expect((e as AldDbError).message).not.toContain('secret');
    }
  });
});
