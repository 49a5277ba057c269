/**
 * Opening the registry's SQLite file (shared by broker, ingest and API processes: WAL, busy_timeout,
 * IMMEDIATE read-then-write transactions) and the helpers every aggregate file uses.
 */
import Database from 'better-sqlite3';
import { prepareSqliteFile } from '../../private-files.js';
import { encodeCursor } from '../errors.js';
import type { Page } from '../types.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/** Opens (creating if needed) the file and applies pending migrations. */
export function openRegistryDb(file: string): Db {
  // 0600, with its -wal and -shm (core/private-files.ts): the registry holds key and secret digests.
  if (file !== ':memory:') prepareSqliteFile(file);
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  // A commit survives a process crash; a power cut may lose the last ones (registry writes are rare).
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  db.transaction(() => {
    const applied = db.pragma('user_version', { simple: true }) as number;
    if (applied > MIGRATIONS.length) {
      throw new Error(
        `registry schema version ${applied} is newer than this code knows (${MIGRATIONS.length}); upgrade the platform`,
      );
    }
    for (let v = applied; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

/** Keyset page: the query fetched one row more than asked, to learn whether another page exists. */
export function page<R extends { seq: number }, T>(
  list: string,
  rows: R[],
  limit: number,
  map: (r: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: more && last ? encodeCursor(list, last.seq) : null };
}
