/**
 * Revocation: rotating a device's secret or deleting the device drops its live connections within a
 * second, also when the API that made the change runs in another process. The registry numbers every
 * credential change; this poller asks for changes after the last one it saw every `intervalMs`
 * (250 ms: a cheap indexed read), evicts those devices from the credential cache, and closes each live
 * connection whose secret no longer matches the registry. A connection that already uses the new
 * secret (the device reconnected right after a rotation) is left alone.
 */
import type { Client } from 'aedes';
import type { Logger } from '../core/log.js';
import type { CredentialChangeLog, DeviceLookup } from '../core/registry/types.js';
import type { Identity } from './acl.js';

type DeviceIdentity = Extract<Identity, { kind: 'device' }>;

/** Live device connections by device id. */
export class DeviceSessions {
  private readonly byDevice = new Map<string, Map<Client, DeviceIdentity>>();

  add(client: Client, identity: DeviceIdentity): void {
    let clients = this.byDevice.get(identity.deviceId);
    if (!clients) {
      clients = new Map();
      this.byDevice.set(identity.deviceId, clients);
    }
    clients.set(client, identity);
    // 'close' of the socket covers every end, also one before aedes registered the client.
    client.conn.once('close', () => this.remove(client, identity.deviceId));
  }

  remove(client: Client, deviceId: string): void {
    const clients = this.byDevice.get(deviceId);
    if (!clients) return;
    clients.delete(client);
    if (clients.size === 0) this.byDevice.delete(deviceId);
  }

  of(deviceId: string): [Client, DeviceIdentity][] {
    return [...(this.byDevice.get(deviceId) ?? [])];
  }
}

export interface RevocationDeps {
  registry: CredentialChangeLog & Pick<DeviceLookup, 'getDeviceCredential'>;
  sessions: DeviceSessions;
  invalidate: (deviceIds: string[]) => void;
  /**
   * Fills the credential cache at start. It runs after the change log's head is read, so a change
   * made while it reads is replayed by the first poll and evicts what it loaded.
   */
  preload?: () => Promise<void>;
  onRevoked: (client: Client, identity: DeviceIdentity) => void;
  logger: Logger;
  intervalMs?: number;
}

export async function startRevocationPoller(
  deps: RevocationDeps,
): Promise<{ stop(): void; pollNow(): Promise<void> }> {
  // -1: the store answers with its head, so changes made before this broker started are not replayed.
  let since = (await deps.registry.credentialChangesSince(-1)).lastChange;
  // Only a head start: a store that cannot answer now is asked per CONNECT as before.
  await deps.preload?.().catch((err) => deps.logger.warn({ err }, 'credential preload failed'));
  let polling: Promise<void> | undefined;

  async function poll() {
    for (;;) {
      const { lastChange, deviceIds } = await deps.registry.credentialChangesSince(since);
      const advanced = lastChange !== since;
      since = lastChange;
      if (deviceIds.length === 0 || !advanced) return;
      deps.invalidate(deviceIds);
      for (const deviceId of deviceIds) {
        if (deps.sessions.of(deviceId).length === 0) continue;
        const current = await deps.registry.getDeviceCredential(deviceId);
        for (const [client, identity] of deps.sessions.of(deviceId)) {
          if (current && current.secretHash === identity.secretHash) continue;
          identity.revoked = true;
          deps.onRevoked(client, identity);
          client.close();
        }
      }
    }
  }

  /** One poll at a time; a call during a poll waits for it. */
  function safePoll(): Promise<void> {
    polling ??= poll()
      .catch((err) => deps.logger.warn({ err }, 'credential change poll failed; retrying'))
      .finally(() => {
        polling = undefined;
      });
    return polling;
  }

  const timer = setInterval(safePoll, deps.intervalMs ?? 250);
  timer.unref();
  return { stop: () => clearInterval(timer), pollNow: safePoll };
}
