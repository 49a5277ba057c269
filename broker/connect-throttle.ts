/**
 * Slows down failed CONNECTs per source address, without ever locking anyone out.
 *
 * A refused CONNECT's CONNACK is held back for a delay that doubles with each recent failure from the
 * same address (the first one is answered at once), up to `maxDelayMs`. A client guessing in a loop,
 * or a misconfigured fleet in a reconnect storm, gets slower; a successful CONNECT is never delayed,
 * so a device with the right secret behind the same NAT as the attacker connects as fast as ever. A
 * lockout would let anyone who knows a device id keep that device off the platform.
 *
 * "Server unavailable" (3, the registry failed) is not the client's fault and is never delayed. IPv6
 * addresses count per /64, the smallest block one subscriber usually gets.
 */
import type { AedesOptions } from 'aedes';
import { addressKey } from '../core/address-key.js';
import { remoteAddress } from './aedes-internals.js';

type Authenticate = NonNullable<AedesOptions['authenticate']>;

export interface ConnectThrottleOptions {
  /** The longest a refused CONNACK is held; 0 turns the slowdown off. */
  maxDelayMs: number;
  /** The delay after the second failure in a row; doubles with each further one. Default 100 ms. */
  baseDelayMs?: number;
  /** Failures are forgotten after this long without another one from the address. Default 60 s. */
  forgetAfterMs?: number;
  /** Addresses tracked at most; the least recently failing ones are forgotten first. Default 10,000. */
  maxAddresses?: number;
  now?: () => number;
  /** Called with each delay given (for metrics). */
  onDelay?: (ms: number) => void;
}

export interface ConnectThrottle {
  /** aedes' authenticate, with refused CONNACKs delayed. */
  wrap(authenticate: Authenticate): Authenticate;
  /** Records a failure from `address` and returns how long to hold its CONNACK. */
  failed(address: string): number;
}

export function createConnectThrottle(opts: ConnectThrottleOptions): ConnectThrottle {
  const now = opts.now ?? Date.now;
  const base = opts.baseDelayMs ?? 100;
  const forgetAfter = opts.forgetAfterMs ?? 60_000;
  const maxAddresses = opts.maxAddresses ?? 10_000;
  // Map order is insertion order: re-inserting on each failure keeps the oldest first.
  const failures = new Map<string, { count: number; lastAt: number }>();

  function failed(address: string): number {
    const t = now();
    const key = addressKey(address);
    const seen = failures.get(key);
    const count = seen && t - seen.lastAt < forgetAfter ? seen.count + 1 : 1;
    failures.delete(key);
    if (failures.size >= maxAddresses) failures.delete(failures.keys().next().value as string);
    failures.set(key, { count, lastAt: t });
    if (opts.maxDelayMs <= 0 || count < 2) return 0;
    return Math.min(opts.maxDelayMs, base * 2 ** Math.min(count - 2, 30));
  }

  return {
    failed,
    wrap(authenticate) {
      return (client, username, password, done) =>
        authenticate(client, username, password, (err, ok) => {
          if (!err || Number(err.returnCode) === 3) return done(err, ok);
          const delay = failed(remoteAddress(client));
          if (delay === 0) return done(err, ok);
          opts.onDelay?.(delay);
          // aedes ignores the answer if the client went away meanwhile (connect.js, negate).
          setTimeout(() => done(err, ok), delay).unref();
        });
    },
  };
}
