/**
 * Distinct keys per device and per pilot in the SQLite registry (core/registry/sqlite-device-keys.ts):
 * the caps hold across two connections (as the broker, ingest and API processes have), types stay
 * first-writer-wins, and devices registered before keys were tracked are marked incomplete.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { MIGRATIONS } from '../core/registry/sqlite/migrations.js';
import type { RegistryStore, ValueType } from '../core/registry/types.js';
import { generateSecret, hashSecret } from '../core/secrets.js';

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

async function pilotWithDevices(s: RegistryStore, n: number) {
  const partner = await s.createPartner(
    { name: `p${Math.random()}`, country: 'DE', kind: 'both' },
    hashSecret(generateSecret()),
  );
  const pilot = await s.createPilot({ name: 'p', memberIds: [partner.id] });
  const devices: string[] = [];
  for (let i = 0; i < n; i++)
    devices.push((await s.createDevice(pilot.id, { name: 'd' }, hashSecret('s'))).id);
  return { pilotId: pilot.id, devices };
}
const numbers = (...keys: string[]) => new Map<string, ValueType>(keys.map((k) => [k, 'number']));
const caps = { perDevice: 3, perPilot: 5 };

describe('device keys', () => {
  it('caps distinct keys per device and per pilot, across connections', async () => {
    const a = open();
    const b = open();
    const { pilotId, devices } = await pilotWithDevices(a, 3);
    const [d1, d2, d3] = devices as [string, string, string];
    expect(await a.claimDeviceKeys(pilotId, d1, numbers('k1', 'k2', 'k3', 'k4'), caps)).toEqual({
      types: numbers('k1', 'k2', 'k3'),
      refused: new Map([['k4', 'device']]),
    });
    // Known keys are no new keys: claiming them again costs nothing against the cap.
    expect((await b.claimDeviceKeys(pilotId, d1, numbers('k1', 'k3'), caps)).refused.size).toBe(0);
    // d2 shares k1 (the pilot has it already), adds k5 and k6; then the pilot (5 keys) is full.
    expect(await b.claimDeviceKeys(pilotId, d2, numbers('k1', 'k5', 'k6', 'k7'), caps)).toEqual({
      types: numbers('k1', 'k5', 'k6'),
      refused: new Map([['k7', 'device']]),
    });
    expect(await a.claimDeviceKeys(pilotId, d3, numbers('k2', 'k8'), caps)).toEqual({
      types: numbers('k2'),
      refused: new Map([['k8', 'pilot']]),
    });
    expect([...(await a.getDeviceKeys(d1)).keys.keys()].sort()).toEqual(['k1', 'k2', 'k3']);
    expect(await b.getDeviceKeys(d3)).toEqual({ keys: numbers('k2'), complete: true });
    expect((await a.getKeyTypes(pilotId)).size).toBe(5);
    // Another pilot is not affected.
    const other = await pilotWithDevices(a, 1);
    expect(
      (await a.claimDeviceKeys(other.pilotId, other.devices[0]!, numbers('k8'), caps)).refused.size,
    ).toBe(0);
  });

  it("returns the pilot's type for a key of another type and does not give it to the device", async () => {
    const s = open();
    const { pilotId, devices } = await pilotWithDevices(s, 2);
    await s.claimDeviceKeys(pilotId, devices[0]!, numbers('temp'), caps);
    const claim = await s.claimDeviceKeys(pilotId, devices[1]!, new Map([['temp', 'string']]), caps);
    expect(claim).toEqual({ types: numbers('temp'), refused: new Map() });
    expect((await s.getDeviceKeys(devices[1]!)).keys.size).toBe(0);
  });

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
