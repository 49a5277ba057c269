/**
 * What every registry store must do (core/registry/types.ts), as tests any implementation runs:
 * `describeRegistryStore('postgres', fresh)`. Here: partners, pilots and devices, the credential
 * change log and presence; registry-contract-keys.ts: key types and per-device key caps (first
 * writer wins, also across connections, as two processes have), the device error log, pagination.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Device, Partner, Pilot, RegistryStore } from '../../core/registry/types.js';
import { hashSecret, newId, secretMatches } from '../../core/secrets.js';
import { describeCommandsAndTwins } from './registry-contract-commands.js';
import { describeKeysErrorsAndPages } from './registry-contract-keys.js';

/** Opens a connection (another process, as far as the store can tell) to one registry. */
export type OpenRegistry = (opts?: { deviceErrorsKept?: number }) => Promise<RegistryStore>;

/** Makes a fresh, empty registry (a new file, a new database) and returns its opener. */
export type FreshRegistry = () => Promise<OpenRegistry>;

/** What the tests of a store reach, set afresh before each test. */
export interface RegistryContext {
  /** The first connection to this test's registry. */
  store: RegistryStore;
  /** Another connection to it (closed after the test). */
  open: OpenRegistry;
  /** Two partners, a pilot of the first, and a device in it. */
  seed(s?: RegistryStore): Promise<{ a: Partner; b: Partner; pilot: Pilot; device: Device }>;
}

