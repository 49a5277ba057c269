/**
 * A real Redis for tests: Debian's `redis-server` on a free loopback port in a temp dir (append-only
 * file on, as the platform runs it), stopped by PID and its dir removed by `dispose()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type AppendFsync, type ManagedRedis, startManagedRedis } from '../../core/redis/managed.js';

export interface TestRedis extends ManagedRedis {
  dir: string;
  /** A client that fails fast instead of queueing commands while Redis is away. */
  client(): Redis;
  /** Stops the server, closes the clients made here, removes the temp dir. */
  dispose(): Promise<void>;
}

export async function startTestRedis(options: { appendfsync?: AppendFsync } = {}): Promise<TestRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redis-test-'));
  const server = await startManagedRedis({ dir, ...options });
  const clients: Redis[] = [];
  return Object.assign(server, {
    dir,
    client() {
      const c = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: false });
      c.on('error', () => {}); // reconnects; tests see failures through their commands
      clients.push(c);
      return c;
    },
    async dispose() {
      for (const c of clients.splice(0)) c.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
