/**
 * The durable telemetry spool: `${DATA_DIR}/ingest/spool.db`, one SQLite file shared by the broker
 * (writer: every accepted telemetry message is committed here before the device gets its PUBACK) and
 * ingest (reader and deleter: it drains the rows into InfluxDB and deletes them only after they are
 * stored or refused for good). They may be different processes on the same DATA_DIR, like the
 * registry; SQLite serialises the writers (busy_timeout), WAL lets ingest read while the broker writes.
 *
 * A crash at any moment therefore leaves each acknowledged message either in the spool (drained at the
 * next start) or already stored; draining it again re-writes points with their own timestamps, which
 * InfluxDB merges (same measurement, tag set and time), so nothing is stored twice.
 *
 * Durability: WAL with `synchronous = NORMAL`. A commit is appended to the WAL file (the OS page cache)
 * before it returns, so it survives the process being killed (SIGKILL, OOM, crash); only an OS crash or
 * power cut can lose the last commits, because the WAL is fsynced at checkpoints rather than at every
 * commit. The broker commits many messages per transaction (broker/spool-appender.ts), so FULL would be
 * affordable, but it would still make every group commit wait for a disk flush: devices that need
 * power-cut safety on the platform host should run it on a UPS.
 *
 * Ordering: `seq` is AUTOINCREMENT and SQLite has one writer at a time, so rows become visible in seq
 * order; a reader that has seen seq N will never later find a new row below N. Ingest's drain cursor
 * ("everything <= seq was handed out") relies on this, and on seqs never being reused after the newest
 * rows were deleted (what AUTOINCREMENT adds over a plain rowid).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { prepareSqliteFile } from './private-files.js';

export interface SpooledMessage {
  seq: number;
  deviceId: string;
  receivedAt: number;
  payload: Buffer;
}

export type SpoolEntry = Omit<SpooledMessage, 'seq'>;

export interface TelemetrySpool {
  /** Commits one message. Synchronous: when it returns, the message is durable. */
  append(deviceId: string, receivedAt: number, payload: Buffer): void;
  /** Commits these messages in one transaction (all or none). */
  appendMany(entries: readonly SpoolEntry[]): void;
  /** Up to `limit` messages with seq > `afterSeq`, oldest first. */
  readAfter(afterSeq: number, limit: number): SpooledMessage[];
  /** Deletes the messages with seq in [fromSeq, toSeq]. */
  deleteRange(fromSeq: number, toSeq: number): void;
  /**
   * Messages spooled, by all writers. Kept in a one-row table that every append and delete updates
   * in its own transaction, so it is exact and costs one lookup (count(*) scans the whole table,
   * slow at a backlog of millions; max(seq) - min(seq) overcounts badly when ingest's batches finish
   * out of order, e.g. the oldest one still in backoff after an InfluxDB outage).
   */
  count(): number;
  close(): void;
}

/** Where the spool lives in a DATA_DIR. */
export const spoolFile = (dataDir: string) => path.join(dataDir, 'ingest', 'spool.db');

/** A `messages` row as `raw` statements return it, in SELECT order. */
type Row = [seq: number, deviceId: string, receivedAt: number, payload: Buffer];

export function openTelemetrySpool(file: string): TelemetrySpool {
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
  db.exec('CREATE TABLE IF NOT EXISTS size (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)');
  // Once per spool (a spool written before this table existed is counted here, once); a second
  // opener's insert is ignored.
  db.exec('INSERT OR IGNORE INTO size (id, n) SELECT 1, count(*) FROM messages');
  const insert = db.prepare('INSERT INTO messages (device_id, received_at, payload) VALUES (?, ?, ?)');
  const grow = db.prepare('UPDATE size SET n = n + ? WHERE id = 1');
  const insertMany = db.transaction((entries: readonly SpoolEntry[]) => {
    for (const e of entries) insert.run(e.deviceId, e.receivedAt, e.payload);
    grow.run(entries.length);
  });
  // Rows as arrays (`raw`): no object with named columns per row, which readAfter only copied.
  const select = db
    .prepare<[number, number], Row>(
      'SELECT seq, device_id, received_at, payload FROM messages WHERE seq > ? ORDER BY seq LIMIT ?',
    )
    .raw(true);
  const remove = db.prepare('DELETE FROM messages WHERE seq BETWEEN ? AND ?');
  const removeRange = db.transaction((fromSeq: number, toSeq: number) => {
    grow.run(-remove.run(fromSeq, toSeq).changes);
  });
  const size = db.prepare<[], { n: number }>('SELECT n FROM size WHERE id = 1');

  return {
    append(deviceId, receivedAt, payload) {
      insertMany([{ deviceId, receivedAt, payload }]);
    },
    appendMany(entries) {
      if (entries.length > 0) insertMany(entries);
    },
    readAfter(afterSeq, limit) {
      const rows = select.all(afterSeq, limit) as unknown as Row[];
      const out: SpooledMessage[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const [seq, deviceId, receivedAt, payload] = rows[i] as Row;
        out[i] = { seq, deviceId, receivedAt, payload };
      }
      return out;
    },
    deleteRange(fromSeq, toSeq) {
      removeRange(fromSeq, toSeq);
    },
    count: () => size.get()?.n ?? 0,
    close() {
      if (db.open) db.close();
    },
  };
}
