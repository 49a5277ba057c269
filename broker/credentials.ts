/**
 * Verified device credentials, cached (device id -> secret digest) so a reconnect storm is not one
 * registry read per CONNECT; revocation.ts evicts rotated and deleted devices. docs/DESIGN.md.
 */
import type { DeviceLookup } from '../core/registry/types.js';
import { secretMatches } from '../core/secrets.js';

export type Credential = { pilotId: string; secretHash: string };

/**
 * Credentials read at start, of the devices seen last (revocation.ts orders the read): after a restart
 * every device reconnects at once, and a registry read per CONNECT cost a quarter of the storm's CPU
 * (bench/RESULTS.md). About 150 bytes each.
 */
export const CREDENTIAL_PRELOAD_LIMIT = 100_000;

export interface CredentialCache {
  /**
   * The credential `secret` matches, or undefined: synchronously on a cache hit, else a promise. A
   * miss or a mismatch asks the registry (the secret may have been rotated a moment ago); unknown
   * ids are not cached, so a device created a moment ago can connect.
   */
  verify(deviceId: string, secret: string): Credential | Promise<Credential | undefined>;
  remember(deviceId: string, credential: Credential): void;
  invalidate(deviceIds: Iterable<string>): void;
}

export function createCredentialCache(registry: Pick<DeviceLookup, 'getDeviceCredential'>): CredentialCache {
  const cache = new Map<string, Credential>();
  return {
    verify(deviceId, secret) {
      const cached = cache.get(deviceId);
      if (cached && secretMatches(secret, cached.secretHash)) return cached;
      return registry.getDeviceCredential(deviceId).then((row) => {
        if (!row) {
          cache.delete(deviceId);
          return undefined;
        }
        return secretMatches(secret, row.secretHash)
          ? { pilotId: row.pilotId, secretHash: row.secretHash }
          : undefined;
      });
    },
    remember: (deviceId, credential) => cache.set(deviceId, credential),
    invalidate(deviceIds) {
      for (const id of deviceIds) cache.delete(id);
    },
  };
}
