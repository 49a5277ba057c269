/**
 * Device presence: online while at least one connection of the device is up; `lastSeenAt` moves on
 * connect, on every publish and on every PINGREQ. Kept in memory and written to the registry in one
 * transaction per flush (about every second), so a busy device costs one row update per second, not
 * one per message. With several broker nodes each reports as its node (core/registry/types.ts).
 */
import type { Logger } from '../core/log.js';
import type { PresenceStore } from '../core/registry/types.js';

type PresenceUpdate = { deviceId: string; online: boolean; lastSeenAt: number };

export class PresenceTracker {
  private readonly connections = new Map<string, number>();
  private dirty = new Map<string, PresenceUpdate>();

  constructor(
    private readonly store: Pick<PresenceStore, 'recordPresence'>,
    private readonly logger: Logger,
    /** This broker node (cluster mode): the store keeps each node's connections apart. */
    private readonly node?: string,
  ) {}

  connected(deviceId: string, at: number): void {
    this.connections.set(deviceId, (this.connections.get(deviceId) ?? 0) + 1);
    this.dirty.set(deviceId, { deviceId, online: true, lastSeenAt: at });
  }

  disconnected(deviceId: string, at: number): void {
    const left = (this.connections.get(deviceId) ?? 1) - 1;
    if (left > 0) {
      this.connections.set(deviceId, left);
      this.seen(deviceId, at);
      return;
    }
    this.connections.delete(deviceId);
    this.dirty.set(deviceId, { deviceId, online: false, lastSeenAt: at });
  }

  seen(deviceId: string, at: number): void {
    const entry = this.dirty.get(deviceId);
    if (entry) entry.lastSeenAt = at;
    else this.dirty.set(deviceId, { deviceId, online: this.connections.has(deviceId), lastSeenAt: at });
  }

  /** Reports every live connection again (the store cleared this node's after it looked dead). */
  reportAll(at: number): void {
    for (const deviceId of this.connections.keys())
      this.dirty.set(deviceId, { deviceId, online: true, lastSeenAt: at });
  }

  isOnline(deviceId: string): boolean {
    return this.connections.has(deviceId);
  }

  async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    const batch = [...this.dirty.values()];
    this.dirty = new Map();
    try {
      await this.store.recordPresence(batch, this.node);
    } catch (err) {
      // Keep the updates for the next flush unless newer ones arrived meanwhile.
      for (const u of batch) if (!this.dirty.has(u.deviceId)) this.dirty.set(u.deviceId, u);
      this.logger.warn({ err, count: batch.length }, 'could not record device presence; will retry');
    }
  }
}
