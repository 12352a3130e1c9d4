/**
 * The folders show the layers: what ships (src/) never imports what only tests, benchmarks or dev
 * scripts use, and the benchmark never imports the tests. Checked on every relative import and
 * dynamic import() of every TypeScript file, so a new file cannot break the rule unnoticed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return filesUnder(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

/** Every relative module specifier of a file, resolved to a path from the repository root. */
export function importsOf(file: string, text = readFileSync(join(root, file), 'utf8')): string[] {
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)(['"])(\.{1,2}\/[^'"]+)\1/g)].map((m) => m[2]);
  return specs.map((s) => relative(root, resolve(root, dirname(file), s)));
}

function violations(layer: string, forbidden: string[]): string[] {
  return filesUnder(layer).flatMap((file) => importsOf(file)
    .filter((target) => forbidden.some((f) => target === f || target.startsWith(`${f}/`)))
    .map((target) => `${file} imports ${target}`));
}

describe('the layers of the repository', () => {
  it('src/ (what ships) imports nothing from scripts/, tests/, bench/ or support/', () => {
    expect(violations('src', ['scripts', 'tests', 'bench', 'support'])).toEqual([]);
  });

  it('bench/ imports nothing from tests/', () => {
    expect(violations('bench', ['tests'])).toEqual([]);
  });

  it('support/ (shared by tests and bench) imports nothing from tests/ or bench/', () => {
    expect(violations('support', ['tests', 'bench'])).toEqual([]);
  });

  it('sees a forbidden import when there is one (the check itself)', () => {
    expect(importsOf('src/cli/x.ts', "import { a } from '../../tests/support/y.ts';\nconst m = await import('../sdk/z.ts');"))
      .toEqual(['tests/support/y.ts', 'src/sdk/z.ts']);
  });
});
