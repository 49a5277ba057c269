/**
 * Stream tokens for browsers (`EventSource` sends no headers): `st1.<claims>.<HMAC-SHA256>`, signed
 * with a key derived (HKDF) from the service secret, so every replica checks them; single use through
 * a `UsedTokenStore` (in memory, or shared). docs/DESIGN.md, "The API".
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ErrorReason } from '../error-codes.js';

export const STREAM_TOKEN_TTL_MS = 60_000;

export interface StreamScope {
  kind: 'device' | 'pilot';
  id: string;
}

export interface StreamTokenClaims extends StreamScope {
  partnerId: string;
  /** Epoch ms after which the token no longer opens a stream. */
  expiresAt: number;
  nonce: string;
}

/** Remembers which tokens were used, until they expire. */
export interface UsedTokenStore {
  /** True the first time a nonce is claimed; false after. */
  claim(nonce: string, expiresAt: number): boolean;
}

export interface StreamTokens {
  mint(partnerId: string, scope: StreamScope): { token: string; expiresAt: number };
  /**
   * Checks signature, expiry and that the token is for `scope`, then claims it (single use);
   * a reason when it may not open this stream.
   */
  redeem(token: string, scope: StreamScope): StreamTokenClaims | { reason: ErrorReason; message: string };
}

/** The HMAC key, derived from the service secret so it needs no file or variable of its own. */
export function streamTokenKey(serviceSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', serviceSecret, 'pilot-platform', 'stream-tokens v1', 32));
}

/** In-memory single-use check; expired nonces are dropped as new ones come in. */
export function memoryUsedTokens(now: () => number = Date.now): UsedTokenStore {
  const used = new Map<string, number>();
  return {
    claim(nonce, expiresAt) {
      const t = now();
      // Map iteration is insertion order, and expiries grow with it: prune from the front.
      for (const [n, exp] of used) {
        if (exp > t) break;
        used.delete(n);
      }
      if (used.has(nonce)) return false;
      used.set(nonce, expiresAt);
      return true;
    },
  };
}

const PREFIX = 'st1';

export function createStreamTokens(opts: {
  key: Buffer;
  ttlMs?: number;
  used?: UsedTokenStore;
  now?: () => number;
}): StreamTokens {
  const now = opts.now ?? Date.now;
  const ttlMs = opts.ttlMs ?? STREAM_TOKEN_TTL_MS;
  const used = opts.used ?? memoryUsedTokens(now);
  const mac = (claims: string) => createHmac('sha256', opts.key).update(`${PREFIX}.${claims}`).digest();

  return {
    mint(partnerId, scope) {
      const claims: StreamTokenClaims = {
        partnerId,
        kind: scope.kind,
        id: scope.id,
        expiresAt: now() + ttlMs,
        nonce: randomBytes(16).toString('base64url'),
      };
      const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return { token: `${PREFIX}.${body}.${mac(body).toString('base64url')}`, expiresAt: claims.expiresAt };
    },
    redeem(token, scope) {
      const claims = verify(token, mac);
      if (!claims) return { reason: 'stream_token_invalid', message: 'invalid stream token' };
      if (claims.kind !== scope.kind || claims.id !== scope.id) {
        return { reason: 'stream_token_invalid', message: `this stream token is for another ${claims.kind}` };
      }
      if (claims.expiresAt <= now()) {
        return { reason: 'stream_token_expired', message: 'stream token expired; mint a new one' };
      }
      if (!used.claim(claims.nonce, claims.expiresAt)) {
        return { reason: 'stream_token_used', message: 'stream token already used; mint a new one' };
      }
      return claims;
    },
  };
}

function verify(token: string, mac: (claims: string) => Buffer): StreamTokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return undefined;
  const [, body = '', sig = ''] = parts;
  const expected = mac(body);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<StreamTokenClaims>;
    const ok =
      typeof c.partnerId === 'string' &&
      (c.kind === 'device' || c.kind === 'pilot') &&
      typeof c.id === 'string' &&
      typeof c.expiresAt === 'number' &&
      typeof c.nonce === 'string';
    return ok ? (c as StreamTokenClaims) : undefined;
  } catch {
    return undefined;
  }
}
