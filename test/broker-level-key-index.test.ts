/**
 * The key index of the broker's LevelDB (broker/level-key-index.ts, used by level-batching.ts):
 * aedes-persistence-level's own session reads and writes through it, across a reopen, against a real LevelDB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { type BatchingLevel, batchingLevel } from '../broker/level-batching.js';
import { keyGroup, rangeGroup } from '../broker/level-key-index.js';

// aedes-persistence-level's promise API (its default export wraps it in callbacks).
const AsyncPersistence = createRequire(import.meta.url)('aedes-persistence-level/asyncPersistence.js');
type Client = { id: string };
type Packet = Record<string, unknown>;
interface Persistence {
  setup(broker: unknown): Promise<void>;
  addSubscriptions(client: Client, subs: { topic: string; qos: number }[]): Promise<void>;
  removeSubscriptions(client: Client, topics: string[]): Promise<void>;
  subscriptionsByClient(client: Client): Promise<{ topic: string; qos: number }[]>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: Packet): Promise<void>;
  outgoingUpdate(client: Client, packet: Packet): Promise<void>;
  outgoingClearMessageId(client: Client, packet: Packet): Promise<Packet | undefined>;
  outgoingStream(client: Client): AsyncIterable<Packet>;
  putWill(client: Client, packet: Packet): Promise<void>;
  delWill(client: Client): Promise<Packet | undefined>;
}

const dirs: string[] = [];
const levels: BatchingLevel[] = [];
afterEach(async () => {
  for (const level of levels.splice(0)) await level.close().catch(() => {});
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Opens `dir` the way broker/persistence.ts does; counts the LevelDB reads that reach the database. */
async function open(dir: string) {
  const db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
  await db.open();
  const reads = { get: 0, values: 0 };
  const realGet = db.get.bind(db);
  const realValues = db.values.bind(db);
  Object.assign(db, {
    get: (...args: Parameters<typeof realGet>) => {
      reads.get++;
      return realGet(...args);
    },
    values: (...args: Parameters<typeof realValues>) => {
      reads.values++;
      return realValues(...args);
    },
  });
  const level = batchingLevel(db, { recentKeys: 0 });
  levels.push(level);
  await level.indexed;
  const persistence: Persistence = new AsyncPersistence(level);
  await persistence.setup({ id: 'broker-1' });
  return { level, persistence, reads };
}

async function all<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of stream) out.push(x);
  return out;
}

const publish = (counter: number, messageId?: number): Packet => ({
  cmd: 'publish',
  topic: 'devices/d1/commands',
  payload: Buffer.from(`cmd ${counter}`),
  qos: 1,
  retain: false,
  dup: false,
  brokerId: 'broker-1',
  brokerCounter: counter,
  ...(messageId === undefined ? {} : { messageId }),
});

function tempDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'level-key-index-'));
  dirs.push(dir);
  return dir;
}

describe('key groups', () => {
  it('groups a session key by kind and client, and a will or retained message by itself', () => {
    expect(keyGroup('subscriptions:d1:devices/d1/#')).toBe('subscriptions:d1:');
    expect(keyGroup('outgoing:d1:broker-1:0000000000000007')).toBe('outgoing:d1:');
    expect(keyGroup('will:d1')).toBe('will:d1');
    expect(rangeGroup({ gte: 'outgoing:d1:', lt: 'outgoing:d1;', valueEncoding: 'buffer' })).toBe(
      'outgoing:d1:',
    );
    // Not one group's range: these always go to LevelDB.
    expect(rangeGroup({ gte: 'subscriptions:', lt: 'subscriptions;' })).toBeUndefined();
    expect(rangeGroup({ gte: 'outgoing:d1:', lt: 'outgoing:d2;' })).toBeUndefined();
    expect(rangeGroup({ gte: 'outgoing:d1:', lte: 'outgoing:d1;' })).toBeUndefined();
  });
});

