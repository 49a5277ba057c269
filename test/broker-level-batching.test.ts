/** The broker's LevelDB group commit (broker/level-batching.ts) against a real LevelDB. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { batchingLevel } from '../broker/level-batching.js';

const open: { db: Level<string, Buffer>; dir: string }[] = [];
async function fresh() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'level-batching-'));
  const db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
  await db.open();
  open.push({ db, dir });
  return db;
}
afterEach(async () => {
  for (const { db, dir } of open.splice(0)) {
    if (db.status === 'open') await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
const b = (s: string) => Buffer.from(s);

describe('batching LevelDB', () => {
  it('resolves a write only once it is in the database', async () => {
    const db = await fresh();
    const level = batchingLevel(db);
    await level.put('a', b('1'));
    expect(String(await db.get('a'))).toBe('1');
    await level.del('a');
    expect(await db.get('a')).toBeUndefined();
  });

  it('gathers the writes issued while a batch is written into one next batch, in order', async () => {
    const db = await fresh();
    const batches: number[] = [];
    const realBatch = db.batch.bind(db);
    // Observe (not replace) the real batch calls.
    (db as unknown as { batch: (ops: unknown[]) => Promise<void> }).batch = (ops: unknown[]) => {
      batches.push(ops.length);
      return realBatch(ops as never);
    };
    const level = batchingLevel(db);
    const writes = [];
    for (let i = 0; i < 500; i++) writes.push(level.put(`k${i % 50}`, b(String(i))));
    writes.push(level.del('k0'));
    await Promise.all(writes);
    expect(batches.reduce((n, x) => n + x, 0)).toBe(501);
    expect(batches.length).toBeLessThanOrEqual(3);
    // Last write per key wins, as if applied one by one.
    expect(await db.get('k0')).toBeUndefined();
    expect(String(await db.get('k49'))).toBe('499');
  });

  it('lets a read see every write issued before it, written or not', async () => {
    const db = await fresh();
    const level = batchingLevel(db);
    const p1 = level.put('x', b('old'));
    const p2 = level.put('x', b('new'));
    expect(String(await level.get('x'))).toBe('new');
    const p3 = level.batch().del('x').put('y', b('why')).write();
    expect(await level.get('x')).toBeUndefined();
    expect(String(await level.get('y'))).toBe('why');
    await Promise.all([p1, p2, p3]);
    expect(await level.get('x')).toBeUndefined();
    const values: string[] = [];
    void level.put('z', b('zed'));
    for await (const v of level.values({ gte: 'a', lt: 'zz' })) values.push(String(v));
    expect(values).toEqual(['why', 'zed']);
  });

  it('ends a read quietly when the broker closes the database under it', async () => {
    // aedes reads (retained messages on SUBSCRIBE, a session's queue on CONNECT) may be mid-way when
    // the broker closes; the iterator's "not open" error would escape aedes as an uncaught exception.
    const db = await fresh();
    const level = batchingLevel(db);
    await level.indexed;
    for (let i = 0; i < 2000; i++) await db.put(`retained:t/${String(i).padStart(4, '0')}`, b(String(i)));
    for (const range of [
      { gte: 'retained:', lt: 'retained;' }, // a range of no single group
      { gte: 'outgoing:c1:', lt: 'outgoing:c1;' }, // a group's range (none stored: answered empty)
    ]) {
      const seen: string[] = [];
      const reading = (async () => {
        for await (const v of level.values(range)) {
          seen.push(String(v));
          if (seen.length === 1) await level.close();
        }
      })();
      await expect(reading).resolves.toBeUndefined();
      expect(seen.length).toBeLessThan(2000);
      if (range.gte === 'retained:') expect(seen.length).toBeGreaterThan(0);
      // A read that starts after the close ends at once too.
      const late: string[] = [];
      for await (const v of level.values(range)) late.push(String(v));
      expect(late).toEqual([]);
    }
  });

  it('rejects the writes of a failed batch', async () => {
    const db = await fresh();
    const level = batchingLevel(db);
    await db.close();
    await expect(level.put('a', b('1'))).rejects.toThrow();
  });
});

describe('batching LevelDB, reads of recent writes', () => {
  it('serves them from memory, bounded, and reads older keys from the database', async () => {
    const db = await fresh();
    const level = batchingLevel(db, { recentKeys: 1 });
    await level.put('a', b('1'));
    await level.put('b', b('2')); // evicts a from memory
    // Written behind the wrapper's back (never done in the broker) to tell where an answer comes from.
    await db.put('a', b('disk a'));
    await db.put('b', b('disk b'));
    expect(String(await level.get('a'))).toBe('disk a');
    expect(String(await level.get('b'))).toBe('2');
    await level.del('b');
    expect(await level.get('b')).toBeUndefined();
    await level.put('c', b('3'));
    await level.clear({ gte: 'a', lt: 'z' });
    expect(await level.get('c')).toBeUndefined();
  });
});
