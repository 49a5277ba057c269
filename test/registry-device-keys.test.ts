/**
 * Distinct keys per device in the SQLite registry: devices registered before keys were tracked are
 * marked incomplete. The caps and types, on every store: test/helpers/registry-contract-keys.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { MIGRATIONS } from '../core/registry/sqlite/migrations.js';
import type { RegistryStore } from '../core/registry/types.js';
import { hashSecret } from '../core/secrets.js';

let dir: string;
let file: string;
const opened: RegistryStore[] = [];
const open = () => {
  const s = openSqliteRegistry(file);
  opened.push(s);
  return s;
};

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'device-keys-'));
  file = path.join(dir, 'registry.db');
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sqlite device keys', () => {
  it('marks devices registered before the upgrade incomplete, later ones complete', async () => {
    // A registry as the previous version left it: migration 1 only, one device.
    const raw = new Database(file);
    raw.exec(MIGRATIONS[0]!);
    raw.pragma('user_version = 1');
    raw.exec(`INSERT INTO pilots (id, name, created_at) VALUES ('plt_old', 'p', 0);
      INSERT INTO devices (id, pilot_id, name, secret_hash, created_at, updated_at)
      VALUES ('dev_old', 'plt_old', 'd', 'h', 0, 0);`);
    raw.close();
    const s = open();
    const fresh = (await s.createDevice('plt_old', { name: 'new' }, hashSecret('s'))).id;
    expect((await s.getDeviceKeys('dev_old')).complete).toBe(false);
    expect(await s.getDeviceKeys(fresh)).toEqual({ keys: new Map(), complete: true });
  });
});
