/**
 * The telemetry journal in a Redis Stream (cluster mode): broker nodes append accepted messages
 * before their PUBACK; ingest workers on any host read them as one consumer group
 * (redis-consumer.ts) and acknowledge and delete them once InfluxDB stored them, so the stream holds
 * only the backlog.
 *
 * Durability is Redis': it answers an append after writing it to its append-only file. With
 * `appendfsync everysec` that survives a killed Redis or platform process, but a power cut can lose
 * the last second (two while the disk stalls); with `appendfsync always` it is fsynced first.
 */
import os from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import { quitRedis } from '../cluster/redis-options.js';
import { ensureGroup, openRedisConsumer } from './redis-consumer.js';
import { watchStream } from './redis-watch.js';
import type { TelemetryJournal } from './types.js';

export interface RedisJournalOptions {
  /** `redis://[:password@]host:port[/db]`. */
  url: string;
  /** The stream's key. Default `telemetry:journal`. */
  stream?: string;
  /** The ingest workers' consumer group. Default `ingest`. */
  group?: string;
  /**
   * This reader's name in the group, unique among live workers; a restarted worker that keeps its
   * name reads its unacknowledged entries first. Default `<hostname>-<pid>`.
   */
  consumer?: string;
  /**
   * How often entries read and not yet acknowledged are marked alive (default 10 s), so a slow but
   * live worker's entries never look idle to `reclaim` (an entry's idle time stays below 1.5 times
   * this: give `reclaim` a `minIdleMs` well above it).
   */
  keepAliveMs?: number;
  redisOptions?: RedisOptions;
}

/** Opens the journal: appending right away, reading (a second connection's worth) from the first read. */
export async function openRedisJournal(options: RedisJournalOptions): Promise<TelemetryJournal> {
  const stream = options.stream ?? 'telemetry:journal';
  const group = options.group ?? 'ingest';
  const redis = new Redis(options.url, { lazyConnect: true, ...options.redisOptions });
  redis.on('error', () => {}); // ioredis reconnects; the commands that fail say so
  await redis.connect();
  // Created at the stream's start, whoever comes first, so no entry precedes the group.
  await ensureGroup(redis, stream, group);
  const consumer = openRedisConsumer({
    redis,
    stream,
    group,
    name: options.consumer ?? `${os.hostname()}-${process.pid}`,
    keepAliveMs: options.keepAliveMs ?? 10_000,
  });
  const unwatchers = new Set<() => void>();

  return {
    async append(entries) {
      if (entries.length === 0) return;
      // MULTI: all or none, one round trip (the broker's group commit gives one call per turn).
      const tx = redis.multi();
      for (const e of entries) {
        tx.xadd(stream, '*', 'd', e.deviceId, 't', String(e.receivedAt), 'p', e.payload);
      }
      const results = await tx.exec();
      const failed = results?.find(([err]) => err)?.[0];
      if (!results || failed) throw failed ?? new Error('redis discarded the append');
    },
    length: () => redis.xlen(stream),
    async oldestReceivedAt() {
      // Acknowledged entries are deleted (XDEL): the first one left is the oldest not yet stored.
      const [first] = await redis.xrange(stream, '-', '+', 'COUNT', 1);
      const fields = first?.[1] ?? [];
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 't') return Number(fields[i + 1]);
      return undefined;
    },
    read: (limit) => consumer.read(limit),
    ack: (ids) => consumer.ack(ids),
    reclaim: (limit, minIdleMs) => consumer.reclaim(limit, minIdleMs),
    watch(listener) {
      const unwatch = watchStream(redis, stream, listener);
      unwatchers.add(unwatch);
      return () => {
        unwatchers.delete(unwatch);
        unwatch();
      };
    },
    async close() {
      for (const unwatch of unwatchers) unwatch();
      unwatchers.clear();
      consumer.close();
      await quitRedis(redis);
    },
  };
}
