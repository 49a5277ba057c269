/**
 * A real PostgreSQL 15 for tests: Debian's server binaries, a cluster in a temp dir on a free loopback
 * port (as root: run as the `postgres` user), stopped by PID and its dir removed by `dispose()`.
 * One server per test file; `freshDatabase()` gives each test a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ManagedPostgres, startManagedPostgres } from '../../core/postgres/managed.js';

export interface TestPostgres extends ManagedPostgres {
  dir: string;
  /** A new, empty database; returns its URL. */
  freshDatabase(prefix?: string): Promise<string>;
  /** Stops the server and removes the temp dir. */
  dispose(): Promise<void>;
}

export async function startTestPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'postgres-test-'));
  chmodSync(dir, 0o700);
  // Not durable (default): no fsync, for suites that create a database per test; a clean stop still
  // keeps everything. Tests that kill the server ask for `durable: true`, as production runs.
  const settings: Record<string, string> = options.durable
    ? {}
    : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
  const server = await startManagedPostgres({ dir, settings });
  return Object.assign(server, {
    dir,
    freshDatabase: (prefix = 'test') => server.createDatabase(`${prefix}_${randomBytes(5).toString('hex')}`),
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
