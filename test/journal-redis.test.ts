/**
 * The Redis Stream journal (core/journal/redis.ts) on a real redis-server: the journal contract;
 * two consumers sharing the load; a dead consumer's entries reclaimed by another (and a live slow
 * one's not); the wake-up; Redis SIGKILLed and restarted from its append-only file with nothing
 * acknowledged lost.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { openRedisJournal, type RedisJournalOptions } from '../core/journal/redis.js';
import type { JournalEntry, TelemetryJournal } from '../core/journal/types.js';
import { describeJournal } from './helpers/journal-contract.js';
import { startTestRedis, type TestRedis } from './helpers/redis.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis.dispose());

describeJournal('redis', (name) => openRedisJournal({ url: redis.url, stream: name, consumer: 'worker' }));

let streamNo = 0;
/** Consumers of one stream of their own, so tests do not see each other's entries. */
function streamOf(options: Partial<RedisJournalOptions> = {}) {
  const stream = `test:${++streamNo}`;
  return async (consumer: string) => {
    const j = await openRedisJournal({ url: redis.url, stream, consumer, ...options });
    onTestFinished(() => j.close());
    return j;
  };
}

const entry = (n: number) => ({
  deviceId: `dev_${n % 7}`,
  receivedAt: 1_700_000_000_000 + n,
  payload: Buffer.from(JSON.stringify({ n, bytes: '\u00ff\u0000' })),
});
const numberOf = (e: { payload: Buffer }) => (JSON.parse(e.payload.toString()) as { n: number }).n;
const sorted = (entries: { payload: Buffer }[]) => entries.map(numberOf).sort((x, y) => x - y);

/** Reads and acknowledges until `seen` holds `count` entries or `timeoutMs` passes; returns its own. */
async function drain(j: TelemetryJournal, count: number, seen: JournalEntry[] = [], timeoutMs = 10_000) {
  const own: JournalEntry[] = [];
  const deadline = Date.now() + timeoutMs;
  while (seen.length < count && Date.now() < deadline) {
    const got = await j.read(100);
    await j.ack(got.map((e) => e.id));
    seen.push(...got);
    own.push(...got);
    if (got.length === 0) await new Promise((r) => setTimeout(r, 20));
  }
  return own;
}

describe('redis stream journal: several workers', () => {
  it('two consumers share the load, each entry to one of them, binary payloads intact', async () => {
    const open = streamOf();
    const [a, b] = [await open('a'), await open('b')];
    const total = 2000;
    for (let i = 0; i < total; i += 100) await a.append(Array.from({ length: 100 }, (_, k) => entry(i + k)));
    const all: JournalEntry[] = [];
    const [fromA, fromB] = await Promise.all([drain(a, total, all), drain(b, total, all)]);
    expect(fromA.length).toBeGreaterThan(0);
    expect(fromB.length).toBeGreaterThan(0);
    expect(sorted(all)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(all[0]!.payload.equals(entry(numberOf(all[0]!)).payload)).toBe(true);
    expect(await a.length()).toBe(0);
  });

  it("reclaims a dead consumer's entries after the idle time, never a live slow one's", async () => {
    const open = streamOf({ keepAliveMs: 100 });
    const [dead, slow, survivor] = [await open('dead'), await open('slow'), await open('survivor')];
    await dead.append(Array.from({ length: 20 }, (_, i) => entry(i)));
    const deadOnes = await dead.read(10);
    const slowOnes = await slow.read(10);
    await dead.close(); // stops keeping its entries alive, as a killed worker would
    expect(await survivor.reclaim(10, 400)).toEqual([]); // not idle yet
    await new Promise((r) => setTimeout(r, 600));
    const reclaimed = await survivor.reclaim(100, 400);
    expect(sorted(reclaimed)).toEqual(sorted(deadOnes)); // the redelivery, whole
    expect(reclaimed.map((e) => e.id).sort()).toEqual(deadOnes.map((e) => e.id).sort());
    await survivor.ack(reclaimed.map((e) => e.id));
    expect(await survivor.reclaim(100, 400)).toEqual([]);
    await slow.ack(slowOnes.map((e) => e.id));
    expect(await survivor.length()).toBe(0);
  });

  it('wakes a watcher soon after an append, also one from another connection', async () => {
    const open = streamOf();
    const [writer, reader] = [await open('w'), await open('r')];
    let wakes = 0;
    const unwatch = reader.watch!(() => wakes++);
    await new Promise((r) => setTimeout(r, 100));
    await writer.append([entry(1)]);
    const deadline = Date.now() + 2000;
    while (wakes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(wakes).toBeGreaterThan(0);
    unwatch();
    expect((await reader.read(10)).map(numberOf)).toEqual([1]);
  });
});

describe('redis stream journal across a Redis crash', () => {
  it('Redis SIGKILLed mid-stream and restarted from its AOF: nothing acknowledged is lost', async () => {
    const own = await startTestRedis({ appendfsync: 'everysec' });
    onTestFinished(() => own.dispose());
    const j = await openRedisJournal({ url: own.url, stream: 'crash', consumer: 'w' });
    onTestFinished(() => j.close());
    const acknowledged = new Set<number>();
    const seen = new Set<number>();
    let producing = true;
    let killedPid = -1;
    const produce = async () => {
      for (let n = 0; acknowledged.size < 3000; n += 20) {
        const batch = Array.from({ length: 20 }, (_, k) => entry(n + k));
        try {
          await j.append(batch);
          for (const e of batch) acknowledged.add(numberOf(e));
        } catch {
          await new Promise((r) => setTimeout(r, 20)); // not acknowledged: the device sends it again
        }
      }
      producing = false;
    };
    const consume = async () => {
      while (producing || (await j.length().catch(() => 1)) > 0) {
        try {
          const got = await j.read(50);
          await j.ack(got.map((e) => e.id));
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
    await Promise.all([produce(), consume(), crash()]);
    expect([...acknowledged].filter((n) => !seen.has(n))).toEqual([]);
    expect(acknowledged.size).toBeGreaterThanOrEqual(3000);
    expect(killedPid).toBeGreaterThan(0);
    expect(own.pid).not.toBe(killedPid);
    expect(await j.length()).toBe(0);
  });
});
