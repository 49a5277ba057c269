/**
 * The registry in PostgreSQL (cluster mode, DATABASE_URL): the same facets as the SQLite store, one
 * file per aggregate, over one `pg` pool per process. Opening applies pending migrations once
 * (migrations.ts). Broker nodes learn of revocations by polling the credential change log.
 */
import type { RegistryStore } from '../types.js';
import { pgCommands, pgTwins } from './commands.js';
import { createPool, type PoolOptions } from './db.js';
import { pgDeviceErrors } from './device-errors.js';
import { pgDevices } from './devices.js';
import { pgKeyTypes } from './key-types.js';
import { migrate } from './migrations.js';
import { pgPartners } from './partners.js';
import { pgPilots } from './pilots.js';
import { pgPresence } from './presence.js';

export interface PostgresRegistryOptions extends PoolOptions {
  /** Device errors kept per device; older ones are deleted as new ones arrive. Default 200. */
  deviceErrorsKept?: number;
}

export async function openPostgresRegistry(options: PostgresRegistryOptions): Promise<RegistryStore> {
  const pool = createPool(options);
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    ...pgPartners(pool),
    ...pgPilots(pool),
    ...pgDevices(pool),
    ...pgDeviceErrors(pool, options.deviceErrorsKept ?? 200),
    ...pgKeyTypes(pool),
    ...pgPresence(pool),
    ...pgCommands(pool),
    ...pgTwins(pool),
    async ping() {
      await pool.query('SELECT 1');
    },
    close() {
      closing ??= pool.end();
      return closing;
    },
  };
}
