/**
 * The registry stores on real engines: the store contract (test/helpers/registry-contract.ts) on
 * SQLite files and on PostgreSQL databases, SQLite's own schema and pragmas, and the secrets helpers.
 * PostgreSQL's own schema, locks and concurrency: test/registry-postgres.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresRegistry } from '../core/registry/postgres/index.js';
import { openRegistryDb } from '../core/registry/sqlite/db.js';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { MIGRATIONS } from '../core/registry/sqlite/migrations.js';
import { sqlitePresence } from '../core/registry/sqlite/presence.js';
import { hashSecret, loadOrCreateServiceSecret, newId, secretMatches } from '../core/secrets.js';
import { startTestPostgres, type TestPostgres } from './helpers/postgres.js';
import { describeRegistryStore } from './helpers/registry-contract.js';
import { useRegistryFiles } from './helpers/registry-files.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'registry-'));
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.dispose();
  rmSync(root, { recursive: true, force: true });
});

describeRegistryStore('sqlite', async () => {
  const file = path.join(mkdtempSync(path.join(root, 'store-')), 'sub', 'registry.db');
  return async (opts) => openSqliteRegistry(file, opts);
});

describeRegistryStore('postgres', async () => {
  const url = await postgres.freshDatabase('registry');
  return (opts) => openPostgresRegistry({ url, max: 4, ...opts });
});

describe('sqlite schema and pragmas', () => {
  const { t, open, seed } = useRegistryFiles();

  it('applies migrations once, in WAL mode, and reopens without re-applying', async () => {
    const { a, pilot } = await seed();
    const raw = new Database(t.file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const again = open();
    expect((await again.getPilotForPartner(pilot.id, a.id))?.name).toBe('p');
  });

  it('refuses a database from a newer version of the code', async () => {
    await t.store.close();
    const raw = new Database(t.file);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => openSqliteRegistry(t.file)).toThrow(/newer/);
  });
});

describe('sqlite credential change log', () => {
  const { t, open, seed } = useRegistryFiles();

  /**
   * The presence store of `file` on a connection that runs `between` right after it read the rows
   * newer than `since`: as if another process committed a change at that moment.
   */
  function changeLogWithCommitAfterRowsRead(file: string, between: () => void) {
    const db = openRegistryDb(file);
    const hook = (statement: Database.Statement) =>
      new Proxy(statement, {
        get(target, prop) {
          if (prop !== 'all') return Reflect.get(target, prop, target);
          return (...args: unknown[]) => {
            const rows = target.all(...args);
            between();
            return rows;
          };
        },
      });
    const hooked = new Proxy(db, {
      get(target, prop) {
        if (prop === 'prepare')
          return (sql: string) => {
            const statement = target.prepare(sql);
            return /FROM credential_changes WHERE seq >/.test(sql) ? hook(statement) : statement;
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { log: sqlitePresence(hooked), close: () => db.close() };
  }

  it('never skips a change committed by another process while a poll reads', async () => {
    const { device } = await seed();
    const api = open(); // the API process, which rotates the secret
    const head = (await t.store.credentialChangesSince(-1)).lastChange;
    let committed = false;
    const broker = changeLogWithCommitAfterRowsRead(t.file, () => {
      if (committed) return;
      committed = true;
      // The SQLite store is synchronous inside: the change is committed when the call returns.
      void api.rotateDeviceSecret(device.id, hashSecret('rotated'));
    });
    try {
      const first = await broker.log.credentialChangesSince(head);
      expect(committed).toBe(true);
      expect(first).toEqual({ lastChange: head, deviceIds: [] });
      // The next poll, from where the first left off, sees the rotation.
      const next = await broker.log.credentialChangesSince(first.lastChange);
      expect(next.deviceIds).toEqual([device.id]);
      expect(next.lastChange).toBeGreaterThan(head);
    } finally {
      broker.close();
    }
  });
});

describe('secrets', () => {
  it('makes prefixed base32 ids and checks hashes in constant time', async () => {
    expect(newId('dev')).toMatch(/^dev_[a-z2-7]{20}$/);
    expect(secretMatches('a', hashSecret('a'))).toBe(true);
    expect(secretMatches('b', hashSecret('a'))).toBe(false);
    expect(secretMatches('a', 'not-a-hash')).toBe(false);
  });

  it('creates the service secret once, mode 0600, and prefers a configured one', async () => {
    const { statSync } = await import('node:fs');
    const dir = mkdtempSync(path.join(root, 'secret-'));
    const first = loadOrCreateServiceSecret(dir);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(loadOrCreateServiceSecret(dir)).toBe(first);
    expect(statSync(path.join(dir, 'service-secret')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateServiceSecret(dir, 'configured')).toBe('configured');
  });
});
