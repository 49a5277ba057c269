import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { MIGRATIONS } from '../core/registry/sqlite/migrations.js';
import { hashSecret, secretMatches } from '../core/secrets.js';

import { useRegistryFiles } from './helpers/registry-files.js';

const { t, open, seed } = useRegistryFiles();

describe('schema and pragmas', () => {
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

  it('ping works, and throws once closed', async () => {
    await expect(t.store.ping()).resolves.toBeUndefined();
    await t.store.close();
    await expect(t.store.ping()).rejects.toThrow();
  });
});

describe('partners, pilots, devices', () => {
  it('finds a partner by key hash and refuses a duplicate name (case-insensitive)', async () => {
    const keyHash = hashSecret('key-a');
    const p = await t.store.createPartner({ name: 'Acme', country: 'DE', kind: 'both' }, keyHash);
    expect(await t.store.findPartnerByApiKeyHash(keyHash)).toEqual(p);
    expect(await t.store.findPartnerByApiKeyHash(hashSecret('other'))).toBeUndefined();
    expect(await t.store.getPartner(p.id)).toEqual(p);
    await expect(
      t.store.createPartner({ name: 'ACME', country: 'FR', kind: 'both' }, hashSecret('k2')),
    ).rejects.toThrow(/already exists/);
  });

  it('stores the admin key hash', async () => {
    expect(await t.store.getAdminKeyHash()).toBeUndefined();
    await t.store.setAdminKeyHash('h1');
    expect(await open().getAdminKeyHash()).toBe('h1');
  });

  it('shows a pilot and its devices only to members', async () => {
    const { a, b, pilot, device } = await seed();
    expect((await t.store.getPilotForPartner(pilot.id, a.id))?.memberIds).toEqual([a.id]);
    expect(await t.store.getPilotForPartner(pilot.id, b.id)).toBeUndefined();
    expect(await t.store.getDeviceForPartner(device.id, b.id)).toBeUndefined();
    expect(await t.store.addPilotMember(pilot.id, b.id)).toBe(true);
    expect(await t.store.addPilotMember(pilot.id, b.id)).toBe(false);
    expect((await t.store.getPilotForPartner(pilot.id, b.id))?.memberIds).toEqual([a.id, b.id]);
    expect((await t.store.getDeviceForPartner(device.id, b.id))?.metadata).toEqual({ rack: 1 });
  });

  it('updates a device field by field; null clears', async () => {
    const { device } = await seed();
    const updated = await t.store.updateDevice(device.id, { firmwareVersion: '2.0', model: null });
    expect(updated).toMatchObject({ name: 'd1', model: null, firmwareVersion: '2.0', metadata: { rack: 1 } });
    expect(await t.store.updateDevice('dev_missing', { name: 'x' })).toBeUndefined();
  });
});

describe('credentials and the change log', () => {
  it('records rotations and deletions; the credential follows', async () => {
    const { a, device } = await seed();
    const start = (await t.store.credentialChangesSince(-1)).lastChange;
    expect(secretMatches('secret-1', (await t.store.getDeviceCredential(device.id))!.secretHash)).toBe(true);

    expect(await t.store.rotateDeviceSecret(device.id, hashSecret('secret-2'))).toBe(true);
    const afterRotate = await t.store.credentialChangesSince(start);
    expect(afterRotate.deviceIds).toEqual([device.id]);
    expect(afterRotate.lastChange).toBeGreaterThan(start);
    expect(secretMatches('secret-1', (await t.store.getDeviceCredential(device.id))!.secretHash)).toBe(false);
    expect(secretMatches('secret-2', (await t.store.getDeviceCredential(device.id))!.secretHash)).toBe(true);

    // Nothing new since the last change seen.
    expect(await t.store.credentialChangesSince(afterRotate.lastChange)).toEqual({
      lastChange: afterRotate.lastChange,
      deviceIds: [],
    });

    expect(await t.store.deleteDevice(device.id)).toBe(true);
    expect(await t.store.deleteDevice(device.id)).toBe(false);
    expect(await t.store.rotateDeviceSecret(device.id, hashSecret('x'))).toBe(false);
    const afterDelete = await t.store.credentialChangesSince(afterRotate.lastChange);
    expect(afterDelete.deviceIds).toEqual([device.id]);
    expect(await t.store.getDeviceCredential(device.id)).toBeUndefined();
    expect(await t.store.getDeviceForPartner(device.id, a.id)).toBeUndefined();
    // A deleted device's late readings still belong to its pilot.
    expect(await t.store.getDevicePilot(device.id)).toBe(device.pilotId);
    expect(await t.store.getDevicePilot('dev_unknown')).toBeUndefined();
  });

  it('shows another connection (another process) the changes', async () => {
    const { device } = await seed();
    const other = open();
    const since = (await other.credentialChangesSince(-1)).lastChange;
    await t.store.rotateDeviceSecret(device.id, hashSecret('n'));
    expect((await other.credentialChangesSince(since)).deviceIds).toEqual([device.id]);
  });
});

describe('presence', () => {
  it('writes a batch; lastSeenAt never goes backwards', async () => {
    const { a, pilot, device } = await seed();
    const d2 = await t.store.createDevice(pilot.id, { name: 'd2' }, hashSecret('s'));
    await t.store.recordPresence([
      { deviceId: device.id, online: true, lastSeenAt: 5000 },
      { deviceId: d2.id, online: true, lastSeenAt: 6000 },
    ]);
    expect((await t.store.getDeviceForPartner(device.id, a.id))?.status).toEqual({
      online: true,
      lastSeenAt: 5000,
    });
    await t.store.recordPresence([{ deviceId: device.id, online: false, lastSeenAt: 4000 }]);
    expect((await t.store.getDeviceForPartner(device.id, a.id))?.status).toEqual({
      online: false,
      lastSeenAt: 5000,
    });
    expect((await t.store.listDevices(pilot.id, { limit: 10 })).items.map((d) => d.status)).toEqual([
      { online: false, lastSeenAt: 5000 },
      { online: true, lastSeenAt: 6000 },
    ]);
    await expect(t.store.recordPresence([])).resolves.toBeUndefined();
  });
});

describe('key types', () => {
  it('first writer wins, also across connections; pilots are independent', async () => {
    const { pilot } = await seed();
    const other = open();
    expect(await t.store.claimKeyTypes(pilot.id, new Map([['temp', 'number']]))).toEqual(
      new Map([['temp', 'number']]),
    );
    expect(
      await other.claimKeyTypes(
        pilot.id,
        new Map([
          ['temp', 'string'],
          ['door', 'boolean'],
        ]),
      ),
    ).toEqual(
      new Map([
        ['temp', 'number'],
        ['door', 'boolean'],
      ]),
    );
    expect(await t.store.getKeyTypes(pilot.id)).toEqual(
      new Map([
        ['temp', 'number'],
        ['door', 'boolean'],
      ]),
    );
    expect(await t.store.claimKeyTypes('plt_other', new Map([['temp', 'string']]))).toEqual(
      new Map([['temp', 'string']]),
    );
    expect((await t.store.getKeyTypes('plt_none')).size).toBe(0);
  });
});
