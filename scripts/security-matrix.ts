// docs/security.md from the permission matrix that supabase/tests/20-permission-matrix.test.sql
// proves: runs that pgTAP file with pg_prove, reads the outcome of every check from its TAP
// descriptions ('matrix: <identity> | <object> | <action> | <outcome>') and renders them as tables.
// The doc is written only when every check passed, so it states what the database does.
//
//   npx tsx scripts/security-matrix.ts                         throwaway database on DATABASE_URL's server
//   npx tsx scripts/security-matrix.ts --database-url <url>    an existing database (schema + seed)
//   npx tsx scripts/security-matrix.ts --check                 exit 1 if docs/security.md is out of date
import { spawn } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { DEFAULT_SERVER_URL, dropDatabase, prepareDatabase, redact, repoRoot, uniqueDatabaseName } from '../src/database/database.ts';

export const MATRIX_TEST_FILE = 'supabase/tests/20-permission-matrix.test.sql';
export const SECURITY_DOC = 'docs/security.md';
/** Hand-written part of docs/security.md (threat model, review findings, accepted risks), inlined as is. */
export const SECURITY_PROSE = 'docs/security-threat-model.md';
/** Linter findings kept on purpose, with reasons; tests/splinter.test.ts holds the linter to this list. */
export const ACCEPTED_LINTS = 'supabase/lints/accepted.json';
export const REGENERATE_COMMAND = 'npx tsx scripts/security-matrix.ts';

/** The identities of the matrix, in column order; the test file names them the same way. */
export const IDENTITIES = ['anon', 'viewer of A', 'operator of A', 'admin of A', 'operator of B', 'service_role'] as const;
export type Outcome = 'allowed' | 'filtered' | 'refused';
const OUTCOMES: readonly string[] = ['allowed', 'filtered', 'refused'];

export interface MatrixCheck { identity: string; object: string; action: string; outcome: Outcome }
export interface MatrixRow { object: string; action: string; outcomes: Record<string, Outcome> }
export interface AcceptedLint { lint: string; object: string; why: string }
/** The parts of docs/security.md that do not come from the matrix. */
export interface SecurityDocExtras { prose?: string; acceptedLints?: AcceptedLint[] }

const MATRIX_LINE = /^(not ok|ok) (\d+) - matrix: (.+?) \| (.+?) \| (.+?) \| (\S+)\s*$/;
const TAP_LINE = /^(not ok|ok) (\d+)(?: - (.*))?$/;

/**
 * The checks of a verbose TAP stream of the matrix test. Throws, listing them, when any test failed
 * or the plan was not run to the end: a doc built from a failing run would describe an intent, not
 * the database.
 */
export function parseMatrixTap(tap: string): MatrixCheck[] {
  const lines = tap.split(/\r?\n/);
  const plan = lines.map((l) => /^1\.\.(\d+)$/.exec(l.trim())).find(Boolean);
  if (!plan) throw new Error(`the TAP output has no plan line (1..N); is it the output of ${MATRIX_TEST_FILE}?`);
  const planned = Number(plan[1]);
  const failures: string[] = [];
  const checks: MatrixCheck[] = [];
  let ran = 0;
  for (const raw of lines) {
    const line = raw.trim();
    const tapLine = TAP_LINE.exec(line);
    if (!tapLine) continue;
    ran += 1;
    if (tapLine[1] === 'not ok') failures.push(line);
    const m = MATRIX_LINE.exec(line);
    if (!m) continue;
    const [, , , identity, object, action, outcome] = m;
    if (!(IDENTITIES as readonly string[]).includes(identity)) {
      throw new Error(`unknown identity in the TAP output, expected one of ${IDENTITIES.join(', ')}, but got: ${identity}`);
    }
    if (!OUTCOMES.includes(outcome)) {
      throw new Error(`unknown outcome in the TAP output, expected one of ${OUTCOMES.join(', ')}, but got: ${outcome}`);
    }
    checks.push({ identity, object, action, outcome: outcome as Outcome });
  }
  if (failures.length) {
    throw new Error(`${failures.length} of ${planned} checks of ${MATRIX_TEST_FILE} failed, so the matrix is not written:\n${failures.join('\n')}`);
  }
  if (ran !== planned) throw new Error(`${MATRIX_TEST_FILE} planned ${planned} tests but ran ${ran}`);
  if (checks.length === 0) throw new Error(`no 'matrix: ' checks in the TAP output of ${MATRIX_TEST_FILE}`);
  return checks;
}

/** One row per (object, action), in the order the test runs them, with one outcome per identity. */
export function matrixRows(checks: MatrixCheck[]): MatrixRow[] {
  const rows = new Map<string, MatrixRow>();
  for (const c of checks) {
    const key = `${c.object}\u0000${c.action}`;
    let row = rows.get(key);
    if (!row) {
      row = { object: c.object, action: c.action, outcomes: {} };
      rows.set(key, row);
    }
    if (row.outcomes[c.identity]) throw new Error(`the matrix checks ${c.identity} | ${c.object} | ${c.action} twice`);
    row.outcomes[c.identity] = c.outcome;
  }
  for (const row of rows.values()) {
    const missing = IDENTITIES.filter((i) => !row.outcomes[i]);
    if (missing.length) throw new Error(`the matrix does not check ${row.object} | ${row.action} for: ${missing.join(', ')}`);
  }
  return [...rows.values()];
}


