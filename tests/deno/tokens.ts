// Seed ids and JWTs for the Deno tests; no database needed, so unit tests can use it alone.
import { Buffer } from 'node:buffer';
import { createHash, createHmac } from 'node:crypto';

export const JWT_SECRET = Deno.env.get('ALD_JWT_SECRET') ?? Deno.env.get('SUPABASE_JWT_SECRET') ??
  'ald-db-test-jwt-secret-not-for-production-0123456789';
// The functions read the secret from the environment on first use.
Deno.env.set('SUPABASE_JWT_SECRET', JWT_SECRET);

// Fixed ids from supabase/seed.sql.
export const MACHINE_A = '00000000-0000-4000-8000-000000000001';
export const MACHINE_B = '00000000-0000-4000-8000-000000000002';
export const COMPONENT_CHAMBER_HEATER = '00000000-0000-4000-8000-000000001001';
export const COMPONENT_BENCH_HEATER = '00000000-0000-4000-8000-000000002001';
export const USERS = {
  viewer: '00000000-0000-4000-8000-000000000101',
  operator: '00000000-0000-4000-8000-000000000102',
  admin: '00000000-0000-4000-8000-000000000103',
  bench: '00000000-0000-4000-8000-000000000201',
} as const;

/** md5('ald-demo/' || component || '/' || parameter)::uuid, as the seed derives parameter ids. */
export function parameterId(component: string, parameter: string): string {
  const h = createHash('md5').update(`ald-demo/${component}/${parameter}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function signJwt(
  claims: Record<string, unknown>,
  secret = JWT_SECRET,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc(header)}.${enc(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export type Who = keyof typeof USERS | 'service' | 'anon';

/** A valid one-hour token for a seed user, the service role or the anon key. */
export function tokenFor(who: Who, extra: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const base = { iat: now, exp: now + 3600, iss: 'supabase-test' };
  if (who === 'service') return signJwt({ ...base, role: 'service_role', ...extra });
  if (who === 'anon') return signJwt({ ...base, role: 'anon', ...extra });
  return signJwt({ ...base, role: 'authenticated', aud: 'authenticated', sub: USERS[who], ...extra });
}
