// Request bodies: read with a size cap (the cap is checked while streaming, so a client cannot make
// the isolate buffer more than it allows), parsed as JSON, checked with zod. Every failure is a
// 4xx whose message says what was wrong and where.
import type { z } from 'npm:zod@4.6.7';
import { HttpError } from './http.ts';

/** Reads the body as JSON; 413 above maxBytes, 400 when empty or not JSON. */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(declared, maxBytes);
  if (!req.body) throw new HttpError(400, 'invalid_request', 'a JSON request body is required');

  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(size, maxBytes);
    }
    chunks.push(value);
  }
  if (size === 0) throw new HttpError(400, 'invalid_request', 'a JSON request body is required');

  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, 'invalid_request', 'the request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'invalid_request', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}

function tooLarge(size: number, maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', `the request body is larger than ${maxBytes} bytes`, {
    limit_bytes: maxBytes,
    ...(Number.isFinite(size) ? { received_bytes_at_least: size } : {}),
  });
}

/** zod issue paths as `readings[2].value`. */
export function issuePath(path: readonly PropertyKey[], root: string): string {
  let out = root;
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  return out;
}

/**
 * Parses `value` with `schema`; on failure a 400 listing (up to five) problems, e.g.
 * "body.readings[0].value: Invalid input: expected number, received string".
 */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, root: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: issuePath(issue.path, root), message: issue.message }));
  const shown = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  throw new HttpError(400, 'invalid_request', shown + more, { issues: issues.slice(0, 50) });
}
