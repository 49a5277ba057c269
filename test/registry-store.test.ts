/**
 * The SQLite registry store on real files: migrations, the credential change log, presence, key
 * types (first writer wins, also across two connections as two processes would have), the bounded
 * device error log, and keyset pagination.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidCursorError } from '../core/registry/errors.js';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { MIGRATIONS } from '../core/registry/sqlite/migrations.js';
import type { RegistryStore } from '../core/registry/types.js';
import { hashSecret, loadOrCreateServiceSecret, newId, secretMatches } from '../core/secrets.js';

let dir: string;
let file: string;
let store: RegistryStore;
const opened: RegistryStore[] = [];

function open(opts?: { deviceErrorsKept?: number }) {
  const s = openSqliteRegistry(file, opts);
  opened.push(s);
  return s;
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'registry-'));
  file = path.join(dir, 'sub', 'registry.db');
  store = open();
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function seed(s: RegistryStore = store) {
  const a = await s.createPartner(
    { name: `A ${newId('x')}`, country: 'DE', kind: 'hardware' },
    hashSecret(newId('k')),
  );
  const b = await s.createPartner(
    { name: `B ${newId('x')}`, country: 'FR', kind: 'software' },
    hashSecret(newId('k')),
  );
  const pilot = await s.createPilot({ name: 'p', memberIds: [a.id] });
  const device = await s.createDevice(
    pilot.id,
    { name: 'd1', model: 'm', metadata: { rack: 1 } },
    hashSecret('secret-1'),
  );
  return { a, b, pilot, device };
}

describe('schema and pragmas', () => {
  it('applies migrations once, in WAL mode, and reopens without re-applying', async () => {
    const { a, pilot } = await seed();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const again = open();
    expect((await again.getPilotForPartner(pilot.id, a.id))?.name).toBe('p');
  });

  it('refuses a database from a newer version of the code', async () => {
    await store.close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => openSqliteRegistry(file)).toThrow(/newer/);
  });

  it('ping works, and throws once closed', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
    await expect(store.ping()).rejects.toThrow();
  });
});

describe('partners, pilots, devices', () => {
  it('finds a partner by key hash and refuses a duplicate name (case-insensitive)', async () => {
    const keyHash = hashSecret('key-a');
    const p = await store.createPartner({ name: 'Acme', country: 'DE', kind: 'both' }, keyHash);
    expect(await store.findPartnerByApiKeyHash(keyHash)).toEqual(p);
    expect(await store.findPartnerByApiKeyHash(hashSecret('other'))).toBeUndefined();
    expect(await store.getPartner(p.id)).toEqual(p);
    await expect(
      store.createPartner({ name: 'ACME', country: 'FR', kind: 'both' }, hashSecret('k2')),
    ).rejects.toThrow(/already exists/);
  });

  it('stores the admin key hash', async () => {
    expect(await store.getAdminKeyHash()).toBeUndefined();
    await store.setAdminKeyHash('h1');
    expect(await open().getAdminKeyHash()).toBe('h1');
  });

  it('shows a pilot and its devices only to members', async () => {
    const { a, b, pilot, device } = await seed();
    expect((await store.getPilotForPartner(pilot.id, a.id))?.memberIds).toEqual([a.id]);
    expect(await store.getPilotForPartner(pilot.id, b.id)).toBeUndefined();
    expect(await store.getDeviceForPartner(device.id, b.id)).toBeUndefined();
    expect(await store.addPilotMember(pilot.id, b.id)).toBe(true);
    expect(await store.addPilotMember(pilot.id, b.id)).toBe(false);
    expect((await store.getPilotForPartner(pilot.id, b.id))?.memberIds).toEqual([a.id, b.id]);
    expect((await store.getDeviceForPartner(device.id, b.id))?.metadata).toEqual({ rack: 1 });
  });

  it('updates a device field by field; null clears', async () => {
    const { device } = await seed();
    const updated = await store.updateDevice(device.id, { firmwareVersion: '2.0', model: null });
    expect(updated).toMatchObject({ name: 'd1', model: null, firmwareVersion: '2.0', metadata: { rack: 1 } });
    expect(await store.updateDevice('dev_missing', { name: 'x' })).toBeUndefined();
  });
});

describe('credentials and the change log', () => {
  it('records rotations and deletions; the credential follows', async () => {
    const { a, device } = await seed();
    const start = (await store.credentialChangesSince(-1)).lastChange;
    expect(secretMatches('secret-1', (await store.getDeviceCredential(device.id))!.secretHash)).toBe(true);

    expect(await store.rotateDeviceSecret(device.id, hashSecret('secret-2'))).toBe(true);
    const afterRotate = await store.credentialChangesSince(start);
    expect(afterRotate.deviceIds).toEqual([device.id]);
    expect(afterRotate.lastChange).toBeGreaterThan(start);
    expect(secretMatches('secret-1', (await store.getDeviceCredential(device.id))!.secretHash)).toBe(false);
    expect(secretMatches('secret-2', (await store.getDeviceCredential(device.id))!.secretHash)).toBe(true);

    // Nothing new since the last change seen.
    expect(await store.credentialChangesSince(afterRotate.lastChange)).toEqual({
      lastChange: afterRotate.lastChange,
      deviceIds: [],
    });

    expect(await store.deleteDevice(device.id)).toBe(true);
    expect(await store.deleteDevice(device.id)).toBe(false);
    expect(await store.rotateDeviceSecret(device.id, hashSecret('x'))).toBe(false);
    const afterDelete = await store.credentialChangesSince(afterRotate.lastChange);
    expect(afterDelete.deviceIds).toEqual([device.id]);
    expect(await store.getDeviceCredential(device.id)).toBeUndefined();
    expect(await store.getDeviceForPartner(device.id, a.id)).toBeUndefined();
    // A deleted device's late readings still belong to its pilot.
    expect(await store.getDevicePilot(device.id)).toBe(device.pilotId);
    expect(await store.getDevicePilot('dev_unknown')).toBeUndefined();
  });

  it('shows another connection (another process) the changes', async () => {
    const { device } = await seed();
    const other = open();
    const since = (await other.credentialChangesSince(-1)).lastChange;
    await store.rotateDeviceSecret(device.id, hashSecret('n'));
    expect((await other.credentialChangesSince(since)).deviceIds).toEqual([device.id]);
  });
});

describe('presence', () => {
  it('writes a batch; lastSeenAt never goes backwards', async () => {
    const { a, pilot, device } = await seed();
    const d2 = await store.createDevice(pilot.id, { name: 'd2' }, hashSecret('s'));
    await store.recordPresence([
      { deviceId: device.id, online: true, lastSeenAt: 5000 },
      { deviceId: d2.id, online: true, lastSeenAt: 6000 },
    ]);
    expect((await store.getDeviceForPartner(device.id, a.id))?.status).toEqual({
      online: true,
      lastSeenAt: 5000,
    });
    await store.recordPresence([{ deviceId: device.id, online: false, lastSeenAt: 4000 }]);
    expect((await store.getDeviceForPartner(device.id, a.id))?.status).toEqual({
      online: false,
      lastSeenAt: 5000,
    });
    expect((await store.listDevices(pilot.id, { limit: 10 })).items.map((d) => d.status)).toEqual([
      { online: false, lastSeenAt: 5000 },
      { online: true, lastSeenAt: 6000 },
    ]);
    await expect(store.recordPresence([])).resolves.toBeUndefined();
  });
});

describe('key types', () => {
  it('first writer wins, also across connections; pilots are independent', async () => {
    const { pilot } = await seed();
    const other = open();
    expect(await store.claimKeyTypes(pilot.id, new Map([['temp', 'number']]))).toEqual(
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
    expect(await store.getKeyTypes(pilot.id)).toEqual(
      new Map([
        ['temp', 'number'],
        ['door', 'boolean'],
      ]),
    );
    expect(await store.claimKeyTypes('plt_other', new Map([['temp', 'string']]))).toEqual(
      new Map([['temp', 'string']]),
    );
    expect((await store.getKeyTypes('plt_none')).size).toBe(0);
  });
});

describe('device errors', () => {
  it('keeps only the newest N per device, newest first, paged', async () => {
    const small = open({ deviceErrorsKept: 5 });
    const make = (deviceId: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        deviceId,
        at: 1000 + i,
        reason: `r${i}`,
        payloadPrefix: `{"i":${i}}`,
      }));
    await small.recordDeviceErrors(make('dev_a', 3));
    await small.recordDeviceErrors(make('dev_a', 4).map((e) => ({ ...e, reason: `second ${e.reason}` })));
    await small.recordDeviceErrors(make('dev_b', 2));
    const all = await small.listDeviceErrors('dev_a', { limit: 100 });
    expect(all.items.map((e) => e.reason)).toEqual([
      'second r3',
      'second r2',
      'second r1',
      'second r0',
      'r2',
    ]);
    expect(all.nextCursor).toBeNull();
    expect((await small.listDeviceErrors('dev_b', { limit: 100 })).items).toHaveLength(2);

    const first = await small.listDeviceErrors('dev_a', { limit: 2 });
    const second = await small.listDeviceErrors('dev_a', { limit: 2, cursor: first.nextCursor! });
    const third = await small.listDeviceErrors('dev_a', { limit: 2, cursor: second.nextCursor! });
    expect([...first.items, ...second.items, ...third.items].map((e) => e.id)).toEqual(
      all.items.map((e) => e.id),
    );
    expect(third.nextCursor).toBeNull();
    expect(first.items[0]).toMatchObject({ deviceId: 'dev_a', at: 1003, payloadPrefix: '{"i":3}' });
  });

  it('defaults to 200 kept', async () => {
    await store.recordDeviceErrors(
      Array.from({ length: 250 }, (_, i) => ({ deviceId: 'dev_x', at: i, reason: 'r', payloadPrefix: '' })),
    );
    expect((await store.listDeviceErrors('dev_x', { limit: 1000 })).items).toHaveLength(200);
  });
});

describe('pagination', () => {
  it('walks devices without gaps or repeats, also while devices are added and deleted', async () => {
    const { pilot } = await seed();
    const ids = [(await store.listDevices(pilot.id, { limit: 1 })).items[0]!.id];
    for (let i = 0; i < 24; i++)
      ids.push((await store.createDevice(pilot.id, { name: `d${i}` }, hashSecret(`s${i}`))).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listDevices(pilot.id, { limit: 7, cursor });
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
      if (pages === 2) {
        // A device deleted behind the cursor and one added ahead must not disturb the walk.
        await store.deleteDevice(ids[0]!);
        ids.push((await store.createDevice(pilot.id, { name: 'late' }, hashSecret('late'))).id);
      }
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(4);
  });

  it('pages pilots of a partner only', async () => {
    const { a, b } = await seed();
    for (let i = 0; i < 5; i++) await store.createPilot({ name: `pa${i}`, memberIds: [a.id] });
    await store.createPilot({ name: 'pb', memberIds: [b.id] });
    const p1 = await store.listPilotsForPartner(a.id, { limit: 4 });
    const p2 = await store.listPilotsForPartner(a.id, { limit: 4, cursor: p1.nextCursor! });
    expect(p1.items).toHaveLength(4);
    expect(p2.items).toHaveLength(2);
    expect(p2.nextCursor).toBeNull();
    expect([...p1.items, ...p2.items].map((p) => p.name)).toEqual(['p', 'pa0', 'pa1', 'pa2', 'pa3', 'pa4']);
  });

  it('refuses foreign or malformed cursors', async () => {
    const { a, pilot } = await seed();
    await store.createDevice(pilot.id, { name: 'd2' }, hashSecret('s'));
    const deviceCursor = (await store.listDevices(pilot.id, { limit: 1 })).nextCursor!;
    await expect(store.listPilotsForPartner(a.id, { limit: 1, cursor: deviceCursor })).rejects.toThrow(
      InvalidCursorError,
    );
    await expect(store.listDevices(pilot.id, { limit: 1, cursor: 'not-a-cursor' })).rejects.toThrow(
      InvalidCursorError,
    );
    await expect(store.listDevices(pilot.id, { limit: 1, cursor: '%%%' })).rejects.toThrow(
      InvalidCursorError,
    );
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
    const first = loadOrCreateServiceSecret(dir);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(loadOrCreateServiceSecret(dir)).toBe(first);
    expect(statSync(path.join(dir, 'service-secret')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateServiceSecret(dir, 'configured')).toBe('configured');
  });
});
