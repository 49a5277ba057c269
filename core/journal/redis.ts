/**
 * The telemetry journal in a Redis Stream (cluster mode): broker nodes append accepted messages before
 * their PUBACK, ingest workers on any host read them as one consumer group (redis-consumer.ts) and
 * acknowledge and delete them only after InfluxDB stored them, so the stream holds only the backlog.
 *
 * Durability (Redis' own): an XADD is answered after Redis wrote it to its append-only file. With
 * `appendfsync everysec` that write survives a killed Redis or host process, but a power cut can lose
 * the last second (or two, while the disk stalls); with `appendfsync always` it is fsynced first.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ensureGroup, openRedisConsumer, type RedisJournalConsumer } from './redis-consumer.js';

export interface JournalAppend {
  deviceId: string;
  receivedAt: number;
  payload: Buffer;
}

export interface JournalEntry extends JournalAppend {
  /** Opaque (the stream entry id). */
  id: string;
}

export interface RedisJournalOptions {
  /** `redis://[:password@]host:port[/db]`. */
  url: string;
  /** The stream's key. Default `telemetry:journal`. */
  stream?: string;
  /** The consumer group of the ingest workers. Default `ingest`. */
  group?: string;
  /**
   * A read entry not acknowledged nor kept alive for this long belongs to a dead consumer: another
   * one claims it (XAUTOCLAIM). Default 30 s. Live consumers keep theirs alive meanwhile.
   */
  claimIdleMs?: number;
  redisOptions?: RedisOptions;
}

export interface RedisJournal {
  /**
   * Appends durably (see above). Calls made in the same event-loop turn go out as one pipeline (the
   * group commit); each resolves when all of its entries are stored, and rejects if any is not.
   */
  appendMany(entries: readonly JournalAppend[]): Promise<void>;
  /** Entries in the stream: appended and not yet acknowledged (backpressure). */
  length(): Promise<number>;
  /** A reader in the group; `name` is unique per live worker (a restarted one may reuse its name). */
  consumer(name: string): Promise<RedisJournalConsumer>;
  close(): Promise<void>;
}

interface PendingAppend {
  entries: readonly JournalAppend[];
  resolve: () => void;
  reject: (err: Error) => void;
}

export async function openRedisJournal(options: RedisJournalOptions): Promise<RedisJournal> {
  const stream = options.stream ?? 'telemetry:journal';
  const group = options.group ?? 'ingest';
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const redis = new Redis(options.url, { lazyConnect: true, ...options.redisOptions });
  redis.on('error', () => {}); // ioredis reconnects; the commands that fail report it
  await redis.connect();
  await ensureGroup(redis, stream, group);
  const consumers = new Set<RedisJournalConsumer>();
  let queue: PendingAppend[] = [];

  const flush = async () => {
    const batch = queue;
    queue = [];
    const pipeline = redis.pipeline();
    for (const call of batch) {
      for (const e of call.entries) {
        pipeline.xadd(stream, '*', 'd', e.deviceId, 't', String(e.receivedAt), 'p', e.payload);
      }
    }
    let results: [Error | null, unknown][] = [];
    let failure: Error | undefined;
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (err) {
      failure = err as Error;
    }
    let at = 0;
    for (const call of batch) {
      const own = results.slice(at, at + call.entries.length);
      at += call.entries.length;
      const err = failure ?? own.find(([e]) => e !== null)?.[0] ?? undefined;
      if (!err && own.length < call.entries.length) call.reject(new Error('redis returned too few replies'));
      else if (err) call.reject(err);
      else call.resolve();
    }
  };

  return {
    appendMany(entries) {
      if (entries.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        // The first append of a turn schedules the flush; later ones of the same turn join it.
        if (queue.length === 0) setImmediate(() => void flush());
        queue.push({ entries, resolve, reject });
      });
    },
    length: () => redis.xlen(stream),
    async consumer(name) {
      const c = await openRedisConsumer({ redis, stream, group, name, claimIdleMs });
      consumers.add(c);
      c.onClose(() => consumers.delete(c));
      return c;
    },
    async close() {
      for (const c of [...consumers]) await c.close();
      if (queue.length > 0) await flush();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
