// `npm run build`: tsc compiles src/ to dist/ (tsconfig.build.json), then the dashboard's static
// files are copied beside the compiled server. Plain JavaScript so that it runs with node alone.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
cpSync(join(root, 'src/dashboard/public'), join(root, 'dist/dashboard/public'), { recursive: true });
