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
import { MIGRATIONS } from '../core/registry/migrations.js';
import { openSqliteRegistry } from '../core/registry/sqlite.js';
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

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'registry-'));
  file = path.join(dir, 'sub', 'registry.db');
  store = open();
});
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function seed(s: RegistryStore = store) {
  const a = s.createPartner(
    { name: `A ${newId('x')}`, country: 'DE', kind: 'hardware' },
    hashSecret(newId('k')),
  );
  const b = s.createPartner(
    { name: `B ${newId('x')}`, country: 'FR', kind: 'software' },
    hashSecret(newId('k')),
  );
  const pilot = s.createPilot({ name: 'p', memberIds: [a.id] });
  const device = s.createDevice(
    pilot.id,
    { name: 'd1', model: 'm', metadata: { rack: 1 } },
    hashSecret('secret-1'),
  );
  return { a, b, pilot, device };
}

describe('schema and pragmas', () => {
  it('applies migrations once, in WAL mode, and reopens without re-applying', () => {
    const { a, pilot } = seed();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const again = open();
    expect(again.getPilotForPartner(pilot.id, a.id)?.name).toBe('p');
  });

  it('refuses a database from a newer version of the code', () => {
    store.close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => openSqliteRegistry(file)).toThrow(/newer/);
  });

  it('ping works, and throws once closed', () => {
    expect(() => store.ping()).not.toThrow();
    store.close();
    expect(() => store.ping()).toThrow();
  });
});

describe('partners, pilots, devices', () => {
  it('finds a partner by key hash and refuses a duplicate name (case-insensitive)', () => {
    const keyHash = hashSecret('key-a');
    const p = store.createPartner({ name: 'Acme', country: 'DE', kind: 'both' }, keyHash);
    expect(store.findPartnerByApiKeyHash(keyHash)).toEqual(p);
    expect(store.findPartnerByApiKeyHash(hashSecret('other'))).toBeUndefined();
    expect(store.getPartner(p.id)).toEqual(p);
    expect(() =>
      store.createPartner({ name: 'ACME', country: 'FR', kind: 'both' }, hashSecret('k2')),
    ).toThrow(/already exists/);
  });

  it('stores the admin key hash', () => {
    expect(store.getAdminKeyHash()).toBeUndefined();
    store.setAdminKeyHash('h1');
    expect(open().getAdminKeyHash()).toBe('h1');
  });

  it('shows a pilot and its devices only to members', () => {
    const { a, b, pilot, device } = seed();
    expect(store.getPilotForPartner(pilot.id, a.id)?.memberIds).toEqual([a.id]);
    expect(store.getPilotForPartner(pilot.id, b.id)).toBeUndefined();
    expect(store.getDeviceForPartner(device.id, b.id)).toBeUndefined();
    expect(store.addPilotMember(pilot.id, b.id)).toBe(true);
    expect(store.addPilotMember(pilot.id, b.id)).toBe(false);
    expect(store.getPilotForPartner(pilot.id, b.id)?.memberIds).toEqual([a.id, b.id]);
    expect(store.getDeviceForPartner(device.id, b.id)?.metadata).toEqual({ rack: 1 });
  });

  it('updates a device field by field; null clears', () => {
    const { device } = seed();
    const updated = store.updateDevice(device.id, { firmwareVersion: '2.0', model: null });
    expect(updated).toMatchObject({ name: 'd1', model: null, firmwareVersion: '2.0', metadata: { rack: 1 } });
    expect(store.updateDevice('dev_missing', { name: 'x' })).toBeUndefined();
  });
});

