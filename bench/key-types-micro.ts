/**
 * `node --import tsx bench/key-types-micro.ts`: the registry's key-type read that the windows, pilot
 * series and HTTP ingest routes make per request, for a pilot with 2 keys and one at the default cap
 * of 10,000 (TELEMETRY_MAX_KEYS_PER_PILOT): the whole list against the named keys only. SQLite, one
 * process, wall time per call (the calls are synchronous underneath).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import type { ValueType } from '../core/registry/types.js';
import { hashSecret } from '../core/secrets.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-key-types-'));
const registry = openSqliteRegistry(path.join(dir, 'registry.db'));
try {
  const partner = await registry.createPartner(
    { name: 'bench', country: 'DE', kind: 'both' },
    hashSecret('k'),
  );
  const pilot = await registry.createPilot({ name: 'bench', memberIds: [partner.id] });
  const msPerCall = async (calls: number, read: () => Promise<unknown>) => {
    for (let i = 0; i < 50; i++) await read();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await read();
    return ((performance.now() - t0) / calls).toFixed(4);
  };
  for (const size of [2, 10_000]) {
    const keys = new Map<string, ValueType>();
    for (let i = 0; i < size; i++) keys.set(`k${i}`, 'number');
    await registry.claimKeyTypes(pilot.id, keys);
    const all = await msPerCall(200, () => registry.getKeyTypes(pilot.id));
    const named = await msPerCall(2000, () => registry.getKeyTypes(pilot.id, ['k0', 'k1']));
    console.log(`pilot with ${size} keys: every key ${all} ms per call, 2 named keys ${named} ms per call`);
  }
} finally {
  registry.close();
  rmSync(dir, { recursive: true, force: true });
}
