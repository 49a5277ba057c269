/**
 * The registry in SQLite (better-sqlite3, synchronous inside, resolved promises outside): one file
 * per aggregate here, composed into a `RegistryStore`. Broker, ingest and API may share the file.
 */
import path from 'node:path';
import type { RegistryStore } from '../types.js';
import { sqliteCommands, sqliteTwins } from './commands.js';
import { openRegistryDb } from './db.js';
import { sqliteDeviceErrors } from './device-errors.js';
import { sqliteDevices } from './devices.js';
import { sqliteKeyTypes } from './key-types.js';
import { sqlitePartners } from './partners.js';
import { sqlitePilots } from './pilots.js';
import { sqlitePresence } from './presence.js';

export interface SqliteRegistryOptions {
  /** Device errors kept per device; older ones are deleted as new ones arrive. Default 200. */
  deviceErrorsKept?: number;
}

/** The registry in DATA_DIR, as every component opens it (DEVICE_ERRORS_KEPT errors per device). */
export function openDataDirRegistry(dataDir: string, deviceErrorsKept: number): RegistryStore {
  return openSqliteRegistry(path.join(dataDir, 'registry.db'), { deviceErrorsKept });
}

/** Opens (creating if needed) the registry at `file` and applies pending migrations. */
export function openSqliteRegistry(file: string, opts: SqliteRegistryOptions = {}): RegistryStore {
  const db = openRegistryDb(file);
  const ping = db.prepare('SELECT 1');
  return {
    ...sqlitePartners(db),
    ...sqlitePilots(db),
    ...sqliteDevices(db),
    ...sqliteDeviceErrors(db, opts.deviceErrorsKept ?? 200),
    ...sqliteKeyTypes(db),
    ...sqlitePresence(db),
    ...sqliteCommands(db),
    ...sqliteTwins(db),
    async ping() {
      ping.get();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
