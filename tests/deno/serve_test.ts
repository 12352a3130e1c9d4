// The functions as deployed: their default exports behind Deno.serve on a random port, and each
// index.ts started by `deno serve` in its own process, as in functions/README.md.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
// helpers.ts first: it sets the JWT secret and the database URL that the index.ts modules check
// when they are imported (they refuse to start without a key).
import {
  COMPONENT_CHAMBER_HEATER,
  DATABASE_URL,
  dbTest,
  JWT_SECRET,
  MACHINE_A,
  parameterId,
  runningProcess,
  tokenFor,
} from './helpers.ts';
import metrics from '../../functions/metrics/index.ts';
import parameters from '../../functions/parameters/index.ts';
import serveAll from '../../functions/serve-all.ts';
import setParameter from '../../functions/set-parameter/index.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

async function withServer(
  handler: { fetch: (req: Request) => Promise<Response> },
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: () => {} }, handler.fetch);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

const auth = (who: Parameters<typeof tokenFor>[0]) => ({ Authorization: `Bearer ${tokenFor(who)}` });

dbTest('serve: over HTTP a repeated GET is a hit and a POST is visible in the next GET', async () => {
  await withServer(serveAll, async (base) => {
    const id = parameterId('foreline_heater', 'temperature_set');
    const url = `${base}/parameters?ids=${id}`;
    const first = await fetch(url, { headers: auth('operator') });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-status'), 'ald-edge; fwd=miss; stored');
    const row = (await first.json()).parameters[0];
    const second = await fetch(url, { headers: auth('operator') });
    assert.match(second.headers.get('cache-status')!, /^ald-edge; hit/);
    await second.body?.cancel();

    const write = await fetch(`${base}/functions/v1/set-parameter`, {
      method: 'POST',
      headers: { ...auth('operator'), 'Content-Type': 'application/json' },
      body: JSON.stringify({ parameter_id: id, value: row.set_value + 1, expected_version: row.version }),
    });
    assert.equal(write.status, 200);
    await write.body?.cancel();
    const third = await fetch(url, { headers: auth('operator') });
    assert.match(third.headers.get('cache-status')!, /^ald-edge; hit/);
    const now = (await third.json()).parameters[0];
    assert.deepEqual([now.set_value, now.version], [row.set_value + 1, row.version + 1]);
    assert.notEqual(third.headers.get('etag'), first.headers.get('etag'));

    const bad = await fetch(`${base}/set-parameter`, {
      method: 'POST',
      headers: auth('operator'),
      body: '{"value": 1',
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).code, 'invalid_request');
    const preflight = await fetch(`${base}/record-data`, { method: 'OPTIONS' });
    assert.equal(preflight.status, 204);
    await preflight.body?.cancel();
    const scrape = await fetch(`${base}/metrics`, { headers: auth('service') });
    assert.match(
      await scrape.text(),
      /ald_edge_requests_total\{function="set-parameter",method="POST",status="200"\} \d+/,
    );
    const unknown = await fetch(`${base}/nothing`);
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  });
});

dbTest("serve: each function's default export answers over HTTP", async () => {
  await withServer(parameters, async (base) => {
    const res = await fetch(`${base}/?component_ids=${COMPONENT_CHAMBER_HEATER}`, { headers: auth('viewer') });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).parameters.length, 11);
  });
  await withServer(setParameter, async (base) => {
    const res = await fetch(base, { method: 'PUT', headers: auth('operator') });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
    await res.body?.cancel();
  });
  await withServer(metrics, async (base) => {
    const res = await fetch(base, { headers: auth('operator') });
    assert.equal(res.status, 403);
    await res.body?.cancel();
  });
});

/** Starts `deno serve` on a free port and resolves its base URL once it listens. */
async function denoServe(entry: string): Promise<{ base: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ['serve', '--port', '0', '--host', '127.0.0.1', '--allow-net', '--allow-env', '--allow-read', entry],
    cwd: REPO,
    env: { SUPABASE_DB_URL: DATABASE_URL, SUPABASE_JWT_SECRET: JWT_SECRET, ALD_JWT_SECRET: JWT_SECRET },
    stdout: 'piped',
    stderr: 'piped',
  }).spawn();
  const decoder = new TextDecoder();
  let seen = '';
  const reader = child.stderr.getReader();
  const stdoutDrain = child.stdout.pipeTo(new WritableStream());
  const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
  let match: RegExpExecArray | null = null;
  while (!match) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`deno serve ${entry} exited: ${seen}`);
    seen += decoder.decode(value);
    match = /Listening on (http:\/\/[^\s/]+)\//.exec(seen);
  }
  clearTimeout(deadline);
  const stderrDrain = (async () => {
    while (!(await reader.read()).done) { /* the request log lines */ }
  })();
  return {
    base: match[1],
    stop: async () => {
      child.kill('SIGTERM');
      await child.status;
      await Promise.allSettled([stdoutDrain, stderrDrain]);
    },
  };
}

dbTest('serve: every function starts under `deno serve` against the seeded database', async () => {
  const process = await runningProcess(MACHINE_A);
  const checks: Record<string, (base: string) => Promise<void>> = {
    'functions/parameters/index.ts': async (base) => {
      const url = `${base}/parameters?machine_id=${MACHINE_A}`;
      await (await fetch(url, { headers: auth('viewer') })).body?.cancel();
      const again = await fetch(url, { headers: auth('viewer') });
      assert.match(again.headers.get('cache-status')!, /hit/);
      await again.body?.cancel();
    },
    'functions/set-parameter/index.ts': async (base) => {
      const res = await fetch(base, {
        method: 'POST',
        headers: auth('operator'),
        body: JSON.stringify({ parameter_id: parameterId('trap_heater', 'temperature_set'), value: 121 }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal((await res.json()).parameter.set_value, 121);
    },
    'functions/setpoint-requests/index.ts': async (base) => {
      const res = await fetch(`${base}?machine_id=${MACHINE_A}`, { headers: auth('viewer') });
      assert.equal(res.status, 200, await res.clone().text());
      assert.ok(Array.isArray((await res.json()).requests));
    },
    'functions/record-data/index.ts': async (base) => {
      const res = await fetch(base, {
        method: 'POST',
        headers: auth('operator'),
        body: JSON.stringify({
          process_id: process,
          readings: [{ parameter_id: parameterId('trap_heater', 'temperature_read'), value: 120.5 }],
        }),
      });
      assert.deepEqual(await res.json(), { inserted: 1, received: 1 });
    },
    'functions/metrics/index.ts': async (base) => {
      const res = await fetch(base, { headers: auth('service') });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /ald_edge_cache_hit_ratio/);
    },
  };
  for (const [entry, check] of Object.entries(checks)) {
    const server = await denoServe(entry);
    try {
      const preflight = await fetch(server.base, { method: 'OPTIONS' });
      assert.equal(preflight.status, 204, entry);
      await preflight.body?.cancel();
      await check(server.base);
    } finally {
      await server.stop();
    }
  }
});
