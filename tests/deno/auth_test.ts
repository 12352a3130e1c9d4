// The JWT check that decides whose claims reach PostgreSQL.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { generateKeyPairSync, sign } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createAuthenticator, createTokenVerifier } from '../../functions/_shared/auth.ts';
import { config, resetConfig } from '../../functions/_shared/config.ts';
import { HttpError } from '../../functions/_shared/http.ts';
import { JWT_SECRET, signJwt, tokenFor, USERS } from './tokens.ts';

const authenticate = createAuthenticator({ jwtSecret: JWT_SECRET });
const withToken = (token?: string, scheme = 'Bearer') =>
  new Request('http://edge.test/x', { headers: token === undefined ? {} : { Authorization: `${scheme} ${token}` } });
const hour = () => Math.floor(Date.now() / 1000) + 3600;

async function rejects(fn: () => Promise<unknown>, status: number, message?: RegExp): Promise<void> {
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof HttpError, `expected HttpError, got ${e}`);
    assert.equal(e.status, status);
    if (message) assert.match(e.message, message);
    return true;
  });
}

Deno.test('auth: accepts an HS256 user token and partitions the cache by user', async () => {
  const caller = await authenticate(withToken(tokenFor('operator')));
  assert.equal(caller.role, 'authenticated');
  assert.equal(caller.sub, USERS.operator);
  assert.equal(caller.principal, `user:${USERS.operator}`);
  assert.equal(caller.claims.sub, USERS.operator);
});

Deno.test('auth: accepts a service_role token as one principal', async () => {
  const caller = await authenticate(withToken(tokenFor('service')));
  assert.equal(caller.role, 'service_role');
  assert.equal(caller.principal, 'service_role');
});

Deno.test('auth: answers 401 for a missing, non-bearer, malformed, forged, unsigned or expired token', async () => {
  await rejects(() => authenticate(withToken()), 401, /missing Authorization/);
  await rejects(() => authenticate(withToken(tokenFor('operator'), 'Basic')), 401, /Bearer/);
  await rejects(() => authenticate(withToken('not-a-jwt')), 401, /malformed/);
  await rejects(
    () =>
      authenticate(
        withToken(
          signJwt({ role: 'authenticated', aud: 'authenticated', sub: USERS.operator, exp: hour() }, 'another-secret'),
        ),
      ),
    401,
    /signature/,
  );
  const unsigned = signJwt({ role: 'service_role', exp: hour() }, JWT_SECRET, { alg: 'none' }).replace(/[^.]+$/, '');
  await rejects(() => authenticate(withToken(unsigned)), 401, /unsigned/);
  await rejects(
    () => authenticate(withToken(tokenFor('operator', { exp: Math.floor(Date.now() / 1000) - 3600 }))),
    401,
    /expired/,
  );
});

// Issue 14, finding 4 (and the lesser one on claims): exp was optional, aud and iss unchecked.
Deno.test('auth: requires exp, and the audience on user tokens; checks the issuer when configured', async () => {
  await rejects(() => authenticate(withToken(signJwt({ role: 'service_role' }))), 401, /no expiry/);
  await rejects(
    () => authenticate(withToken(signJwt({ role: 'authenticated', aud: 'authenticated', sub: USERS.viewer }))),
    401,
    /no expiry/,
  );
  await rejects(() => authenticate(withToken(tokenFor('viewer', { aud: undefined }))), 401, /audience/);
  await rejects(() => authenticate(withToken(tokenFor('viewer', { aud: 'another-api' }))), 401, /audience/);
  await rejects(() => authenticate(withToken(tokenFor('service', { aud: 'another-api' }))), 401, /audience/);
  assert.equal(
    (await authenticate(withToken(tokenFor('service')))).role,
    'service_role',
    'the legacy service key has no aud',
  );
  const strict = createAuthenticator({
    jwtSecret: JWT_SECRET,
    issuers: ['https://ref.supabase.co/auth/v1', 'supabase'],
  });
  await rejects(() => strict(withToken(tokenFor('viewer'))), 401, /issuer/);
  assert.equal(
    (await strict(withToken(tokenFor('viewer', { iss: 'https://ref.supabase.co/auth/v1' })))).sub,
    USERS.viewer,
  );
  assert.equal((await strict(withToken(tokenFor('service', { iss: 'supabase' })))).role, 'service_role');
});

