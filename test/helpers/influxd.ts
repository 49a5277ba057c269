/**
 * Real InfluxDB servers for tests, from the machine's `influxd` on free loopback ports in temp dirs,
 * stopped by PID. `sharedInflux()`: the server test/global-setup.ts starts for the run, a fresh
 * database per call. `privateInflux()`: a server of its own, for tests that stop or kill it. Both run
 * with auth off; the managed influxd's auth is tested in test/data-at-rest.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { connectInflux, type InfluxConnection } from '../../core/influx/client.js';
import { type ManagedInfluxd, startManagedInfluxd } from '../../core/influx/managed.js';

export function uniqueDatabase(prefix = 'test'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A new database on the run's shared influxd. */
export async function sharedInflux(database = uniqueDatabase()): Promise<InfluxConnection> {
  const url = inject('influxUrl');
  const conn = connectInflux(url, database);
  await conn.ensureDatabase();
  return conn;
}

export interface PrivateInflux extends ManagedInfluxd {
  dir: string;
  connect(database?: string): Promise<InfluxConnection>;
  /** Stops the server and removes its temp dir. */
  dispose(): Promise<void>;
}

export async function privateInflux(): Promise<PrivateInflux> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'influxd-test-'));
  const server = await startManagedInfluxd({ dir, auth: false });
  return Object.assign(server, {
    dir,
    async connect(database = uniqueDatabase()) {
      const conn = connectInflux(server.url, database);
      await conn.ensureDatabase();
      return conn;
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

declare module 'vitest' {
  export interface ProvidedContext {
    influxUrl: string;
  }
}
