// The JWT check that decides whose claims reach PostgreSQL.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createAuthenticator, createTokenVerifier } from '../../functions/_shared/auth.ts';
import { HttpError } from '../../functions/_shared/http.ts';
import { JWT_SECRET, signJwt, tokenFor, USERS } from './tokens.ts';

const authenticate = createAuthenticator({ jwtSecret: JWT_SECRET });
const withToken = (token?: string, scheme = 'Bearer') =>
  new Request('http://edge.test/x', { headers: token === undefined ? {} : { Authorization: `${scheme} ${token}` } });

function rejects(fn: () => unknown, status: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpError, `expected HttpError, got ${e}`);
    assert.equal(e.status, status);
    if (message) assert.match(e.message, message);
    return true;
  });
}

Deno.test('auth: accepts an HS256 user token and partitions the cache by user', () => {
  const caller = authenticate(withToken(tokenFor('operator')));
  assert.equal(caller.role, 'authenticated');
  assert.equal(caller.sub, USERS.operator);
  assert.equal(caller.principal, `user:${USERS.operator}`);
  assert.equal(caller.claims.sub, USERS.operator);
});

Deno.test('auth: accepts a service_role token as one principal', () => {
  const caller = authenticate(withToken(tokenFor('service')));
  assert.equal(caller.role, 'service_role');
  assert.equal(caller.principal, 'service_role');
});

Deno.test('auth: answers 401 for a missing, non-bearer, malformed, forged, unsigned or expired token', () => {
  rejects(() => authenticate(withToken()), 401, /missing Authorization/);
  rejects(() => authenticate(withToken(tokenFor('operator'), 'Basic')), 401, /Bearer/);
  rejects(() => authenticate(withToken('not-a-jwt')), 401, /malformed/);
  rejects(
    () => authenticate(withToken(signJwt({ role: 'authenticated', sub: USERS.operator }, 'another-secret'))),
    401,
    /signature/,
  );
  const unsigned = signJwt({ role: 'service_role' }, JWT_SECRET, { alg: 'none' }).replace(/[^.]+$/, '');
  rejects(() => authenticate(withToken(unsigned)), 401, /unsigned/);
  rejects(
    () => authenticate(withToken(tokenFor('operator', { exp: Math.floor(Date.now() / 1000) - 3600 }))),
    401,
    /expired/,
  );
});

Deno.test('auth: answers 401 for the anon key and for a user token without subject', () => {
  rejects(() => authenticate(withToken(tokenFor('anon'))), 401, /signed-in user/);
  rejects(() => authenticate(withToken(signJwt({ role: 'authenticated' }))), 401, /subject/);
});

Deno.test('auth: answers 403 for roles other than authenticated and service_role', () => {
  rejects(() => authenticate(withToken(signJwt({ role: 'supabase_admin', sub: USERS.admin }))), 403, /supabase_admin/);
});

Deno.test('auth: verifies ES256 tokens with the project JWKS and refuses HS256 tokens then', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'key-1', alg: 'ES256', use: 'sig' };
  const symmetric = { kty: 'oct', k: 'c2VjcmV0', kid: 'legacy', alg: 'HS256' };
  const verifyToken = createTokenVerifier({ jwks: JSON.stringify({ keys: [symmetric, jwk] }) });
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc({ alg: 'ES256', kid: 'key-1', typ: 'JWT' })}.${
    enc({ role: 'authenticated', sub: USERS.viewer })
  }`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString(
    'base64url',
  );
  assert.equal(verifyToken(`${input}.${signature}`).sub, USERS.viewer);
  const tampered = `${input.slice(0, -2)}xx.${signature}`;
  rejects(() => verifyToken(tampered), 401);
  // The HS256 "alg confusion" attack: a token MACed with the public key must not pass.
  rejects(() => verifyToken(signJwt({ role: 'service_role' }, JSON.stringify(jwk))), 401, /HS256/);
  rejects(
    () => verifyToken(signJwt({ role: 'service_role' }, 'secret', { alg: 'HS256', kid: 'legacy' })),
    401,
    /HS256/,
  );
});

Deno.test('auth: refuses to start without any key unless told to trust the platform', () => {
  assert.throws(() => createTokenVerifier({}), /ALD_JWT_SECRET/);
  const trusting = createTokenVerifier({ trustPlatform: true });
  assert.equal(trusting(signJwt({ role: 'authenticated', sub: USERS.viewer }, 'whatever')).sub, USERS.viewer);
  rejects(() => trusting(signJwt({ role: 'service_role' }, 'x', { alg: 'none' })), 401, /unsigned/);
});
