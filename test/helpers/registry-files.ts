/** A fresh SQLite registry file per test, and a partner, pilot and device in it. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openSqliteRegistry } from '../../core/registry/sqlite/index.js';
import type { RegistryStore } from '../../core/registry/types.js';
import { hashSecret, newId } from '../../core/secrets.js';

/** Registers beforeEach/afterEach in the calling file; `t.store` is this test's store on `t.file`. */
export function useRegistryFiles() {
  const t = { dir: '', file: '', store: undefined as unknown as RegistryStore };
  const opened: RegistryStore[] = [];
  /** Another connection to this test's file (as another process would open it). */
  const open = (opts?: { deviceErrorsKept?: number }) => {
    const s = openSqliteRegistry(t.file, opts);
    opened.push(s);
    return s;
  };
  beforeEach(async () => {
    t.dir = mkdtempSync(path.join(os.tmpdir(), 'registry-'));
    t.file = path.join(t.dir, 'sub', 'registry.db');
    t.store = open();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    rmSync(t.dir, { recursive: true, force: true });
  });
  async function seed(s: RegistryStore = t.store) {
    const partner = (name: string, country: string, kind: 'hardware' | 'software') =>
      s.createPartner({ name: `${name} ${newId('x')}`, country, kind }, hashSecret(newId('k')));
    const a = await partner('A', 'DE', 'hardware');
    const b = await partner('B', 'FR', 'software');
    const pilot = await s.createPilot({ name: 'p', memberIds: [a.id] });
    const metadata = { rack: 1 };
    const device = await s.createDevice(
      pilot.id,
      { name: 'd1', model: 'm', metadata },
      hashSecret('secret-1'),
    );
    return { a, b, pilot, device };
  }
  return { t, open, seed };
}
