/**
 * The Redis journal's optional wake-up: a connection of its own blocks in XREAD until an entry newer
 * than the newest one seen arrives, then calls the listener. At most one call per `minGapMs`, and no
 * wake-up is missed: the newest id is taken before the listener runs, so anything later wakes again.
 */
import type { Redis } from 'ioredis';

export function watchStream(redis: Redis, stream: string, listener: () => void, minGapMs = 10): () => void {
  const conn = redis.duplicate();
  conn.on('error', () => {}); // reconnects; the loop waits and tries again
  let stopped = false;

  const newestId = async (): Promise<string> => {
    const last = await conn.xrevrange(stream, '+', '-', 'COUNT', 1);
    return last[0]?.[0] ?? '0-0';
  };

  const loop = async () => {
    let after = await newestId().catch(() => '0-0');
    while (!stopped) {
      try {
        const reply = await conn.xread('COUNT', 1, 'BLOCK', 5000, 'STREAMS', stream, after);
        if (stopped) return;
        if (reply) {
          after = await newestId();
          listener();
          await new Promise((r) => setTimeout(r, minGapMs));
        }
      } catch {
        if (stopped) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  void loop();

  return () => {
    stopped = true;
    conn.disconnect();
  };
}
