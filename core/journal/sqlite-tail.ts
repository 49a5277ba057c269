/**
 * The SQLite journal's entries appended through this connection, kept after their commit so that
 * ingest on the same connection (the one-process platform) reads them without a SELECT. Only a run
 * that continues the reader's cursor without a gap is served from here: a gap in the seqs is an
 * append by another connection, and then the reader goes to the table. docs/DESIGN.md, "The journal".
 */
import type { JournalEntry } from './types.js';

/** At most this many entries are kept; past it the oldest are dropped (the table still has them). */
export const TAIL_MAX_ENTRIES = 50_000;

export interface AppendedTail {
  /** Entries just committed, in seq order: `seqs[i]` is the seq of `entries[i]`. */
  push(seqs: readonly number[], entries: readonly Omit<JournalEntry, 'id'>[]): void;
  /**
   * Up to `limit` entries right after `cursor` (seq cursor + 1, cursor + 2, ... without a gap), or
   * undefined when the next entry is not here; entries at or below `cursor` are dropped.
   */
  take(cursor: number, limit: number): JournalEntry[] | undefined;
  size(): number;
}

export function createAppendedTail(maxEntries = TAIL_MAX_ENTRIES): AppendedTail {
  let seqs: number[] = [];
  let entries: JournalEntry[] = [];
  let head = 0; // seqs[head] is the oldest kept

  // After head moved: empty arrays when all is taken, a copy without the taken part once that is
  // most of it (so a long-lived tail does not keep what it handed out).
  const settle = () => {
    if (head === seqs.length) {
      seqs = [];
      entries = [];
      head = 0;
    } else if (head > 4096 && head * 2 > seqs.length) {
      seqs = seqs.slice(head);
      entries = entries.slice(head);
      head = 0;
    }
  };

  return {
    push(newSeqs, newEntries) {
      for (let i = 0; i < newSeqs.length; i++) {
        const e = newEntries[i]!;
        seqs.push(newSeqs[i]!);
        entries.push({
          id: String(newSeqs[i]),
          deviceId: e.deviceId,
          receivedAt: e.receivedAt,
          payload: e.payload,
        });
      }
      if (seqs.length - head > maxEntries) head = seqs.length - maxEntries;
      settle();
    },
    take(cursor, limit) {
      while (head < seqs.length && seqs[head]! <= cursor) head++;
      settle();
      if (head === seqs.length || seqs[head] !== cursor + 1) return undefined;
      let end = head + 1;
      const stop = Math.min(seqs.length, head + limit);
      while (end < stop && seqs[end] === seqs[end - 1]! + 1) end++;
      const out = entries.slice(head, end);
      head = end;
      settle();
      return out;
    },
    size: () => seqs.length - head,
  };
}