describe('credentials and the change log', () => {
  it('records rotations and deletions; the credential follows', () => {
    const { a, device } = seed();
    const start = store.credentialChangesSince(-1).lastChange;
    expect(secretMatches('secret-1', store.getDeviceCredential(device.id)!.secretHash)).toBe(true);

    expect(store.rotateDeviceSecret(device.id, hashSecret('secret-2'))).toBe(true);
    const afterRotate = store.credentialChangesSince(start);
    expect(afterRotate.deviceIds).toEqual([device.id]);
    expect(afterRotate.lastChange).toBeGreaterThan(start);
    expect(secretMatches('secret-1', store.getDeviceCredential(device.id)!.secretHash)).toBe(false);
    expect(secretMatches('secret-2', store.getDeviceCredential(device.id)!.secretHash)).toBe(true);

    // Nothing new since the last change seen.
    expect(store.credentialChangesSince(afterRotate.lastChange)).toEqual({
      lastChange: afterRotate.lastChange,
      deviceIds: [],
    });

    expect(store.deleteDevice(device.id)).toBe(true);
    expect(store.deleteDevice(device.id)).toBe(false);
    expect(store.rotateDeviceSecret(device.id, hashSecret('x'))).toBe(false);
    const afterDelete = store.credentialChangesSince(afterRotate.lastChange);
    expect(afterDelete.deviceIds).toEqual([device.id]);
    expect(store.getDeviceCredential(device.id)).toBeUndefined();
    expect(store.getDeviceForPartner(device.id, a.id)).toBeUndefined();
    // A deleted device's late readings still belong to its pilot.
    expect(store.getDevicePilot(device.id)).toBe(device.pilotId);
    expect(store.getDevicePilot('dev_unknown')).toBeUndefined();
  });

  it('shows another connection (another process) the changes', () => {
    const { device } = seed();
    const other = open();
    const since = other.credentialChangesSince(-1).lastChange;
    store.rotateDeviceSecret(device.id, hashSecret('n'));
    expect(other.credentialChangesSince(since).deviceIds).toEqual([device.id]);
  });
});

describe('presence', () => {
  it('writes a batch; lastSeenAt never goes backwards', () => {
    const { a, pilot, device } = seed();
    const d2 = store.createDevice(pilot.id, { name: 'd2' }, hashSecret('s'));
    store.recordPresence([
      { deviceId: device.id, online: true, lastSeenAt: 5000 },
      { deviceId: d2.id, online: true, lastSeenAt: 6000 },
    ]);
    expect(store.getDeviceForPartner(device.id, a.id)?.status).toEqual({ online: true, lastSeenAt: 5000 });
    store.recordPresence([{ deviceId: device.id, online: false, lastSeenAt: 4000 }]);
    expect(store.getDeviceForPartner(device.id, a.id)?.status).toEqual({ online: false, lastSeenAt: 5000 });
    expect(store.listDevices(pilot.id, { limit: 10 }).items.map((d) => d.status)).toEqual([
      { online: false, lastSeenAt: 5000 },
      { online: true, lastSeenAt: 6000 },
    ]);
    expect(() => store.recordPresence([])).not.toThrow();
  });
});

