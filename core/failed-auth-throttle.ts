/**
 * Slows failed logins per source address without ever locking anyone out: only failures are
 * counted, and the caller consults this *after* the credentials were found wrong, so a correct key or
 * device secret from the same address (a NAT shared with an attacker) is never delayed or refused.
 *
 * Each address has a leaky bucket: every failure adds 1, the level drains by `drainPerMinute`. Up to
 * `free` the failure is answered at once; above it after a delay that doubles per failure (capped at
 * `maxDelayMs`); above `limit` it is refused outright (429) with the time until the bucket is back at
 * the limit. The level is capped at twice the limit, so that wait stays bounded however long a storm
 * lasts. Addresses are remembered in a bounded map (least recently failed forgotten first).
 */
import { addressKey } from './address-key.js';

export interface FailedAuthOptions {
  /** Failures answered without delay (a burst: a mistyped key, a device retrying). */
  free: number;
  /** Past this level failures are refused (429) until the bucket drains. */
  limit: number;
  /** How fast the bucket drains, failures per minute. */
  drainPerMinute: number;
  /** Delay of the first failure past `free`; doubles with each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Addresses remembered at most. */
  maxAddresses: number;
  now: () => number;
}

export const DEFAULT_FAILED_AUTH: Omit<FailedAuthOptions, 'now'> = {
  free: 20,
  limit: 60,
  drainPerMinute: 60,
  baseDelayMs: 100,
  maxDelayMs: 3000,
  maxAddresses: 50_000,
};

export type FailedAuthVerdict =
  /** Answer the failure (401) after `delayMs`. */
  | { refuse: false; delayMs: number }
  /** Refuse (429); the address may try again after `retryAfterMs`. */
  | { refuse: true; retryAfterMs: number };

export interface FailedAuthThrottle {
  /** Records one failed authentication from `address` and says how to answer it. */
  fail(address: string): FailedAuthVerdict;
  /** Addresses currently remembered. */
  size(): number;
}

export function createFailedAuthThrottle(opts: Partial<FailedAuthOptions> = {}): FailedAuthThrottle {
  const o: FailedAuthOptions = { ...DEFAULT_FAILED_AUTH, now: Date.now, ...opts };
  const drainPerMs = o.drainPerMinute / 60_000;
  const buckets = new Map<string, { level: number; at: number }>();

  return {
    fail(address) {
      const key = addressKey(address);
      const now = o.now();
      const b = buckets.get(key);
      const drained = b ? Math.max(0, b.level - (now - b.at) * drainPerMs) : 0;
      const level = Math.min(drained + 1, 2 * o.limit);
      // Re-inserted so the map's order is least recently failed first.
      buckets.delete(key);
      buckets.set(key, { level, at: now });
      if (buckets.size > o.maxAddresses) buckets.delete(buckets.keys().next().value as string);
      if (level > o.limit) {
        return { refuse: true, retryAfterMs: Math.ceil((level - o.limit) / drainPerMs) };
      }
      if (level <= o.free) return { refuse: false, delayMs: 0 };
      const steps = Math.ceil(level - o.free) - 1;
      return { refuse: false, delayMs: Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(steps, 30)) };
    },
    size: () => buckets.size,
  };
}