/** The Markdown of docs/security.md. Deterministic: the same checks give the same bytes. */
export function renderSecurityDoc(checks: MatrixCheck[], extras: SecurityDocExtras = {}): string {
  const rows = matrixRows(checks);
  const tables = rows.filter((r) => r.action !== 'execute');
  const functions = rows.filter((r) => r.action === 'execute');
  const header = (first: string[]) => [
    `| ${[...first, ...IDENTITIES].join(' | ')} |`,
    `|${[...first, ...IDENTITIES].map(() => '---').join('|')}|`,
  ];
  const out: string[] = [];
  out.push(
    '# Security: who may do what',
    '',
    'Every public table and every public function of ald-db, tried by six identities on the data of',
    'machine A (the seed\'s ALD Reactor A). Each cell below is the outcome of one check in',
    `\`${MATRIX_TEST_FILE}\`, which runs them all in one rolled-back transaction,`,
    'each check in its own subtransaction so that every check sees the same data.',
    '',
    '## Identities',
    '',
    '| identity | who | how the database sees it |',
    '|---|---|---|',
    '| anon | a request without a user (the anon key) | role `anon`, JWT role `anon` |',
    '| viewer of A | a user with role `viewer` on machine A | role `authenticated`, JWT `sub` = 00000000-0000-4000-8000-000000000101 |',
    '| operator of A | a user with role `operator` on machine A | role `authenticated`, JWT `sub` = 00000000-0000-4000-8000-000000000102 |',
    '| admin of A | a user with role `admin` on machine A | role `authenticated`, JWT `sub` = 00000000-0000-4000-8000-000000000103 |',
    '| operator of B | a user with role `operator` on machine B only, nothing on A | role `authenticated`, JWT `sub` = 00000000-0000-4000-8000-000000000201 |',
    '| service_role | the controller (the service key) | role `service_role` (bypasses RLS), JWT role `service_role` |',
    '',
    'Roles on a machine are ordered: viewer < operator < admin, and each includes the rights of the ones',
    'before it. They are rows of `machine_operators`.',
    '',
    '## How access is decided',
    '',
    '- **Grants first.** `anon` has no privilege on any table and may execute no function. `authenticated`',
    '  may select every table but the partitions; insert, update and delete only the tables that admins manage',
    '  (operators, components, parameters, recipes, steps and step configs); insert commands and update',
    '  their `status`; and update `name`, `model`, `serial_number` and `location` of machines. A statement',
    '  without the privilege fails with 42501. `service_role` has every privilege.',
    '- **Then row level security.** Every table has RLS. The policies ask',
    '  `private.machine_ids_with_role(<role>)`, the machines on which the JWT\'s user holds at least that',
    '  role: viewers read their machines, operators also issue and cancel commands, admins also manage the',
    '  machine\'s grants, components, parameters and recipes. Rows of other machines are silently left out',
    '  of select, update and delete; an insert of a row the policies do not allow fails with 42501.',
    '- **Readers are security invoker.** `get_machine_parameters`, `get_component_parameters_bulk`,',
    '  `get_parameters` and `get_parameter_epochs` read through RLS, so they return only what the caller',
    '  may see (a machine the caller cannot see is "not found", P0002).',
    '- **Writers are security definer** (`set search_path = pg_catalog, pg_temp`, like every function) so that users cannot bypass the audit',
    '  and the bookkeeping: each first checks `private.has_machine_role(<machine>, \'operator\')` and raises',
    '  42501 when the caller is not an operator or admin of the machine the call concerns.',
    '  `maintain_readings` (definer, as it creates, attaches, detaches and drops partitions) is executable',
    '  by `service_role` only.',
    '- **Direct sessions.** A connection without JWT claims (the controller\'s own pool) is trusted like',
    '  `service_role` when its login role bypasses RLS or is a member of `service_role`',
    '  (`private.is_service()`); otherwise it may do nothing.',
    '',
    '## Reading the tables',
    '',
    '- allowed: the statement succeeded and read or changed at least one row of machine A.',
    '- filtered: no error, but RLS hid machine A\'s rows: 0 rows read, updated or deleted, or P0002',
    '  "not found" from a reader that looks the machine up through RLS.',
    '- refused: SQLSTATE 42501, from a missing privilege, an RLS check on a new row, or a writer\'s role',
    '  check. Through PostgREST: 401 for anon, 403 for a signed-in user.',
    '',
    '## Tables',
    '',
    ...header(['table', 'action']),
    ...tables.map((r) => `| ${r.object} | ${r.action} | ${IDENTITIES.map((i) => r.outcomes[i]).join(' | ')} |`),
    '',
    '`readings_default` stands for every partition of `readings`: the monthly partitions carry the same',
    'grants (the matrix test asserts it). Users read readings through the partitioned table and its',
    'policy, or through the `process_data_points` view (security_invoker, so the same policy applies),',
    'never a partition directly. The view is not updatable, so only its reads are in the matrix.',
    '',
    '## Functions',
    '',
    ...header(['function']),
    ...functions.map((r) => `| ${r.object} | ${IDENTITIES.map((i) => r.outcomes[i]).join(' | ')} |`),
    '',
    'Functions in the `private` schema are not reachable through the API (the schema is not exposed) and',
    'only the four RLS helpers are executable by `authenticated` and `service_role`.',
    '',
    ...(extras.prose ? [extras.prose.trim(), ''] : []),
    ...(extras.acceptedLints?.length ? [
      '## Linter findings kept on purpose',
      '',
      `\`npm test\` runs every lint of Supabase's linter (splinter) over the migrated database`,
      '(`tests/splinter.test.ts`): no ERROR, no WARN and no unindexed foreign key is allowed but these,',
      `listed with their reasons in \`${ACCEPTED_LINTS}\`:`,
      '',
      '| lint | object | why |',
      '|---|---|---|',
      ...extras.acceptedLints.map((a) => `| ${a.lint} | \`${a.object}\` | ${a.why.replace(/\|/g, '\\|')} |`),
      '',
    ] : []),
    '---',
    '',
    `Generated by \`${REGENERATE_COMMAND}\` from the TAP results of the ${checks.length} checks`,
    `in \`${MATRIX_TEST_FILE}\`, with \`${SECURITY_PROSE}\` and \`${ACCEPTED_LINTS}\`; do not edit by hand.`,
    '`tests/security-matrix.test.ts` fails when this file no longer matches them.',
    '',
  );
  return out.join('\n');
}