export function describeRegistryStore(kind: string, fresh: FreshRegistry): void {
  const opened: RegistryStore[] = [];
  const ctx = {} as RegistryContext;
  beforeEach(async () => {
    const opener = await fresh();
    ctx.open = async (opts) => {
      const s = await opener(opts);
      opened.push(s);
      return s;
    };
    ctx.store = await ctx.open();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  ctx.seed = async (s = ctx.store) => {
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
  };

  describe(`registry store: ${kind}`, () => {
    describeEntities(ctx);
    describeKeysErrorsAndPages(ctx);
    describeCommandsAndTwins(ctx);
  });
}

function describeEntities(ctx: RegistryContext): void {
  describePartnersAndPilots(ctx);
  describeCredentialsAndPresence(ctx);
}

/** Connection, partners, pilots and devices. */
function describePartnersAndPilots(ctx: RegistryContext): void {
  describe('connection', () => {
    it('ping works, and throws once closed', async () => {
      await expect(ctx.store.ping()).resolves.toBeUndefined();
      await ctx.store.close();
      await expect(ctx.store.ping()).rejects.toThrow();
    });
  });

  describe('partners, pilots, devices', () => {
    it('finds a partner by key hash and refuses a duplicate name (case-insensitive)', async () => {
      const keyHash = hashSecret('key-a');
      const p = await ctx.store.createPartner({ name: 'Acme', country: 'DE', kind: 'both' }, keyHash);
      expect(await ctx.store.findPartnerByApiKeyHash(keyHash)).toEqual(p);
      expect(await ctx.store.findPartnerByApiKeyHash(hashSecret('other'))).toBeUndefined();
      expect(await ctx.store.getPartner(p.id)).toEqual(p);
      await expect(
        ctx.store.createPartner({ name: 'ACME', country: 'FR', kind: 'both' }, hashSecret('k2')),
      ).rejects.toThrow(/already exists/);
    });

    it('stores the admin key hash', async () => {
      expect(await ctx.store.getAdminKeyHash()).toBeUndefined();
      await ctx.store.setAdminKeyHash('h1');
      expect(await (await ctx.open()).getAdminKeyHash()).toBe('h1');
    });

    it('shows a pilot and its devices only to members', async () => {
      const { a, b, pilot, device } = await ctx.seed();
      expect((await ctx.store.getPilotForPartner(pilot.id, a.id))?.memberIds).toEqual([a.id]);
      expect(await ctx.store.getPilotForPartner(pilot.id, b.id)).toBeUndefined();
      expect(await ctx.store.getDeviceForPartner(device.id, b.id)).toBeUndefined();
      expect(await ctx.store.addPilotMember(pilot.id, b.id)).toBe(true);
      expect(await ctx.store.addPilotMember(pilot.id, b.id)).toBe(false);
      expect((await ctx.store.getPilotForPartner(pilot.id, b.id))?.memberIds).toEqual([a.id, b.id]);
      expect((await ctx.store.getDeviceForPartner(device.id, b.id))?.metadata).toEqual({ rack: 1 });
    });

    it('updates a device field by field; null clears', async () => {
      const { device } = await ctx.seed();
      const updated = await ctx.store.updateDevice(device.id, { firmwareVersion: '2.0', model: null });
      expect(updated).toMatchObject({
        name: 'd1',
        model: null,
        firmwareVersion: '2.0',
        metadata: { rack: 1 },
      });
      expect(await ctx.store.updateDevice('dev_missing', { name: 'x' })).toBeUndefined();
    });
  });
}

/** The credential change log and presence. */
function describeCredentialsAndPresence(ctx: RegistryContext): void {
  describe('credentials and the change log', () => {
    it('records rotations and deletions; the credential follows', async () => {
      const { a, device } = await ctx.seed();
      const start = (await ctx.store.credentialChangesSince(-1)).lastChange;
      expect(secretMatches('secret-1', (await ctx.store.getDeviceCredential(device.id))!.secretHash)).toBe(
        true,
      );

      expect(await ctx.store.rotateDeviceSecret(device.id, hashSecret('secret-2'))).toBe(true);
      const afterRotate = await ctx.store.credentialChangesSince(start);
      expect(afterRotate.deviceIds).toEqual([device.id]);
      expect(afterRotate.lastChange).toBeGreaterThan(start);
      expect(secretMatches('secret-1', (await ctx.store.getDeviceCredential(device.id))!.secretHash)).toBe(
        false,
      );
      expect(secretMatches('secret-2', (await ctx.store.getDeviceCredential(device.id))!.secretHash)).toBe(
        true,
      );

      // Nothing new since the last change seen.
      expect(await ctx.store.credentialChangesSince(afterRotate.lastChange)).toEqual({
        lastChange: afterRotate.lastChange,
        deviceIds: [],
      });

      expect(await ctx.store.deleteDevice(device.id)).toBe(true);
      expect(await ctx.store.deleteDevice(device.id)).toBe(false);
      expect(await ctx.store.rotateDeviceSecret(device.id, hashSecret('x'))).toBe(false);
      const afterDelete = await ctx.store.credentialChangesSince(afterRotate.lastChange);
      expect(afterDelete.deviceIds).toEqual([device.id]);
      expect(await ctx.store.getDeviceCredential(device.id)).toBeUndefined();
      expect(await ctx.store.getDeviceForPartner(device.id, a.id)).toBeUndefined();
      // A deleted device's late readings still belong to its pilot.
      expect(await ctx.store.getDevicePilot(device.id)).toBe(device.pilotId);
      expect(await ctx.store.getDevicePilot('dev_unknown')).toBeUndefined();
    });

    it('lists the credentials of live devices seen last, most recent first, for the broker to preload', async () => {
      const { pilot } = await ctx.seed();
      const make = async (name: string) => ctx.store.createDevice(pilot.id, { name }, hashSecret(name));
      const [older, newer, neverSeen, deleted] = await Promise.all(
        ['older', 'newer', 'never', 'deleted'].map(make),
      );
      const t = Date.now();
      await ctx.store.recordPresence([
        { deviceId: older!.id, online: false, lastSeenAt: t - 60_000 },
        { deviceId: newer!.id, online: true, lastSeenAt: t },
        { deviceId: deleted!.id, online: false, lastSeenAt: t },
      ]);
      await ctx.store.deleteDevice(deleted!.id);
      const mine = (await ctx.store.recentDeviceCredentials(1000)).filter((c) => c.pilotId === pilot.id);
      expect(mine.map((c) => c.deviceId)).toEqual([newer!.id, older!.id]);
      expect(secretMatches('newer', mine[0]!.secretHash)).toBe(true);
      expect(mine.some((c) => c.deviceId === neverSeen!.id)).toBe(false);
      expect(await ctx.store.recentDeviceCredentials(1)).toHaveLength(1);
    });

    it('shows another connection (another process) the changes', async () => {
      const { device } = await ctx.seed();
      const other = await ctx.open();
      const since = (await other.credentialChangesSince(-1)).lastChange;
      await ctx.store.rotateDeviceSecret(device.id, hashSecret('n'));
      expect((await other.credentialChangesSince(since)).deviceIds).toEqual([device.id]);
    });
  });

  describe('presence', () => {
    it('writes a batch; lastSeenAt never goes backwards', async () => {
      const { a, pilot, device } = await ctx.seed();
      const d2 = await ctx.store.createDevice(pilot.id, { name: 'd2' }, hashSecret('s'));
      await ctx.store.recordPresence([
        { deviceId: device.id, online: true, lastSeenAt: 5000 },
        { deviceId: d2.id, online: true, lastSeenAt: 6000 },
      ]);
      expect((await ctx.store.getDeviceForPartner(device.id, a.id))?.status).toEqual({
        online: true,
        lastSeenAt: 5000,
      });
      await ctx.store.recordPresence([{ deviceId: device.id, online: false, lastSeenAt: 4000 }]);
      expect((await ctx.store.getDeviceForPartner(device.id, a.id))?.status).toEqual({
        online: false,
        lastSeenAt: 5000,
      });
      expect((await ctx.store.listDevices(pilot.id, { limit: 10 })).items.map((d) => d.status)).toEqual([
        { online: false, lastSeenAt: 5000 },
        { online: true, lastSeenAt: 6000 },
      ]);
      await expect(ctx.store.recordPresence([])).resolves.toBeUndefined();
    });
  });
}
