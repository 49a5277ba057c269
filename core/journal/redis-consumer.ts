/**
 * One ingest worker's side of the Redis Stream journal (redis.ts), a consumer in the workers' group:
 * its own unacknowledged entries first (after a restart), then new ones (XREADGROUP `>`); a dead
 * worker's through `reclaim` (XAUTOCLAIM). Acknowledging is XACK + XDEL in one transaction.
 */
import type { Redis } from 'ioredis';
import type { JournalEntry } from './types.js';

export interface ConsumerSetup {
  redis: Redis;
  stream: string;
  group: string;
  name: string;
  keepAliveMs: number;
}

export interface RedisConsumer {
  read(limit: number): Promise<JournalEntry[]>;
  ack(ids: readonly string[]): Promise<void>;
  reclaim(limit: number, minIdleMs: number): Promise<JournalEntry[]>;
  close(): void;
}

type RawEntry = [Buffer, Buffer[] | null];

/** Creates the group at the stream's start (so entries appended before it are read too). */
export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!/BUSYGROUP/.test((err as Error).message)) throw err;
  }
}

/** An entry from RESP (`[id, [field, value, ...]]`); undefined when deleted or not the journal's. */
function parseEntry([id, fields]: RawEntry): JournalEntry | undefined {
  if (!fields) return undefined;
  let deviceId: string | undefined;
  let receivedAt: number | undefined;
  let payload: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const field = fields[i]!.toString();
    if (field === 'd') deviceId = fields[i + 1]!.toString();
    else if (field === 't') receivedAt = Number(fields[i + 1]!.toString());
    else if (field === 'p') payload = fields[i + 1]!;
  }
  if (deviceId === undefined || receivedAt === undefined || payload === undefined) return undefined;
  return { id: id.toString(), deviceId, receivedAt, payload };
}

/** XAUTOCLAIM scans at most COUNT * 10 pending entries per call; this many calls per reclaim. */
const RECLAIM_CALLS = 20;

/** XREADGROUP without blocking: `from` is `>` (new entries) or an id in the consumer's own history. */
async function readGroup(setup: ConsumerSetup, limit: number, from: string): Promise<RawEntry[]> {
  const { redis, stream, group, name } = setup;
  const args = ['GROUP', group, name, 'COUNT', limit, 'STREAMS', stream, from];
  const reply = (await redis.callBuffer('XREADGROUP', ...args)) as [Buffer, RawEntry[]][] | null;
  return reply?.[0]?.[1] ?? [];
}

/** One XAUTOCLAIM step: the next cursor and the entries idle `minIdleMs` or longer, now ours. */
async function autoClaim(setup: ConsumerSetup, limit: number, minIdleMs: number, from: string) {
  const { redis, stream, group, name } = setup;
  const args = [stream, group, name, minIdleMs, from, 'COUNT', limit];
  // Entries deleted meanwhile come back third; Redis already dropped them from the group.
  const reply = (await redis.callBuffer('XAUTOCLAIM', ...args)) as [Buffer, RawEntry[], Buffer[]?];
  return { next: reply[0].toString(), raw: reply[1] };
}

/** Acknowledges and deletes in one transaction: the stream keeps only what is not yet done. */
async function ackAndDelete(setup: ConsumerSetup, ids: readonly string[]): Promise<void> {
  const { redis, stream, group } = setup;
  const results = await redis
    .multi()
    .xack(stream, group, ...ids)
    .xdel(stream, ...ids)
    .exec();
  const failed = results?.find(([err]) => err)?.[0];
  if (!results || failed) throw failed ?? new Error('redis discarded the acknowledgement');
}

export function openRedisConsumer(setup: ConsumerSetup): RedisConsumer {
  const { redis, stream, group, name, keepAliveMs } = setup;
  /** Read and not yet acknowledged here: kept alive so that no one reclaims them. */
  const outstanding = new Set<string>();
  /** Where the walk through this consumer's own pending entries is; undefined once done. */
  let ownPendingFrom: string | undefined = '0';
  let keepAlive: NodeJS.Timeout | undefined;

  // XCLAIM to ourselves with JUSTID resets the entries' idle time (not their delivery count); the
  // min-idle guard leaves alone an entry that another consumer took over a moment ago.
  const touch = () => {
    if (outstanding.size === 0) return;
    const minIdle = Math.floor(keepAliveMs / 2);
    redis.xclaim(stream, group, name, minIdle, ...outstanding, 'JUSTID').catch(() => {});
  };

  const take = (raw: RawEntry[]): { entries: JournalEntry[]; gone: string[] } => {
    keepAlive ??= setInterval(touch, keepAliveMs).unref();
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

  const readOwnPending = async (limit: number): Promise<JournalEntry[]> => {
    const raw = await readGroup(setup, limit, ownPendingFrom!);
    const last = raw[raw.length - 1];
    ownPendingFrom = last ? last[0].toString() : undefined;
    const { entries, gone } = take(raw);
    if (gone.length > 0) await redis.xack(stream, group, ...gone); // deleted by hand: drop them
    return entries;
  };

  const readNew = async (limit: number): Promise<JournalEntry[]> => {
    if (ownPendingFrom !== undefined) {
      const own = await readOwnPending(limit);
      if (own.length > 0) return own;
    }
    return take(await readGroup(setup, limit, '>')).entries;
  };

  return {
    async read(limit) {
      try {
        return await readNew(limit);
      } catch (err) {
        // A Redis that lost its data (no AOF, or flushed) lost the group too: make it again.
        if (/NOGROUP/.test((err as Error).message)) await ensureGroup(redis, stream, group);
        throw err;
      }
    },
    async ack(ids) {
      if (ids.length === 0) return;
      await ackAndDelete(setup, ids);
      for (const id of ids) outstanding.delete(id);
    },
    async reclaim(limit, minIdleMs) {
      let from = '0-0';
      for (let call = 0; call < RECLAIM_CALLS; call++) {
        const step = await autoClaim(setup, limit, minIdleMs, from);
        const { entries } = take(step.raw);
        from = step.next;
        if (entries.length > 0 || from === '0-0') return entries;
      }
      return [];
    },
    close() {
      clearInterval(keepAlive);
      keepAlive = undefined;
    },
  };
}
