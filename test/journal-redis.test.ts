/**
 * The Redis Stream journal (core/journal/redis.ts) on a real redis-server: append, read, acknowledge;
 * two consumers sharing the load; a dead consumer's entries claimed by another (and a live slow one's
 * not); a redelivery after a restart; Redis SIGKILLed and restarted from its append-only file with
 * nothing acknowledged lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JournalEntry, openRedisJournal, type RedisJournal } from '../core/journal/redis.js';
import type { RedisJournalConsumer } from '../core/journal/redis-consumer.js';
import { startTestRedis, type TestRedis } from './helpers/redis.js';

let redis: TestRedis;
const opened: RedisJournal[] = [];
let streamNo = 0;

beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  for (const j of opened.splice(0)) await j.close();
  await redis.dispose();
});

/** A journal on a stream of its own, so tests do not see each other's entries. */
async function journal(claimIdleMs = 30_000): Promise<RedisJournal> {
  const j = await openRedisJournal({ url: redis.url, stream: `test:${++streamNo}`, claimIdleMs });
  opened.push(j);
  return j;
}

const entry = (n: number) => ({
  deviceId: `dev_${n % 7}`,
  receivedAt: 1_700_000_000_000 + n,
  payload: Buffer.from(JSON.stringify({ n, bytes: '\u00ff\u0000' })),
});
const numberOf = (e: { payload: Buffer }) => (JSON.parse(e.payload.toString()) as { n: number }).n;

/** Reads and acknowledges until `seen` holds `count` entries or `timeoutMs` passes. */
async function drain(
  c: RedisJournalConsumer,
  count: number,
  timeoutMs = 10_000,
  seen: JournalEntry[] = [],
): Promise<JournalEntry[]> {
  const own: JournalEntry[] = [];
  const deadline = Date.now() + timeoutMs;
  while (seen.length < count && Date.now() < deadline) {
    const got = await c.read(100, 50);
    await c.ack(got.map((e) => e.id));
    seen.push(...got);
    own.push(...got);
  }
  return own;
}

describe('redis stream journal', () => {
  it('appends (one pipeline per turn), reads, and removes only what is acknowledged', async () => {
    const j = await journal();
    // Two appends in one turn: both resolve, in order.
    await Promise.all([j.appendMany([entry(1), entry(2)]), j.appendMany([entry(3)])]);
    expect(await j.length()).toBe(3);
    const c = await j.consumer('w1');
    const got = await c.read(10);
    expect(got.map(numberOf)).toEqual([1, 2, 3]);
    expect(got[0]).toMatchObject({ deviceId: 'dev_1', receivedAt: 1_700_000_000_001 });
    expect(got[0]!.payload.equals(entry(1).payload)).toBe(true);
    expect(typeof got[0]!.id).toBe('string');
    expect(await j.length()).toBe(3); // read is not done
    await c.ack([got[0]!.id, got[1]!.id]);
    expect(await j.length()).toBe(1);
    await c.ack([got[2]!.id]);
    expect(await j.length()).toBe(0);
    expect(await c.read(10, 100)).toEqual([]);
  });

  it('two consumers share the load, each entry to one of them', async () => {
    const j = await journal();
    const total = 2000;
    for (let i = 0; i < total; i += 100) {
      await j.appendMany(Array.from({ length: 100 }, (_, k) => entry(i + k)));
    }
    const [a, b] = [await j.consumer('a'), await j.consumer('b')];
    const all: JournalEntry[] = [];
    const [fromA, fromB] = await Promise.all([drain(a, total, 10_000, all), drain(b, total, 10_000, all)]);
    expect(fromA.length).toBeGreaterThan(0);
    expect(fromB.length).toBeGreaterThan(0);
    const numbers = [...fromA, ...fromB].map(numberOf).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(await j.length()).toBe(0);
  });

  it("claims a dead consumer's pending entries after the idle timeout, not a live slow one's", async () => {
    const j = await journal(300);
    await j.appendMany(Array.from({ length: 20 }, (_, i) => entry(i)));
    const dead = await j.consumer('dead');
    const slow = await j.consumer('slow');
    const deadOnes = await dead.read(10);
    const slowOnes = await slow.read(10);
    expect(deadOnes).toHaveLength(10);
    expect(slowOnes).toHaveLength(10);
    await dead.close(); // stops reading and keeping its entries alive, as a killed worker would
    const survivor = await j.consumer('survivor');
    const claimed = await drain(survivor, 10, 5000);
    expect(claimed.map(numberOf).sort((x, y) => x - y)).toEqual(deadOnes.map(numberOf));
    // The slow consumer kept its entries alive past the idle timeout: nobody took them.
    expect(await survivor.read(10, 500)).toEqual([]);
    await slow.ack(slowOnes.map((e) => e.id));
    expect(await j.length()).toBe(0);
  });

  it('redelivers unacknowledged entries to a consumer restarted with the same name', async () => {
    const j = await journal();
    await j.appendMany([entry(1), entry(2), entry(3)]);
    const first = await j.consumer('w');
    const before = await first.read(2);
    await first.close();
    const again = await j.consumer('w');
    const redelivered = await again.read(10);
    expect(redelivered.map((e) => e.id)).toEqual(before.map((e) => e.id));
    const rest = await drain(again, 1);
    expect(rest.map(numberOf)).toEqual([3]);
    await again.ack(redelivered.map((e) => e.id));
    expect(await j.length()).toBe(0);
  });
});

describe('redis stream journal across a Redis crash', () => {
  it('Redis SIGKILLed mid-stream and restarted from its AOF: nothing acknowledged is lost', async () => {
    const own = await startTestRedis({ appendfsync: 'everysec' });
    const j = await openRedisJournal({ url: own.url, stream: 'crash', claimIdleMs: 1000 });
    const consumer = await j.consumer('w');
    const acknowledged = new Set<number>();
    const seen = new Set<number>();
    let producing = true;
    let killedPid = -1;
    const produce = async () => {
      for (let n = 0; acknowledged.size < 3000; n += 20) {
        const batch = Array.from({ length: 20 }, (_, k) => entry(n + k));
        try {
          await j.appendMany(batch);
          for (const e of batch) acknowledged.add(numberOf(e));
        } catch {
          await new Promise((r) => setTimeout(r, 20)); // not acknowledged: the sender sends later
        }
      }
      producing = false;
    };
    const consume = async () => {
      while (producing || (await j.length().catch(() => 1)) > 0) {
        try {
          const got = await consumer.read(50, 50);
          await consumer.ack(got.map((e) => e.id));
          for (const e of got) seen.add(numberOf(e));
          // Slower than the producer: a backlog, read and unread, is in Redis when it is killed.
          await new Promise((r) => setTimeout(r, 10));
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const crash = async () => {
      while (acknowledged.size < 1000) await new Promise((r) => setTimeout(r, 5));
      killedPid = own.pid;
      await own.kill();
      await new Promise((r) => setTimeout(r, 300));
      await own.restart();
    };
    try {
      await Promise.all([produce(), consume(), crash()]);
      const lost = [...acknowledged].filter((n) => !seen.has(n));
      expect(lost).toEqual([]);
      expect(acknowledged.size).toBeGreaterThanOrEqual(3000);
      expect(killedPid).toBeGreaterThan(0);
      expect(own.pid).not.toBe(killedPid);
      expect(await j.length()).toBe(0);
    } finally {
      await j.close();
      await own.dispose();
    }
  });
});