/** Runs the matrix test with pg_prove --verbose against a database that has the schema and the seed. */
export async function runMatrixTest(databaseUrl: string): Promise<string> {
  // pgTAP in the extensions schema, as the test harness installs it; a no-op when it is there.
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`create extension if not exists pgtap schema extensions`;
  } finally {
    await sql.end();
  }
  const u = new URL(databaseUrl);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username || 'postgres'),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
    // pgTAP's functions live in extensions; do not depend on the database's default search_path.
    PGOPTIONS: '-c search_path=public,extensions',
  };
  return await new Promise<string>((resolve, reject) => {
    const child = spawn('pg_prove', ['--verbose', '--ext', '.sql', MATRIX_TEST_FILE], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (error) => {
      reject(new Error(`cannot run pg_prove (${error.message}); install it with: sudo apt-get install -y libtap-parser-sourcehandler-pgtap-perl`));
    });
    // A failing run is reported by parseMatrixTap with the failed checks; only a run without TAP is an error here.
    child.on('close', (code) => {
      if (!/^1\.\.\d+/m.test(stdout)) reject(new Error(`pg_prove exited with ${code} and no TAP output:\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The content docs/security.md must have for the database at databaseUrl. */
export async function generateSecurityDoc(databaseUrl: string): Promise<string> {
  return renderSecurityDoc(parseMatrixTap(await runMatrixTest(databaseUrl)), await readSecurityDocExtras());
}

/** The hand-written prose and the accepted linter findings, from their files. */
export async function readSecurityDocExtras(): Promise<SecurityDocExtras> {
  const prose = await readFile(join(repoRoot, SECURITY_PROSE), 'utf8');
  const accepted = JSON.parse(await readFile(join(repoRoot, ACCEPTED_LINTS), 'utf8')) as { accepted: AcceptedLint[] };
  return { prose, acceptedLints: accepted.accepted };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { 'database-url': { type: 'string' }, check: { type: 'boolean', default: false } },
  });
  const docPath = join(repoRoot, SECURITY_DOC);
  let doc: string;
  if (values['database-url']) {
    doc = await generateSecurityDoc(values['database-url']);
  } else {
    const serverUrl = process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;
    const name = uniqueDatabaseName('ald_security');
    console.log(`preparing ${name} on ${redact(serverUrl)} (platform bootstrap, supabase db push, seed)`);
    const url = await prepareDatabase(serverUrl, name, { seed: true });
    try {
      doc = await generateSecurityDoc(url);
    } finally {
      await dropDatabase(serverUrl, name);
    }
  }
  if (values.check) {
    const current = await readFile(docPath, 'utf8').catch(() => '');
    if (current !== doc) {
      console.error(`${SECURITY_DOC} is out of date; regenerate it with: ${REGENERATE_COMMAND}`);
      return 1;
    }
    console.log(`${SECURITY_DOC} is up to date`);
    return 0;
  }
  await mkdir(dirname(docPath), { recursive: true });
  await writeFile(docPath, doc);
  console.log(`wrote ${SECURITY_DOC}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => process.exit(code), (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
