/**
 * How every Redis connection of cluster mode behaves while Redis is away: commands wait for it to come
 * back instead of failing (ioredis' offline queue, no retry limit), so the broker holds PUBACKs and
 * ingest waits; nothing is acknowledged before Redis answered, and no component crashes.
 */
import type { RedisOptions } from 'ioredis';

export const WAIT_FOR_REDIS: RedisOptions = {
  maxRetriesPerRequest: null,
  enableOfflineQueue: true,
  // Reconnect after 100 ms, 200 ms, ... at most every 2 s, forever.
  retryStrategy: (times) => Math.min(100 * times, 2000),
};

/** ioredis options from `redis[s]://[user:password@]host[:port][/db]` (for libraries that take no URL). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  const db = Number(u.pathname.slice(1) || '0');
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** QUIT, or a hard disconnect when Redis does not answer within `ms` (it may be away). */
export async function quitRedis(redis: { quit(): Promise<unknown>; disconnect(): void }, ms = 2000) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([redis.quit().catch(() => {}), late]);
  clearTimeout(timer);
  redis.disconnect();
}