describe('key index under aedes-persistence-level', () => {
  it('keeps a session’s subscriptions, queued QoS 1 messages and will across a reopen; an empty session reads nothing', async () => {
    const dir = tempDir();
    const d1 = { id: 'd1' };
    const first = await open(dir);
    await first.persistence.addSubscriptions(d1, [{ topic: 'devices/d1/commands', qos: 1 }]);
    await first.persistence.outgoingEnqueueCombi([{ clientId: 'd1' }], publish(1));
    await first.persistence.outgoingEnqueueCombi([{ clientId: 'd1' }], publish(2));
    // In flight (a message id assigned) when the broker stopped: aedes' own batch path on delivery.
    await first.persistence.outgoingUpdate(d1, publish(1, 42));
    await first.persistence.putWill(d1, { topic: 'devices/d1/state', payload: Buffer.from('gone') });
    await first.level.close();

    const second = await open(dir);
    expect(await second.persistence.subscriptionsByClient(d1)).toEqual([
      { topic: 'devices/d1/commands', qos: 1 },
    ]);
    const queued = await all(second.persistence.outgoingStream(d1));
    expect(queued.map((p) => String(p.payload))).toEqual(['cmd 1', 'cmd 2']);
    expect(await second.persistence.outgoingClearMessageId(d1, { messageId: 42 })).toMatchObject({
      brokerCounter: 1,
    });
    expect(String((await second.persistence.delWill(d1))?.payload)).toBe('gone');

    // A device that never stored anything: answered from memory.
    const before = { ...second.reads };
    const d2 = { id: 'd2' };
    expect(await second.persistence.subscriptionsByClient(d2)).toEqual([]);
    expect(await all(second.persistence.outgoingStream(d2))).toEqual([]);
    expect(await second.persistence.delWill(d2)).toBeUndefined();
    expect(second.reads).toEqual(before);
  });

  it('stays exact through writes, removals and re-adds, including writes during a read', async () => {
    const dir = tempDir();
    const d1 = { id: 'd1' };
    const { persistence, reads } = await open(dir);
    await persistence.addSubscriptions(d1, [{ topic: 'a', qos: 1 }]);
    await persistence.removeSubscriptions(d1, ['a']);
    // The first read after the removal finds nothing in LevelDB and lets the group go ...
    expect(await persistence.subscriptionsByClient(d1)).toEqual([]);
    const valuesBefore = reads.values;
    expect(await persistence.subscriptionsByClient(d1)).toEqual([]);
    expect(reads.values).toBe(valuesBefore);
    // ... and a subscription added later is seen again, also one added while a read is under way.
    const reading = persistence.subscriptionsByClient(d1);
    const adding = persistence.addSubscriptions(d1, [{ topic: 'b', qos: 1 }]);
    await Promise.all([reading, adding]);
    expect(await persistence.subscriptionsByClient(d1)).toEqual([{ topic: 'b', qos: 1 }]);
    // Queued, delivered, acknowledged, queued again.
    await persistence.outgoingEnqueueCombi([{ clientId: 'd1' }], publish(1));
    await persistence.outgoingUpdate(d1, publish(1, 7));
    await persistence.outgoingClearMessageId(d1, { messageId: 7 });
    expect(await all(persistence.outgoingStream(d1))).toEqual([]);
    await persistence.outgoingEnqueueCombi([{ clientId: 'd1' }], publish(2));
    expect((await all(persistence.outgoingStream(d1))).map((p) => String(p.payload))).toEqual(['cmd 2']);
    await persistence.putWill(d1, { topic: 't', payload: Buffer.from('w') });
    expect(await persistence.delWill(d1)).toBeDefined();
    expect(await persistence.delWill(d1)).toBeUndefined();
    await persistence.putWill(d1, { topic: 't', payload: Buffer.from('w2') });
    expect(String((await persistence.delWill(d1))?.payload)).toBe('w2');
  });
});
