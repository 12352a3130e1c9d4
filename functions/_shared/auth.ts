// Who is calling. The functions forward the caller's claims to PostgreSQL as request.jwt.claims,
// where RLS and the definer RPCs' role checks read them, so a claim must never be taken on trust:
// the token is verified here with `jose` (pinned in deno.json and package.json), the library
// Supabase's own Edge Function examples use:
//   HS256        the project's legacy JWT secret (ALD_JWT_SECRET, or SUPABASE_JWT_SECRET locally)
//   ES256/RS256  the project's signing keys (SUPABASE_JWKS, which hosted Supabase provides)
// Every token must carry `exp`; a user token must name the audience (ALD_JWT_AUDIENCE, by default
// `authenticated`, what Supabase Auth issues); the issuer is checked when ALD_JWT_ISSUER is set.
// There is no way to accept unverified tokens: without a key the functions refuse to start
// (issue 14, finding 4: ALD_TRUST_PLATFORM_JWT=true with no key accepted tokens signed with any key).
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
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
  /** The `aud` a user token must carry (default `authenticated`). */
  audience?: string;
  /** Accepted `iss` values; unchecked when empty. */
  issuers?: readonly string[];
  /** Seconds of clock skew tolerated on exp/nbf. */
  leewaySeconds?: number;
  now?: () => number;
}

export type Authenticator = (req: Request) => Promise<Caller>;
export type TokenVerifier = (token: string) => Promise<Record<string, unknown>>;

const unauthorized = (message: string) =>
  new HttpError(401, 'unauthorized', message, {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

function publicKeys(jwks: AuthOptions['jwks']): JSONWebKeySet | undefined {
  if (!jwks) return undefined;
  const set = typeof jwks === 'string' ? JSON.parse(jwks) as { keys?: JWK[] } : jwks as { keys?: JWK[] };
  // Public keys only: a symmetric ("oct") entry must never become a verification key.
  const keys = (set.keys ?? []).filter((k) => k.kty === 'EC' || k.kty === 'RSA')
    .map((k) => ({ ...k, alg: k.alg ?? (k.kty === 'EC' ? 'ES256' : 'RS256') }));
  return keys.length > 0 ? { keys } : undefined;
}

/** The 401 message for a jose error: what was wrong, never the token. */
function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'exp') return 'token has no expiry (exp)';
    if (error.claim === 'nbf') return 'token not valid yet';
    if (error.claim === 'iss') return 'token issuer not accepted';
    return `token claim ${error.claim} not accepted`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'invalid token signature';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return 'token signed with an unknown key';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm does not match its key';
  return 'malformed token';
}

/**
 * Checks a compact JWS and returns its claims; throws HttpError 401 on any defect. Throws a plain
 * Error at once when no key is configured: the functions then refuse to start.
 */
export function createTokenVerifier(options: AuthOptions): TokenVerifier {
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  const keySet = publicKeys(options.jwks);
  const jwks: JWTVerifyGetKey | undefined = keySet ? createLocalJWKSet(keySet) : undefined;
  if (!secret && !jwks) {
    throw new Error('no JWT key configured: set ALD_JWT_SECRET (HS256) or SUPABASE_JWKS (ES256/RS256)');
  }
  const audience = options.audience ?? 'authenticated';
  const issuers = options.issuers?.length ? [...options.issuers] : undefined;
  const leeway = options.leewaySeconds ?? 30;
  const now = options.now ?? Date.now;

  return async (token) => {
    let alg: string;
    try {
      alg = String(decodeProtectedHeader(token).alg);
    } catch {
      throw unauthorized('malformed token: expected header.payload.signature with a JSON header');
    }
    if (token.split('.').length !== 3) throw unauthorized('malformed token: expected header.payload.signature');
    if (alg === 'none') throw unauthorized('unsigned tokens are not accepted');
    const verifyOptions = {
      requiredClaims: ['exp'],
      clockTolerance: leeway,
      currentDate: new Date(now()),
      issuer: issuers,
    };
    let claims: Record<string, unknown>;
    try {
      if (alg === 'HS256' && secret) {
        claims = (await jwtVerify(token, secret, { ...verifyOptions, algorithms: ['HS256'] })).payload;
      } else if ((alg === 'ES256' || alg === 'RS256') && jwks) {
        claims = (await jwtVerify(token, jwks, { ...verifyOptions, algorithms: ['ES256', 'RS256'] })).payload;
      } else {
        // HS384, or an algorithm whose key is not configured (HS256 with only public keys): never accepted.
        throw unauthorized(`tokens signed with ${alg} are not accepted`);
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw unauthorized(reason(error));
    }
    // A user token must be meant for this API. Supabase's legacy service_role and anon keys carry
    // no aud; when another token names one, it must be the same.
    const aud = claims.aud;
    const auds = Array.isArray(aud) ? aud.map(String) : aud === undefined ? [] : [String(aud)];
    if ((claims.role === 'authenticated' || aud !== undefined) && !auds.includes(audience)) {
      throw unauthorized(`token audience not accepted: expected ${JSON.stringify(audience)}`);
    }
    return claims;
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Authenticates a request: a Bearer JWT whose role is authenticated (with a subject) or
 * service_role. No token and anon tokens get 401 (sign in first); other roles get 403.
 */
export function createAuthenticator(options: AuthOptions): Authenticator {
  const verifyToken = createTokenVerifier(options);
  return async (req) => {
    const header = req.headers.get('authorization');
    if (!header) throw unauthorized('missing Authorization header: send Authorization: Bearer <access token>');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized('Authorization must be "Bearer <access token>"');
    const claims = await verifyToken(match[1]);
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
