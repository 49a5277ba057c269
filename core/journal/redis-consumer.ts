/**
 * One ingest worker's reader of the Redis Stream journal (redis.ts), in the workers' consumer group.
 * Reads, in order: its own pending entries (a restarted worker with the same name), entries a dead
 * worker left pending past the idle timeout (XAUTOCLAIM), then new entries (XREADGROUP `>`).
 * Acknowledging is XACK + XDEL in one transaction, so the stream holds only the backlog.
 */
import type { Redis } from 'ioredis';
import type { JournalEntry } from './redis.js';

export interface RedisJournalConsumer {
  readonly name: string;
  /** Up to `limit` entries; waits up to `blockMs` (0: not at all) when there is nothing to read. */
  read(limit: number, blockMs?: number): Promise<JournalEntry[]>;
  /** Done with these entries (stored or refused for good): removes them from the stream. */
  ack(ids: readonly string[]): Promise<void>;
  /** Stops reading; entries read and not acknowledged stay pending for a restart or another worker. */
  close(): Promise<void>;
  onClose(listener: () => void): void;
}

export interface ConsumerSetup {
  redis: Redis;
  stream: string;
  group: string;
  name: string;
  claimIdleMs: number;
}

type RawEntry = [Buffer, Buffer[] | null];

/** Creates the group (from the stream's start, so entries appended before it are read too). */
export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!/BUSYGROUP/.test((err as Error).message)) throw err;
  }
}

/** An entry from RESP (`[id, [field, value, ...]]`); undefined when deleted or not ours. */
function parseEntry([id, fields]: RawEntry): JournalEntry | undefined {
  if (!fields) return undefined;
  const entry: Partial<JournalEntry> = { id: id.toString() };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const field = fields[i]!.toString();
    const value = fields[i + 1]!;
    if (field === 'd') entry.deviceId = value.toString();
    else if (field === 't') entry.receivedAt = Number(value.toString());
    else if (field === 'p') entry.payload = value;
  }
  const { deviceId, receivedAt, payload } = entry;
  return deviceId !== undefined && receivedAt !== undefined && payload !== undefined
    ? (entry as JournalEntry)
    : undefined;
}

export async function openRedisConsumer(setup: ConsumerSetup): Promise<RedisJournalConsumer> {
  const { redis, stream, group, name, claimIdleMs } = setup;
  // XREADGROUP BLOCK holds its connection: one of its own, so appends and acks never wait behind it.
  const blocking = redis.duplicate();
  blocking.on('error', () => {});
  /** Read and not yet acknowledged by this consumer: kept alive so no one claims them. */
  const outstanding = new Set<string>();
  const closeListeners: (() => void)[] = [];
  let ownPendingFrom: string | undefined = '0';
  let claimFrom = '0-0';
  let nextClaimAt = 0;
  let closed = false;

  /** Keeps outstanding entries from looking dead (XCLAIM JUSTID resets idle, not the retry count). */
  const keepAliveMs = Math.max(10, Math.floor(claimIdleMs / 3));
  const keepAlive = setInterval(() => {
    if (outstanding.size === 0) return;
    redis.xclaim(stream, group, name, keepAliveMs, ...outstanding, 'JUSTID').catch(() => {}); // Redis away: the next tick tries again
  }, keepAliveMs);
  keepAlive.unref();

  const keep = (raw: RawEntry[]): { entries: JournalEntry[]; gone: string[] } => {
    const entries: JournalEntry[] = [];
    const gone: string[] = [];
    for (const r of raw) {
      const e = parseEntry(r);
      if (e) {
        entries.push(e);
        outstanding.add(e.id);
      } else gone.push(r[0].toString());
    }
    return { entries, gone };
  };

  const readGroup = async (conn: Redis, limit: number, from: string, blockMs: number) => {
    const args: (string | number)[] = ['GROUP', group, name, 'COUNT', limit];
    if (blockMs > 0) args.push('BLOCK', blockMs);
    const reply = (await conn.callBuffer('XREADGROUP', ...args, 'STREAMS', stream, from)) as
      | [Buffer, RawEntry[]][]
      | null;
    return reply?.[0]?.[1] ?? [];
  };

  /** Own pending entries from before a restart (their history in the group), oldest first. */
  const readOwnPending = async (limit: number) => {
    const raw = await readGroup(redis, limit, ownPendingFrom!, 0);
    const last = raw[raw.length - 1];
    ownPendingFrom = last ? last[0].toString() : undefined;
    const { entries, gone } = keep(raw);
    if (gone.length > 0) await redis.xack(stream, group, ...gone); // deleted by hand: drop the claim
    return entries;
  };

  /** A slice of the entries idle longer than claimIdleMs, whoever had them. */
  const claimIdle = async (limit: number) => {
    const reply = (await redis.callBuffer(
      'XAUTOCLAIM',
      stream,
      group,
      name,
      claimIdleMs,
      claimFrom,
      'COUNT',
      limit,
    )) as [Buffer, RawEntry[], Buffer[]?];
    claimFrom = reply[0].toString();
    // A full pass done: look again when entries read since may have gone idle.
    if (claimFrom === '0-0') nextClaimAt = Date.now() + Math.floor(claimIdleMs / 2);
    return keep(reply[1]).entries;
  };

  const readNext = async (limit: number, blockMs: number): Promise<JournalEntry[]> => {
    if (closed) return [];
    if (ownPendingFrom !== undefined) {
      const own = await readOwnPending(limit);
      if (own.length > 0) return own;
    }
    if (Date.now() >= nextClaimAt) {
      const claimed = await claimIdle(limit);
      if (claimed.length > 0) return claimed;
    }
    try {
      return keep(await readGroup(blocking, limit, '>', blockMs)).entries;
    } catch (err) {
      if (closed) return [];
      throw err;
    }
  };
  return {
    name,
    async read(limit, blockMs = 0) {
      try {
        return await readNext(limit, blockMs);
      } catch (err) {
        // A Redis that lost its data (no AOF, or flushed) lost the group too: make it again.
        if (/NOGROUP/.test((err as Error).message)) await ensureGroup(redis, stream, group);
        throw err;
      }
    },
    async ack(ids) {
      if (ids.length === 0) return;
      const results = await redis
        .multi()
        .xack(stream, group, ...ids)
        .xdel(stream, ...ids)
        .exec();
      const failed = results?.find(([err]) => err)?.[0];
      if (failed) throw failed;
      for (const id of ids) outstanding.delete(id);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      blocking.disconnect();
      for (const listener of closeListeners.splice(0)) listener();
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
  };
}