Deno.test('auth: answers 401 for the anon key and for a user token without subject', async () => {
  await rejects(() => authenticate(withToken(tokenFor('anon'))), 401, /signed-in user/);
  await rejects(
    () => authenticate(withToken(signJwt({ role: 'authenticated', aud: 'authenticated', exp: hour() }))),
    401,
    /subject/,
  );
});

Deno.test('auth: answers 403 for roles other than authenticated and service_role', async () => {
  await rejects(
    () =>
      authenticate(withToken(signJwt({ role: 'supabase_admin', aud: 'authenticated', sub: USERS.admin, exp: hour() }))),
    403,
    /supabase_admin/,
  );
});

Deno.test('auth: verifies ES256 tokens with the project JWKS and refuses HS256 tokens then', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'key-1', alg: 'ES256', use: 'sig' };
  const symmetric = { kty: 'oct', k: 'c2VjcmV0', kid: 'legacy', alg: 'HS256' };
  const verifyToken = createTokenVerifier({ jwks: JSON.stringify({ keys: [symmetric, jwk] }) });
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc({ alg: 'ES256', kid: 'key-1', typ: 'JWT' })}.${
    enc({ role: 'authenticated', aud: 'authenticated', sub: USERS.viewer, exp: hour() })
  }`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString(
    'base64url',
  );
  assert.equal((await verifyToken(`${input}.${signature}`)).sub, USERS.viewer);
  const tampered = `${input.slice(0, -2)}xx.${signature}`;
  await rejects(() => verifyToken(tampered), 401);
  // The HS256 "alg confusion" attack: a token MACed with the public key must not pass.
  await rejects(() => verifyToken(signJwt({ role: 'service_role', exp: hour() }, JSON.stringify(jwk))), 401, /HS256/);
  await rejects(
    () => verifyToken(signJwt({ role: 'service_role', exp: hour() }, 'secret', { alg: 'HS256', kid: 'legacy' })),
    401,
    /HS256/,
  );
});

// Issue 14, finding 4: ALD_TRUST_PLATFORM_JWT=true with no key accepted a service_role token signed
// with any key. There is no unverified mode any more, and the setting makes the functions refuse
// to start.
Deno.test('auth: refuses to run without a key, and a self-signed service_role token never passes', async () => {
  assert.throws(() => createTokenVerifier({}), /ALD_JWT_SECRET/);
  const selfSigned = signJwt({ role: 'service_role', exp: hour() }, 'any-key-the-attacker-likes');
  await rejects(() => authenticate(withToken(selfSigned)), 401, /signature/);
});

Deno.test('auth: the configuration refuses ALD_TRUST_PLATFORM_JWT and a missing key', () => {
  const saved = { trust: Deno.env.get('ALD_TRUST_PLATFORM_JWT'), secret: Deno.env.get('SUPABASE_JWT_SECRET') };
  try {
    Deno.env.set('ALD_TRUST_PLATFORM_JWT', 'true');
    resetConfig();
    assert.throws(() => config(), /ALD_TRUST_PLATFORM_JWT is no longer supported/);
    Deno.env.delete('ALD_TRUST_PLATFORM_JWT');
    Deno.env.delete('SUPABASE_JWT_SECRET');
    const aldSecret = Deno.env.get('ALD_JWT_SECRET');
    Deno.env.delete('ALD_JWT_SECRET');
    resetConfig();
    try {
      assert.throws(() => config(), /no JWT key configured/);
    } finally {
      if (aldSecret !== undefined) Deno.env.set('ALD_JWT_SECRET', aldSecret);
    }
  } finally {
    if (saved.trust === undefined) Deno.env.delete('ALD_TRUST_PLATFORM_JWT');
    else Deno.env.set('ALD_TRUST_PLATFORM_JWT', saved.trust);
    if (saved.secret !== undefined) Deno.env.set('SUPABASE_JWT_SECRET', saved.secret);
    resetConfig();
  }
});

Deno.test('auth: a function started with ALD_TRUST_PLATFORM_JWT=true and no key exits instead of serving', async () => {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ['eval', "await import('./functions/parameters/index.ts')"],
    cwd: repo,
    clearEnv: true,
    env: {
      ALD_TRUST_PLATFORM_JWT: 'true',
      SUPABASE_DB_URL: 'postgresql://nobody@127.0.0.1:1/none',
      PATH: Deno.env.get('PATH') ?? '',
    },
    stdout: 'piped',
    stderr: 'piped',
  }).output();
  assert.notEqual(out.code, 0);
  assert.match(new TextDecoder().decode(out.stderr), /ALD_TRUST_PLATFORM_JWT is no longer supported/);
});