describe('key types', () => {
  it('first writer wins, also across connections; pilots are independent', () => {
    const { pilot } = seed();
    const other = open();
    expect(store.claimKeyTypes(pilot.id, new Map([['temp', 'number']]))).toEqual(
      new Map([['temp', 'number']]),
    );
    expect(
      other.claimKeyTypes(
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
    expect(store.getKeyTypes(pilot.id)).toEqual(
      new Map([
        ['temp', 'number'],
        ['door', 'boolean'],
      ]),
    );
    expect(store.claimKeyTypes('plt_other', new Map([['temp', 'string']]))).toEqual(
      new Map([['temp', 'string']]),
    );
    expect(store.getKeyTypes('plt_none').size).toBe(0);
  });
});

describe('device errors', () => {
  it('keeps only the newest N per device, newest first, paged', () => {
    const small = open({ deviceErrorsKept: 5 });
    const make = (deviceId: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        deviceId,
        at: 1000 + i,
        reason: `r${i}`,
        payloadPrefix: `{"i":${i}}`,
      }));
    small.recordDeviceErrors(make('dev_a', 3));
    small.recordDeviceErrors(make('dev_a', 4).map((e) => ({ ...e, reason: `second ${e.reason}` })));
    small.recordDeviceErrors(make('dev_b', 2));
    const all = small.listDeviceErrors('dev_a', { limit: 100 });
    expect(all.items.map((e) => e.reason)).toEqual([
      'second r3',
      'second r2',
      'second r1',
      'second r0',
      'r2',
    ]);
    expect(all.nextCursor).toBeNull();
    expect(small.listDeviceErrors('dev_b', { limit: 100 }).items).toHaveLength(2);

    const first = small.listDeviceErrors('dev_a', { limit: 2 });
    const second = small.listDeviceErrors('dev_a', { limit: 2, cursor: first.nextCursor! });
    const third = small.listDeviceErrors('dev_a', { limit: 2, cursor: second.nextCursor! });
    expect([...first.items, ...second.items, ...third.items].map((e) => e.id)).toEqual(
      all.items.map((e) => e.id),
    );
    expect(third.nextCursor).toBeNull();
    expect(first.items[0]).toMatchObject({ deviceId: 'dev_a', at: 1003, payloadPrefix: '{"i":3}' });
  });

  it('defaults to 200 kept', () => {
    store.recordDeviceErrors(
      Array.from({ length: 250 }, (_, i) => ({ deviceId: 'dev_x', at: i, reason: 'r', payloadPrefix: '' })),
    );
    expect(store.listDeviceErrors('dev_x', { limit: 1000 }).items).toHaveLength(200);
  });
});

describe('pagination', () => {
  it('walks devices without gaps or repeats, also while devices are added and deleted', () => {
    const { pilot } = seed();
    const ids = [store.listDevices(pilot.id, { limit: 1 }).items[0]!.id];
    for (let i = 0; i < 24; i++)
      ids.push(store.createDevice(pilot.id, { name: `d${i}` }, hashSecret(`s${i}`)).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = store.listDevices(pilot.id, { limit: 7, cursor });
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
      if (pages === 2) {
        // A device deleted behind the cursor and one added ahead must not disturb the walk.
        store.deleteDevice(ids[0]!);
        ids.push(store.createDevice(pilot.id, { name: 'late' }, hashSecret('late')).id);
      }
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(4);
  });

  it('pages pilots of a partner only', () => {
    const { a, b } = seed();
    for (let i = 0; i < 5; i++) store.createPilot({ name: `pa${i}`, memberIds: [a.id] });
    store.createPilot({ name: 'pb', memberIds: [b.id] });
    const p1 = store.listPilotsForPartner(a.id, { limit: 4 });
    const p2 = store.listPilotsForPartner(a.id, { limit: 4, cursor: p1.nextCursor! });
    expect(p1.items).toHaveLength(4);
    expect(p2.items).toHaveLength(2);
    expect(p2.nextCursor).toBeNull();
    expect([...p1.items, ...p2.items].map((p) => p.name)).toEqual(['p', 'pa0', 'pa1', 'pa2', 'pa3', 'pa4']);
  });

  it('refuses foreign or malformed cursors', () => {
    const { a, pilot } = seed();
    store.createDevice(pilot.id, { name: 'd2' }, hashSecret('s'));
    const deviceCursor = store.listDevices(pilot.id, { limit: 1 }).nextCursor!;
    expect(() => store.listPilotsForPartner(a.id, { limit: 1, cursor: deviceCursor })).toThrow(
      InvalidCursorError,
    );
    expect(() => store.listDevices(pilot.id, { limit: 1, cursor: 'not-a-cursor' })).toThrow(
      InvalidCursorError,
    );
    expect(() => store.listDevices(pilot.id, { limit: 1, cursor: '%%%' })).toThrow(InvalidCursorError);
  });
});

describe('secrets', () => {
  it('makes prefixed base32 ids and checks hashes in constant time', () => {
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
