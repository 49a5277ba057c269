/**
 * The SQLite journal's appended tail (core/journal/sqlite-tail.ts): a connection that both appends
 * and reads serves its own fresh appends from memory, and still reads every entry exactly once, in
 * seq order, when another connection appends between its appends (a gap goes to the table).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteJournal } from '../core/journal/sqlite.js';
import { createAppendedTail } from '../core/journal/sqlite-tail.js';
import type { JournalEntry, NewJournalEntry } from '../core/journal/types.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'journal-tail-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const entry = (deviceId: string, n: number): NewJournalEntry => ({
  deviceId,
  receivedAt: 1_000 + n,
  payload: Buffer.from(`{"n":${n}}`),
});
const plain = (es: JournalEntry[]) => es.map((e) => [e.id, e.deviceId, e.receivedAt, e.payload.toString()]);

describe('the appended tail', () => {
  it('serves the run right after the cursor and stops at a gap', () => {
    const tail = createAppendedTail();
    tail.push([5, 6, 8], [entry('d', 5), entry('d', 6), entry('d', 8)]);
    expect(tail.take(3, 10)).toBeUndefined(); // seq 4 is not here
    expect(tail.take(4, 10)?.map((e) => e.id)).toEqual(['5', '6']);
    expect(tail.take(6, 10)).toBeUndefined(); // 7 was appended elsewhere
    expect(tail.take(7, 10)?.map((e) => e.id)).toEqual(['8']);
    expect(tail.size()).toBe(0);
  });

  it('drops what the cursor passed and keeps at most its bound', () => {
    const tail = createAppendedTail(3);
    const seqs = [1, 2, 3, 4, 5];
    tail.push(
      seqs,
      seqs.map((n) => entry('d', n)),
    );
    expect(tail.size()).toBe(3);
    expect(tail.take(0, 10)).toBeUndefined(); // 1 and 2 were dropped: the table has them
    expect(tail.take(3, 1)?.map((e) => e.id)).toEqual(['4']);
    expect(tail.take(4, 10)?.map((e) => e.id)).toEqual(['5']);
  });
});

describe('a journal connection that appends and reads', () => {
  it('reads everything once, in order, with another connection appending in between', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            by: fc.constantFrom('reader', 'other'),
            count: fc.integer({ min: 0, max: 150 }),
            readLimit: fc.integer({ min: 1, max: 200 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (steps) => {
          const file = path.join(root, `prop-${round++}`, 'telemetry.db');
          const reader = openSqliteJournal(file);
          const other = openSqliteJournal(file);
          try {
            const got: JournalEntry[] = [];
            got.push(...(await reader.read(10))); // from here on the reader keeps its appends
            let n = 0;
            for (const s of steps) {
              const batch = Array.from({ length: s.count }, () => entry(s.by, n++));
              await (s.by === 'reader' ? reader : other).append(batch);
              got.push(...(await reader.read(s.readLimit)));
            }
            for (let more = await reader.read(50); more.length > 0; more = await reader.read(50))
              got.push(...more);
            // What the table holds, read by a fresh connection: the same entries, once each, in seq order.
            const fresh = openSqliteJournal(file);
            const table = await fresh.read(100_000);
            await fresh.close();
            expect(plain(got)).toEqual(plain(table));
            expect(table).toHaveLength(n);
          } finally {
            await reader.close();
            await other.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('gives seqs in append order across multi-row statements', async () => {
    const file = path.join(root, 'multi', 'telemetry.db');
    const journal = openSqliteJournal(file);
    await journal.read(1);
    const batch = Array.from({ length: 200 }, (_, n) => entry('dev_a', n));
    await journal.append(batch);
    const fromMemory = await journal.read(1_000);
    await journal.close();
    const fresh = openSqliteJournal(file);
    const fromTable = await fresh.read(1_000);
    await fresh.close();
    expect(plain(fromMemory)).toEqual(plain(fromTable));
    expect(fromTable.map((e) => e.receivedAt)).toEqual(batch.map((e) => e.receivedAt));
    expect(fromTable.map((e) => Number(e.id))).toEqual(batch.map((_, i) => i + 1));
  });
});
