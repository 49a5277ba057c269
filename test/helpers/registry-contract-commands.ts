/**
 * The registry store contract, continued (registry-contract.ts): commands (status steps, one winner
 * per transition also across connections, expiry, late and duplicate answers, cancel, pages) and
 * device twins (merge patches with per-leaf times, versions, atomic changes across connections).
 */
import { describe, expect, it } from 'vitest';
import { TooManyOpenCommands } from '../../core/registry/command-types.js';
import { InvalidCursorError } from '../../core/registry/errors.js';
import { desiredChange, reportedChange, TwinLimitError, TwinVersionConflict } from '../../core/twin.js';
import type { RegistryContext } from './registry-contract.js';

export function describeCommandsAndTwins(ctx: RegistryContext): void {
  describeCommands(ctx);
  describeTwins(ctx);
}

async function command(ctx: RegistryContext, now = 1_000, ttlMs = 60_000) {
  const { a, device, pilot } = await ctx.seed();
  const c = await ctx.store.createCommand({
    deviceId: device.id,
    pilotId: pilot.id,
    name: 'setInterval',
    params: { ms: 500 },
    ttlMs,
    sentBy: a.id,
    now,
  });
  return { a, device, c };
}

function describeCommands(ctx: RegistryContext): void {
  describe('commands', () => {
    it('walks queued -> delivered -> succeeded with the time of each step and the sender', async () => {
      const { a, device, c } = await command(ctx);
      expect(c).toMatchObject({ status: 'queued', sentBy: a.id, queuedAt: 1_000, expiresAt: 61_000 });
      expect(c.id).toMatch(/^cmd_/);
      expect(await ctx.store.pendingCommands(device.id, 2_000, 10)).toEqual([c]);
      const other = await ctx.open();
      const delivered = await other.markCommandDelivered(c.id, 2_000);
      expect(delivered).toMatchObject({ status: 'delivered', deliveredAt: 2_000 });
      // One winner: a second delivery (another broker, a retry) gets nothing.
      expect(await ctx.store.markCommandDelivered(c.id, 2_001)).toBeUndefined();
      expect(await ctx.store.pendingCommands(device.id, 2_000, 10)).toEqual([]);
      const answer = await ctx.store.recordCommandResponse(
        device.id,
        c.id,
        { ok: true, result: { ms: 500 } },
        3_000,
      );
      expect(answer).toMatchObject({
        outcome: 'recorded',
        command: { status: 'succeeded', finishedAt: 3_000 },
      });
      expect(await other.getCommand(device.id, c.id)).toMatchObject({
        status: 'succeeded',
        result: { ms: 500 },
        params: { ms: 500 },
        deliveredAt: 2_000,
      });
    });

    it('keeps the first answer: a duplicate changes nothing, another device is unknown', async () => {
      const { device, c } = await command(ctx);
      await ctx.store.recordCommandResponse(device.id, c.id, { ok: false, result: 'busy' }, 2_000);
      const dup = await ctx.store.recordCommandResponse(device.id, c.id, { ok: true, result: 'ok' }, 2_500);
      expect(dup).toMatchObject({ outcome: 'duplicate', command: { status: 'failed', result: 'busy' } });
      expect(
        await ctx.store.recordCommandResponse('dev_other', c.id, { ok: true, result: 1 }, 2_600),
      ).toEqual({
        outcome: 'unknown',
      });
      expect(await ctx.store.getCommand('dev_other', c.id)).toBeUndefined();
    });

    it('expires queued and delivered commands past their ttl, once; a late answer is refused', async () => {
      const { device, c } = await command(ctx, 1_000, 1_000);
      const d = await command(ctx, 1_000, 5_000);
      await ctx.store.markCommandDelivered(d.c.id, 1_500);
      expect(await ctx.store.markCommandDelivered(c.id, 2_000)).toBeUndefined(); // at expiry: too late
      expect(await ctx.store.expireCommands(1_999, 10)).toEqual([]);
      const expired = await ctx.store.expireCommands(2_000, 10);
      expect(expired.map((x) => [x.id, x.status, x.finishedAt])).toEqual([[c.id, 'expired', 2_000]]);
      expect(await (await ctx.open()).expireCommands(3_000, 10)).toEqual([]);
      expect((await ctx.store.expireCommands(6_000, 10)).map((x) => x.id)).toEqual([d.c.id]);
      const late = await ctx.store.recordCommandResponse(device.id, c.id, { ok: true, result: null }, 7_000);
      expect(late).toMatchObject({ outcome: 'closed', command: { status: 'expired', result: null } });
      // Not swept yet, but past its expiry: an answer is refused too.
      const e = await command(ctx, 1_000, 1_000);
      const past = await ctx.store.recordCommandResponse(e.device.id, e.c.id, { ok: true, result: 1 }, 2_000);
      expect(past.outcome).toBe('closed');
    });

    it('cancels only a queued command', async () => {
      const { device, c } = await command(ctx);
      expect(await ctx.store.cancelCommand(device.id, c.id, 1_500)).toMatchObject({
        cancelled: true,
        command: { status: 'cancelled', finishedAt: 1_500 },
      });
      expect(await ctx.store.markCommandDelivered(c.id, 1_600)).toBeUndefined();
      const d = await command(ctx);
      await ctx.store.markCommandDelivered(d.c.id, 1_500);
      expect(await ctx.store.cancelCommand(d.device.id, d.c.id, 1_600)).toMatchObject({
        cancelled: false,
        command: { status: 'delivered' },
      });
      expect(await ctx.store.cancelCommand('dev_other', d.c.id, 1_600)).toBeUndefined();
    });

    it('caps open commands per device, also for creators racing on several connections', async () => {
      const { a, device, pilot } = await ctx.seed();
      const stores = [ctx.store, await ctx.open()];
      const input = {
        deviceId: device.id,
        pilotId: pilot.id,
        name: 'x',
        params: null,
        ttlMs: 1000,
        sentBy: a.id,
        now: 0,
        maxOpen: 3,
      };
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => stores[i % 2]!.createCommand(input)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(refused.every((r) => r.reason instanceof TooManyOpenCommands)).toBe(true);
      // An answered (or expired, cancelled) command frees its place.
      const first = (results[0] as PromiseFulfilledResult<{ id: string }>).value;
      await ctx.store.recordCommandResponse(device.id, first.id, { ok: true, result: null }, 1);
      await expect(ctx.store.createCommand(input)).resolves.toMatchObject({ status: 'queued' });
      await expect(ctx.store.createCommand(input)).rejects.toThrow(TooManyOpenCommands);
    });

    it('lists newest first in pages', async () => {
      const { a, device, pilot } = await ctx.seed();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const input = {
          deviceId: device.id,
          pilotId: pilot.id,
          name: `c${i}`,
          params: i,
          ttlMs: 1000,
          sentBy: a.id,
          now: i,
        };
        ids.push((await ctx.store.createCommand(input)).id);
      }
      const first = await ctx.store.listCommands(device.id, { limit: 3 });
      expect(first.items.map((c) => c.id)).toEqual(ids.slice(2).reverse());
      const second = await ctx.store.listCommands(device.id, { limit: 3, cursor: first.nextCursor! });
      expect(second).toMatchObject({ nextCursor: null });
      expect(second.items.map((c) => c.id)).toEqual(ids.slice(0, 2).reverse());
      expect((await ctx.store.pendingCommands(device.id, 0, 2)).map((c) => c.name)).toEqual(['c0', 'c1']);
      await expect(ctx.store.listCommands(device.id, { limit: 3, cursor: 'nope' })).rejects.toThrow(
        InvalidCursorError,
      );
    });
  });
}

