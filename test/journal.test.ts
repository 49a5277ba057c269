/**
 * The SQLite telemetry journal: the shared journal contract, its file in DATA_DIR, and the move of a
 * spool left by an older version (DATA_DIR/ingest/spool.db) so an upgraded platform drains it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { journalFile, openDataDirJournal, openSqliteJournal, seqRanges } from '../core/journal/sqlite.js';
import { describeJournal } from './helpers/journal-contract.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeJournal('sqlite', (name) => openSqliteJournal(path.join(root, name, 'telemetry.db')));

describe('the SQLite journal in DATA_DIR', () => {
  it('lives in DATA_DIR/journal, 0700 and 0600', async () => {
    const dataDir = path.join(root, 'fresh');
    const journal = openDataDirJournal(dataDir);
    await journal.append([{ deviceId: 'dev_a', receivedAt: 1, payload: Buffer.from('{}') }]);
    await journal.close();
    expect(journalFile(dataDir)).toBe(path.join(dataDir, 'journal', 'telemetry.db'));
    expect(statSync(path.join(dataDir, 'journal')).mode & 0o777).toBe(0o700);
    expect(statSync(journalFile(dataDir)).mode & 0o777).toBe(0o600);
  });

  it('moves an older version’s spool (with its WAL) to its place and drains what it held', async () => {
    const dataDir = path.join(root, 'upgraded');
    mkdirSync(path.join(dataDir, 'ingest'), { recursive: true });
    const old = path.join(dataDir, 'ingest', 'spool.db');
    const db = new Database(old);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec(`CREATE TABLE messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL,
             received_at INTEGER NOT NULL, payload BLOB NOT NULL)`);
    const insert = db.prepare('INSERT INTO messages (device_id, received_at, payload) VALUES (?, ?, ?)');
    for (let n = 0; n < 3; n++) insert.run('dev_old', 1000 + n, Buffer.from(`{"n":${n}}`));
    // As a killed process leaves them: the rows still in the WAL (a clean close would fold it in).
    for (const f of [old, `${old}-wal`]) copyFileSync(f, `${f}.copy`);
    db.close();
    for (const f of [old, `${old}-wal`]) renameSync(`${f}.copy`, f);
    expect(statSync(`${old}-wal`).size).toBeGreaterThan(0);

    const journal = openDataDirJournal(dataDir);
    try {
      expect(existsSync(old)).toBe(false);
      expect(existsSync(path.join(dataDir, 'ingest'))).toBe(false);
      expect(await journal.length()).toBe(3);
      const read = await journal.read(10);
      expect(read.map((e) => [e.deviceId, e.receivedAt, e.payload.toString()])).toEqual([
        ['dev_old', 1000, '{"n":0}'],
        ['dev_old', 1001, '{"n":1}'],
        ['dev_old', 1002, '{"n":2}'],
      ]);
    } finally {
      await journal.close();
    }
  });

  it('acknowledges a batch of consecutive ids with one range', () => {
    expect(seqRanges(['5', '3', '4', '9', '10', '12'])).toEqual([
      [3, 5],
      [9, 10],
      [12, 12],
    ]);
  });
});

describe('the SQLite journal wakes its consumer', () => {
  const once = (journal: ReturnType<typeof openSqliteJournal>) =>
    new Promise<void>((resolve) => {
      const unwatch = journal.watch?.(() => {
        unwatch?.();
        resolve();
      });
    });

  it('when a journal of this process appends', async () => {
    const file = path.join(root, 'watch-local', 'telemetry.db');
    const appender = openSqliteJournal(file);
    const consumer = openSqliteJournal(file);
    try {
      const woken = once(consumer);
      await appender.append([{ deviceId: 'dev_a', receivedAt: 1, payload: Buffer.from('{"a":1}') }]);
      await woken;
      expect((await consumer.read(10)).map((e) => e.deviceId)).toEqual(['dev_a']);
    } finally {
      await appender.close();
      await consumer.close();
    }
  });

  it('when another process appends (inotify on the WAL)', async () => {
    const file = path.join(root, 'watch-remote', 'telemetry.db');
    const consumer = openSqliteJournal(file);
    try {
      const woken = once(consumer);
      const script = `
        import { openSqliteJournal } from ${JSON.stringify(path.resolve('core/journal/sqlite.ts'))};
        const j = openSqliteJournal(${JSON.stringify(file)});
        await j.append([{ deviceId: 'dev_b', receivedAt: 2, payload: Buffer.from('{"b":2}') }]);
        await j.close();`;
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
      await woken;
      expect((await consumer.read(10)).map((e) => e.deviceId)).toEqual(['dev_b']);
    } finally {
      await consumer.close();
    }
  });
});
