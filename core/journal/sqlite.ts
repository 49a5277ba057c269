/**
 * The embedded telemetry journal: one SQLite file (WAL, synchronous = NORMAL: a commit survives a
 * killed process, not a power cut) shared by the broker and ingest processes of one DATA_DIR.
 * Ids are the AUTOINCREMENT `seq`, visible in order and never reused (docs/DESIGN.md, "The journal").
 */
import { existsSync, renameSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ensurePrivateDir, prepareSqliteFile } from '../private-files.js';
import { createAppendedTail } from './sqlite-tail.js';
import { watchAppends } from './sqlite-watch.js';
import type { JournalEntry, NewJournalEntry, TelemetryJournal } from './types.js';

/** Where the journal lives in a DATA_DIR. */
export const journalFile = (dataDir: string) => path.join(dataDir, 'journal', 'telemetry.db');

/** A `messages` row as `raw` statements return it, in SELECT order. */
type Row = [seq: number, deviceId: string, receivedAt: number, payload: Buffer];

/** Opens the journal of a DATA_DIR, first moving a spool left by an older version to its place. */
export function openDataDirJournal(dataDir: string): TelemetryJournal {
  moveOldSpool(dataDir);
  return openSqliteJournal(journalFile(dataDir));
}

/**
 * Before the journal had its own folder it was DATA_DIR/ingest/spool.db. The -wal and -shm go first
 * and the database last, so a process that finds the new database finds its WAL beside it.
 */
function moveOldSpool(dataDir: string): void {
  const from = path.join(dataDir, 'ingest', 'spool.db');
  const to = journalFile(dataDir);
  if (!existsSync(from) || existsSync(to)) return;
  ensurePrivateDir(path.dirname(to));
  for (const suffix of ['-wal', '-shm', '']) {
    try {
      renameSync(from + suffix, to + suffix);
    } catch (err) {
      // Absent, or moved a moment ago by another process of this DATA_DIR.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  try {
    rmdirSync(path.dirname(from));
  } catch {
    // Not empty, or gone: leave it.
  }
}

/** Entries per INSERT statement. */
const INSERT_ROWS = 64;

export function openSqliteJournal(file: string): TelemetryJournal {
  prepareSqliteFile(file); // raw device payloads: 0600, with its -wal and -shm
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Broker and ingest take turns at the write lock; each holds it for one short transaction.
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS messages (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    payload     BLOB NOT NULL
  )`);
  // The backlog, kept exact by every append and delete: count(*) would scan millions of rows.
  db.exec('CREATE TABLE IF NOT EXISTS size (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)');
  db.exec('INSERT OR IGNORE INTO size (id, n) SELECT 1, count(*) FROM messages');
  // Multi-row INSERTs: one statement per INSERT_ROWS entries instead of one per entry. Their rows
  // take consecutive seqs (AUTOINCREMENT under the write lock), the last one reported.
  const inserts = new Map<number, Database.Statement>();
  const insertRows = (n: number) => {
    let s = inserts.get(n);
    if (!s) {
      s = db.prepare(
        `INSERT INTO messages (device_id, received_at, payload) VALUES ${'(?, ?, ?), '.repeat(n - 1)}(?, ?, ?)`,
      );
      inserts.set(n, s);
    }
    return s;
  };
  const grow = db.prepare('UPDATE size SET n = n + ? WHERE id = 1');
  // Returns the entries' seqs, in order.
  const insertMany = db.transaction((entries: readonly NewJournalEntry[]): number[] => {
    const seqs: number[] = [];
    for (let at = 0; at < entries.length; at += INSERT_ROWS) {
      const n = Math.min(INSERT_ROWS, entries.length - at);
      const params: unknown[] = new Array(n * 3);
      for (let i = 0; i < n; i++) {
        const e = entries[at + i]!;
        params[i * 3] = e.deviceId;
        params[i * 3 + 1] = e.receivedAt;
        params[i * 3 + 2] = e.payload;
      }
      const last = Number(insertRows(n).run(params).lastInsertRowid);
      for (let i = n - 1; i >= 0; i--) seqs.push(last - i);
    }
    grow.run(entries.length);
    return seqs;
  });
  // Rows as arrays (`raw`): no object with named columns per row.
  const select = db
    .prepare<[number, number], Row>(
      'SELECT seq, device_id, received_at, payload FROM messages WHERE seq > ? ORDER BY seq LIMIT ?',
    )
    .raw(true);
  const remove = db.prepare('DELETE FROM messages WHERE seq BETWEEN ? AND ?');
  const removeRanges = db.transaction((ranges: readonly [number, number][]) => {
    let removed = 0;
    for (const [from, to] of ranges) removed += remove.run(from, to).changes;
    grow.run(-removed);
  });
  const size = db.prepare<[], { n: number }>('SELECT n FROM size WHERE id = 1');
  // The lowest seq is the oldest entry still here (acknowledged ones are deleted); a primary-key probe.
  const oldest = db.prepare<[], { t: number }>('SELECT received_at AS t FROM messages ORDER BY seq LIMIT 1');
  // Everything at or below it was handed out; it starts at 0, so a restart re-reads what is left.
  let cursor = 0;
  const appends = watchAppends(file);
  // Kept only once this connection reads (a broker-only process never does).
  const tail = createAppendedTail();
  let reader = false;

  return {
    async append(entries) {
      if (entries.length === 0) return;
      const seqs = insertMany(entries);
      if (reader) tail.push(seqs, entries);
      appends.notify();
    },
    async length() {
      return size.get()?.n ?? 0;
    },
    async oldestReceivedAt() {
      return oldest.get()?.t;
    },
    async read(limit) {
      reader = true;
      const kept = tail.take(cursor, limit);
      if (kept) {
        cursor = Number(kept[kept.length - 1]!.id);
        return kept;
      }
      const rows = select.all(cursor, limit) as unknown as Row[];
      const out: JournalEntry[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const [seq, deviceId, receivedAt, payload] = rows[i] as Row;
        out[i] = { id: String(seq), deviceId, receivedAt, payload };
      }
      if (rows.length > 0) cursor = (rows[rows.length - 1] as Row)[0];
      return out;
    },
    async ack(ids) {
      if (ids.length > 0) removeRanges(seqRanges(ids));
    },
    async reclaim() {
      return []; // one consumer: what it read and did not acknowledge, it reads again after a restart
    },
    watch: (listener) => appends.watch(listener),
    async close() {
      appends.close();
      if (db.open) db.close();
    },
  };
}

/** Ids as runs of consecutive seqs: a batch of ingest is one run, deleted with one statement. */
export function seqRanges(ids: readonly string[]): [number, number][] {
  const seqs = ids.map(Number).sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const seq of seqs) {
    const last = ranges[ranges.length - 1];
    if (last && seq <= last[1] + 1) last[1] = Math.max(last[1], seq);
    else ranges.push([seq, seq]);
  }
  return ranges;
}
