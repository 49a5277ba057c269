/**
 * What every telemetry journal must do (core/journal/types.ts), as tests any implementation runs:
 * `describeJournal('redis', open)` with an `open` that gives a fresh, empty journal each time it is
 * called with a new `name`, and the same journal again for the same `name` (a restart).
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { NewJournalEntry, TelemetryJournal } from '../../core/journal/types.js';

export type OpenJournal = (name: string) => TelemetryJournal | Promise<TelemetryJournal>;

const entry = (n: number, deviceId = 'dev_a'): NewJournalEntry => ({
  deviceId,
  receivedAt: 1_700_000_000_000 + n,
  payload: Buffer.from(JSON.stringify({ n })),
});
const numbers = (entries: { payload: Buffer }[]) =>
  entries.map((e) => (JSON.parse(e.payload.toString()) as { n: number }).n);

export function describeJournal(kind: string, open: OpenJournal): void {
  let counter = 0;
  const fresh = () => `${kind}-${process.pid}-${Date.now()}-${counter++}`;
  const opened = async (name: string) => {
    const journal = await open(name);
    onTestFinished(() => journal.close());
    return journal;
  };

  describe(`telemetry journal: ${kind}`, () => {
    it('gives back what was appended, in order, with its fields, and counts it until acknowledged', async () => {
      const journal = await opened(fresh());
      await journal.append([entry(1), entry(2, 'dev_b')]);
      await journal.append([entry(3)]);
      expect(await journal.length()).toBe(3);
      const read = await journal.read(10);
      expect(numbers(read)).toEqual([1, 2, 3]);
      expect(read[1]).toMatchObject({ deviceId: 'dev_b', receivedAt: 1_700_000_000_002 });
      expect(new Set(read.map((e) => e.id)).size).toBe(3);
      expect(await journal.read(10)).toEqual([]); // each entry handed out once
      await journal.ack([read[0]!.id, read[2]!.id]);
      expect(await journal.length()).toBe(1);
      await journal.ack([read[1]!.id]);
      expect(await journal.length()).toBe(0);
    });

    it('knows when its oldest unacknowledged entry was accepted (the age metric of ingest)', async () => {
      const journal = await opened(fresh());
      expect(await journal.oldestReceivedAt?.()).toBeUndefined();
      await journal.append([entry(5), entry(6), entry(7)]);
      expect(await journal.oldestReceivedAt?.()).toBe(1_700_000_000_005);
      const read = await journal.read(10);
      expect(await journal.oldestReceivedAt?.()).toBe(1_700_000_000_005); // read is not stored
      await journal.ack([read[0]!.id]);
      expect(await journal.oldestReceivedAt?.()).toBe(1_700_000_000_006);
      await journal.ack([read[1]!.id, read[2]!.id]);
      expect(await journal.oldestReceivedAt?.()).toBeUndefined();
    });

    it('reads at most `limit` entries at a time', async () => {
      const journal = await opened(fresh());
      await journal.append(Array.from({ length: 5 }, (_, i) => entry(i)));
      expect(numbers(await journal.read(2))).toEqual([0, 1]);
      expect(numbers(await journal.read(2))).toEqual([2, 3]);
      expect(numbers(await journal.read(2))).toEqual([4]);
    });

    it('after a restart hands out again what was read and not acknowledged, and nothing acknowledged', async () => {
      const name = fresh();
      const first = await open(name);
      await first.append([entry(1), entry(2), entry(3)]);
      const read = await first.read(10);
      await first.ack([read[1]!.id]);
      await first.close();
      const again = await opened(name);
      expect(numbers(await again.read(10))).toEqual([1, 3]);
      expect(await again.length()).toBe(2);
    });

    it('appends nothing for an empty list and acknowledges nothing for no ids', async () => {
      const journal = await opened(fresh());
      await journal.append([]);
      await journal.ack([]);
      expect(await journal.length()).toBe(0);
      expect(await journal.read(10)).toEqual([]);
    });
  });
}
