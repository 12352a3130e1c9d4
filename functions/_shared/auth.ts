// Who is calling. The functions forward the caller's claims to PostgreSQL as request.jwt.claims,
// where RLS and the definer RPCs' role checks read them, so a claim must never be taken on trust:
// the signature is verified here, with node:crypto and no dependency.
//   HS256        the project's legacy JWT secret (ALD_JWT_SECRET, or SUPABASE_JWT_SECRET locally)
//   ES256/RS256  the project's signing keys (SUPABASE_JWKS, which hosted Supabase provides)
// Only with ALD_TRUST_PLATFORM_JWT=true and neither key set are tokens decoded without a check:
// that is safe only behind the platform's verify_jwt = true (see functions/README.md).
import { Buffer } from 'node:buffer';
import { createHmac, createPublicKey, type KeyObject, timingSafeEqual, verify } from 'node:crypto';
import { HttpError } from './http.ts';

export type CallerRole = 'authenticated' | 'service_role';

export interface Caller {
  role: CallerRole;
  /** auth.users id; null for service_role tokens without a subject. */
  sub: string | null;
  /** Cache partition: whose permissions a cached answer was computed with. */
  principal: string;
  /** The verified claims, forwarded verbatim to request.jwt.claims. */
  claims: Record<string, unknown>;
}

export interface AuthOptions {
  jwtSecret?: string;
  /** JSON Web Key Set: `{"keys": [...]}` as text or parsed. */
  jwks?: string | { keys: JsonWebKey[] };
  trustPlatform?: boolean;
  /** Seconds of clock skew tolerated on exp/nbf. */
  leewaySeconds?: number;
  now?: () => number;
}

export type Authenticator = (req: Request) => Caller;

const unauthorized = (message: string) =>
  new HttpError(401, 'unauthorized', message, {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: the message below is the same for every malformed part
  }
  throw unauthorized(`malformed token: the ${what} is not a base64url JSON object`);
}

interface JwkWithId extends JsonWebKey {
  kid?: string;
}

function loadKeys(jwks: AuthOptions['jwks']): Map<string, { alg: string; key: KeyObject }> {
  const keys = new Map<string, { alg: string; key: KeyObject }>();
  if (!jwks) return keys;
  const set = typeof jwks === 'string' ? JSON.parse(jwks) as { keys?: JwkWithId[] } : jwks as { keys?: JwkWithId[] };
  for (const jwk of set.keys ?? []) {
    // Public keys only: a symmetric ("oct") entry must never become a verification key.
    if (jwk.kty !== 'EC' && jwk.kty !== 'RSA') continue;
    const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'RS256');
    // deno-lint-ignore no-explicit-any -- node's JsonWebKey type differs from the DOM one by name only
    keys.set(jwk.kid ?? '', { alg, key: createPublicKey({ key: jwk as any, format: 'jwk' }) });
  }
  return keys;
}

/** Checks a compact JWS and returns its claims; throws HttpError 401 on any defect. */
export function createTokenVerifier(options: AuthOptions): (token: string) => Record<string, unknown> {
  const secret = options.jwtSecret ? Buffer.from(options.jwtSecret, 'utf8') : undefined;
  const keys = loadKeys(options.jwks);
  const leeway = options.leewaySeconds ?? 30;
  const now = options.now ?? Date.now;
  if (!secret && keys.size === 0 && !options.trustPlatform) {
    throw new Error(
      'no JWT key configured: set ALD_JWT_SECRET (HS256) or SUPABASE_JWKS, or ALD_TRUST_PLATFORM_JWT=true',
    );
  }

  return (token) => {
    const parts = token.split('.');
    if (parts.length !== 3) throw unauthorized('malformed token: expected header.payload.signature');
    const header = decodeJson(parts[0], 'header');
    const claims = decodeJson(parts[1], 'payload');
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`, 'utf8');
    const signature = Buffer.from(parts[2], 'base64url');
    const alg = String(header.alg);

    if (alg === 'none') throw unauthorized('unsigned tokens are not accepted');
    if (alg === 'HS256' && secret) {
      const expected = createHmac('sha256', secret).update(signed).digest();
      if (expected.length !== signature.length || !timingSafeEqual(expected, signature)) {
        throw unauthorized('invalid token signature');
      }
    } else if ((alg === 'ES256' || alg === 'RS256') && keys.size > 0) {
      const entry = keys.get(String(header.kid ?? '')) ?? (keys.size === 1 ? [...keys.values()][0] : undefined);
      if (!entry || entry.alg !== alg) throw unauthorized('token signed with an unknown key');
      const ok = verify(
        'sha256',
        signed,
        alg === 'ES256' ? { key: entry.key, dsaEncoding: 'ieee-p1363' } : entry.key,
        signature,
      );
      if (!ok) throw unauthorized('invalid token signature');
    } else if (!(options.trustPlatform && !secret && keys.size === 0)) {
      // HS384, or an algorithm whose key is not configured: never accepted.
      throw unauthorized(`tokens signed with ${alg} are not accepted`);
    }

    const seconds = now() / 1000;
    if (typeof claims.exp === 'number' && claims.exp + leeway < seconds) throw unauthorized('token expired');
    if (typeof claims.nbf === 'number' && claims.nbf - leeway > seconds) throw unauthorized('token not valid yet');
    return claims;
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Authenticates a request: a Bearer JWT whose role is authenticated (with a subject) or
 * service_role. No token and anon tokens get 401 (sign in first); other roles get 403.
 */
export function createAuthenticator(options: AuthOptions): Authenticator {
  let verifyToken: ((token: string) => Record<string, unknown>) | undefined;
  return (req) => {
    // Built lazily so that a missing key is a 500 on the first request, not a crash at import.
    verifyToken ??= createTokenVerifier(options);
    const header = req.headers.get('authorization');
    if (!header) throw unauthorized('missing Authorization header: send Authorization: Bearer <access token>');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized('Authorization must be "Bearer <access token>"');
    const claims = verifyToken(match[1]);
    const role = claims.role;
    if (role === 'anon' || role === undefined) {
      throw unauthorized('this function needs a signed-in user: the anon key is not enough');
    }
    if (role !== 'authenticated' && role !== 'service_role') {
      throw new HttpError(403, 'forbidden', `role ${JSON.stringify(role)} may not call this function`);
    }
    const sub = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : null;
    if (role === 'authenticated' && sub === null) throw unauthorized('token has no subject (sub)');
    // auth.uid() casts sub to uuid: a user token whose subject is not a uuid (some third-party
    // providers issue such) would fail inside PostgreSQL with 22P02, so refuse it here as 401.
    if (role === 'authenticated' && !UUID.test(sub!)) throw unauthorized('token subject (sub) is not a uuid');
    return { role, sub, claims, principal: role === 'service_role' ? 'service_role' : `user:${sub}` };
  };
}
