/**
 * The registry store contract, continued (registry-contract.ts): key types and per-device key caps,
 * the bounded device error log, keyset pagination.
 */
import { describe, expect, it } from 'vitest';
import { InvalidCursorError } from '../../core/registry/errors.js';
import type { RegistryStore, ValueType } from '../../core/registry/types.js';
import { generateSecret, hashSecret } from '../../core/secrets.js';
import type { RegistryContext } from './registry-contract.js';

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

export function describeKeysErrorsAndPages(ctx: RegistryContext): void {
  describeKeyTypes(ctx);
  describeDeviceErrors(ctx);
  describePagination(ctx);
  describeDeviceKeys(ctx);
}

/** Key types per pilot: first writer wins. */
function describeKeyTypes(ctx: RegistryContext): void {
  describe('key types', () => {
    it('first writer wins, also across connections; pilots are independent', async () => {
      const { pilot } = await ctx.seed();
      const other = await ctx.open();
      expect(await ctx.store.claimKeyTypes(pilot.id, new Map([['temp', 'number']]))).toEqual(
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
      expect(await ctx.store.getKeyTypes(pilot.id)).toEqual(
        new Map([
          ['temp', 'number'],
          ['door', 'boolean'],
        ]),
      );
      expect(await ctx.store.claimKeyTypes('plt_other', new Map([['temp', 'string']]))).toEqual(
        new Map([['temp', 'string']]),
      );
      expect((await ctx.store.getKeyTypes('plt_none')).size).toBe(0);
      // Named keys only: the known ones among them.
      expect(await ctx.store.getKeyTypes(pilot.id, ['door', 'missing'])).toEqual(
        new Map([['door', 'boolean']]),
      );
      expect((await ctx.store.getKeyTypes(pilot.id, [])).size).toBe(0);
      expect((await ctx.store.getKeyTypes('plt_other', ['door'])).size).toBe(0);
    });
  });
}

/** The device error log, bounded per device. */
function describeDeviceErrors(ctx: RegistryContext): void {
  describe('device errors', () => {
    it('keeps only the newest N per device, newest first, paged', async () => {
      const small = await ctx.open({ deviceErrorsKept: 5 });
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
      await ctx.store.recordDeviceErrors(
        Array.from({ length: 250 }, (_, i) => ({
          deviceId: 'dev_x',
          at: i,
          reason: 'r',
          payloadPrefix: '',
        })),
      );
      expect((await ctx.store.listDeviceErrors('dev_x', { limit: 1000 })).items).toHaveLength(200);
    });
  });
}

/** Keyset pagination. */
function describePagination(ctx: RegistryContext): void {
  describe('pagination', () => {
    it('walks devices without gaps or repeats, also while devices are added and deleted', async () => {
      const { pilot } = await ctx.seed();
      const ids = [(await ctx.store.listDevices(pilot.id, { limit: 1 })).items[0]!.id];
      for (let i = 0; i < 24; i++)
        ids.push((await ctx.store.createDevice(pilot.id, { name: `d${i}` }, hashSecret(`s${i}`))).id);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await ctx.store.listDevices(pilot.id, { limit: 7, cursor });
        seen.push(...page.items.map((d) => d.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
        if (pages === 2) {
          // A device deleted behind the cursor and one added ahead must not disturb the walk.
          await ctx.store.deleteDevice(ids[0]!);
          ids.push((await ctx.store.createDevice(pilot.id, { name: 'late' }, hashSecret('late'))).id);
        }
      } while (cursor);
      expect(seen).toEqual(ids);
      expect(new Set(seen).size).toBe(seen.length);
      expect(pages).toBe(4);
    });

    it('pages pilots of a partner only', async () => {
      const { a, b } = await ctx.seed();
      for (let i = 0; i < 5; i++) await ctx.store.createPilot({ name: `pa${i}`, memberIds: [a.id] });
      await ctx.store.createPilot({ name: 'pb', memberIds: [b.id] });
      const p1 = await ctx.store.listPilotsForPartner(a.id, { limit: 4 });
      const p2 = await ctx.store.listPilotsForPartner(a.id, { limit: 4, cursor: p1.nextCursor! });
      expect(p1.items).toHaveLength(4);
      expect(p2.items).toHaveLength(2);
      expect(p2.nextCursor).toBeNull();
      expect([...p1.items, ...p2.items].map((p) => p.name)).toEqual(['p', 'pa0', 'pa1', 'pa2', 'pa3', 'pa4']);
    });

    it('refuses foreign or malformed cursors', async () => {
      const { a, pilot } = await ctx.seed();
      await ctx.store.createDevice(pilot.id, { name: 'd2' }, hashSecret('s'));
      const deviceCursor = (await ctx.store.listDevices(pilot.id, { limit: 1 })).nextCursor!;
      await expect(ctx.store.listPilotsForPartner(a.id, { limit: 1, cursor: deviceCursor })).rejects.toThrow(
        InvalidCursorError,
      );
      await expect(ctx.store.listDevices(pilot.id, { limit: 1, cursor: 'not-a-cursor' })).rejects.toThrow(
        InvalidCursorError,
      );
      await expect(ctx.store.listDevices(pilot.id, { limit: 1, cursor: '%%%' })).rejects.toThrow(
        InvalidCursorError,
      );
    });
  });
}

/** Distinct keys per device and per pilot, within the caps. */
function describeDeviceKeys(ctx: RegistryContext): void {
  describe('device keys', () => {
    it('caps distinct keys per device and per pilot, across connections', async () => {
      const a = await ctx.open();
      const b = await ctx.open();
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
      const s = await ctx.open();
      const { pilotId, devices } = await pilotWithDevices(s, 2);
      await s.claimDeviceKeys(pilotId, devices[0]!, numbers('temp'), caps);
      const claim = await s.claimDeviceKeys(pilotId, devices[1]!, new Map([['temp', 'string']]), caps);
      expect(claim).toEqual({ types: numbers('temp'), refused: new Map() });
      expect((await s.getDeviceKeys(devices[1]!)).keys.size).toBe(0);
    });
  });
}
