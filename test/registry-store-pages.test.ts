import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidCursorError } from '../core/registry/errors.js';
import { hashSecret, loadOrCreateServiceSecret, newId, secretMatches } from '../core/secrets.js';

import { useRegistryFiles } from './helpers/registry-files.js';

const { t, open, seed } = useRegistryFiles();

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
    await t.store.recordDeviceErrors(
      Array.from({ length: 250 }, (_, i) => ({ deviceId: 'dev_x', at: i, reason: 'r', payloadPrefix: '' })),
    );
    expect((await t.store.listDeviceErrors('dev_x', { limit: 1000 })).items).toHaveLength(200);
  });
});

describe('pagination', () => {
  it('walks devices without gaps or repeats, also while devices are added and deleted', async () => {
    const { pilot } = await seed();
    const ids = [(await t.store.listDevices(pilot.id, { limit: 1 })).items[0]!.id];
    for (let i = 0; i < 24; i++)
      ids.push((await t.store.createDevice(pilot.id, { name: `d${i}` }, hashSecret(`s${i}`))).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await t.store.listDevices(pilot.id, { limit: 7, cursor });
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
      if (pages === 2) {
        // A device deleted behind the cursor and one added ahead must not disturb the walk.
        await t.store.deleteDevice(ids[0]!);
        ids.push((await t.store.createDevice(pilot.id, { name: 'late' }, hashSecret('late'))).id);
      }
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(4);
  });

  it('pages pilots of a partner only', async () => {
    const { a, b } = await seed();
    for (let i = 0; i < 5; i++) await t.store.createPilot({ name: `pa${i}`, memberIds: [a.id] });
    await t.store.createPilot({ name: 'pb', memberIds: [b.id] });
    const p1 = await t.store.listPilotsForPartner(a.id, { limit: 4 });
    const p2 = await t.store.listPilotsForPartner(a.id, { limit: 4, cursor: p1.nextCursor! });
    expect(p1.items).toHaveLength(4);
    expect(p2.items).toHaveLength(2);
    expect(p2.nextCursor).toBeNull();
    expect([...p1.items, ...p2.items].map((p) => p.name)).toEqual(['p', 'pa0', 'pa1', 'pa2', 'pa3', 'pa4']);
  });

  it('refuses foreign or malformed cursors', async () => {
    const { a, pilot } = await seed();
    await t.store.createDevice(pilot.id, { name: 'd2' }, hashSecret('s'));
    const deviceCursor = (await t.store.listDevices(pilot.id, { limit: 1 })).nextCursor!;
    await expect(t.store.listPilotsForPartner(a.id, { limit: 1, cursor: deviceCursor })).rejects.toThrow(
      InvalidCursorError,
    );
    await expect(t.store.listDevices(pilot.id, { limit: 1, cursor: 'not-a-cursor' })).rejects.toThrow(
      InvalidCursorError,
    );
    await expect(t.store.listDevices(pilot.id, { limit: 1, cursor: '%%%' })).rejects.toThrow(
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
    const first = loadOrCreateServiceSecret(t.dir);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(loadOrCreateServiceSecret(t.dir)).toBe(first);
    expect(statSync(path.join(t.dir, 'service-secret')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateServiceSecret(t.dir, 'configured')).toBe('configured');
  });
});