function describeTwins(ctx: RegistryContext): void {
  describe('twins', () => {
    it('starts empty and merges patches with per-leaf times and versions', async () => {
      const { device } = await ctx.seed();
      expect(await ctx.store.getTwin(device.id)).toMatchObject({ desired: {}, reported: {}, version: 0 });
      await ctx.store.updateTwin(
        device.id,
        desiredChange({ interval: 1000, led: { color: 'red', on: true } }, 10),
      );
      const t = await ctx.store.updateTwin(
        device.id,
        desiredChange({ led: { on: null }, mode: 'eco' }, 20, 1),
      );
      expect(t).toMatchObject({
        desired: { interval: 1000, led: { color: 'red' }, mode: 'eco' },
        desiredMeta: { interval: 10, led: { color: 10 }, mode: 20 },
        version: 2,
      });
      await ctx.store.updateTwin(device.id, reportedChange({ interval: 1000, fw: '1.2' }, 30));
      expect(await (await ctx.open()).getTwin(device.id)).toMatchObject({
        desired: t.desired,
        reported: { interval: 1000, fw: '1.2' },
        reportedMeta: { interval: 30, fw: 30 },
        version: 2,
        reportedVersion: 1,
        updatedAt: 30,
      });
    });

    it('refuses a stale version or a refused change and stores nothing', async () => {
      const { device } = await ctx.seed();
      await ctx.store.updateTwin(device.id, desiredChange({ a: 1 }, 10, 0));
      await expect(ctx.store.updateTwin(device.id, desiredChange({ a: 2 }, 11, 0))).rejects.toThrow(
        TwinVersionConflict,
      );
      await expect(
        ctx.store.updateTwin(device.id, desiredChange({ big: 'x'.repeat(9000) }, 12, 1)),
      ).rejects.toThrow(TwinLimitError);
      expect(await ctx.store.getTwin(device.id)).toMatchObject({ desired: { a: 1 }, version: 1 });
    });

    it('applies concurrent changes from several connections one after another', async () => {
      const { device } = await ctx.seed();
      const stores = [ctx.store, await ctx.open(), await ctx.open()];
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          stores[i % 3]!.updateTwin(device.id, desiredChange({ [`k${i}`]: i }, i)),
        ),
      );
      const t = await ctx.store.getTwin(device.id);
      expect(t.version).toBe(12);
      expect(Object.keys(t.desired)).toHaveLength(12);
    });
  });
}
