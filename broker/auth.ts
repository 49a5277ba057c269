/**
 * CONNECT authentication: username = device id, password = device secret (contract, MQTT section).
 *
 * Device secrets are 256-bit random values stored as SHA-256 digests (core/secrets.ts), so a check
 * is one SHA-256 and a constant-time compare. Verified credentials are cached (device id -> stored
 * digest), so a reconnect storm of the whole fleet does not turn into one SQLite read per CONNECT;
 * the revocation poller (revocation.ts) evicts entries when a secret is rotated or a device deleted.
 * Unknown ids are not cached: a device created a moment ago must be able to connect; and a secret that
 * does not match a cached digest is checked against the registry once more, so a device that was just
 * given a new secret gets in before the poller has evicted the old digest.
 *
 * Client ids: a device may send any id (client-ids.ts keys its session by device id and that id);
 * anonymous clients keep to their own `anon-` namespace.
 *
 * CONNACK return codes (MQTT 3.1.1 section 3.2.2.3; numbers, because aedes' `AuthErrorCode` is a
 * const enum that does not exist at run time under tsx): 2 identifier rejected, 4 bad user name or
 * password (also for unknown and deleted devices: no way to probe which ids exist), 5 not authorized
 * (no credentials at all while anonymous access is off).
 */
import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { Logger } from '../core/log.js';
import type { DeviceAuthStore } from '../core/registry/types.js';
import { hashSecret, secretMatches } from '../core/secrets.js';
import { SERVICE_USERNAMES } from '../core/topics.js';
import type { Identity } from './acl.js';
import { deviceSessionId, setSessionId } from './client-ids.js';
import { logConnackRefusal, type RefusalCause } from './connack-log.js';
import type { AuthFailureReason, BrokerMetrics } from './metrics.js';

export const CONNACK = { identifierRejected: 2, badCredentials: 4, notAuthorized: 5 } as const;

/** Longer usernames are refused without a registry lookup; our ids are about 24 characters. */
const MAX_USERNAME_LENGTH = 128;
/** Anonymous clients must use client ids in their own namespace, so they cannot take over sessions. */
export const ANONYMOUS_CLIENT_ID_PREFIX = 'anon-';

export interface AuthDeps {
  registry: Pick<DeviceAuthStore, 'getDeviceCredential'>;
  serviceSecret: string;
  allowAnonymous: boolean;
  metrics: BrokerMetrics;
  logger: Logger;
  /** Called for each authenticated device connection (the revocation index keeps it). */
  onDeviceAuthenticated: (client: Client, identity: Extract<Identity, { kind: 'device' }>) => void;
}

type CachedCredential = { pilotId: string; secretHash: string };

export function createAuthenticator(deps: AuthDeps) {
  const cache = new Map<string, CachedCredential>();
  const serviceSecretHash = hashSecret(deps.serviceSecret);
  const identities = new WeakMap<Client, Identity>();
  /** The client id as sent: aedes replaces an empty one with `aedes_<uuid>` before authenticate. */
  const sentClientIds = new WeakMap<Client, string>();

  function refuse(
    done: (error: AuthenticateError | null, success: boolean | null) => void,
    returnCode: 2 | 4 | 5,
    reason: AuthFailureReason,
  ) {
    deps.metrics.authFailures.inc({ reason });
    const err = new Error(reason) as AuthenticateError;
    // biome-ignore lint/suspicious/noExplicitAny: AuthErrorCode is a const enum; the numbers are the wire values
    err.returnCode = returnCode as any;
    done(err, null);
  }

  function fromRegistry(deviceId: string): CachedCredential | undefined {
    const row = deps.registry.getDeviceCredential(deviceId);
    return row ? { pilotId: row.pilotId, secretHash: row.secretHash } : undefined;
  }

  /** The credential the presented secret matches, or undefined. */
  function verify(deviceId: string, secret: string): CachedCredential | undefined {
    const cached = cache.get(deviceId);
    if (cached && secretMatches(secret, cached.secretHash)) return cached;
    // A miss, or a cached digest that does not match: the secret may have been rotated a moment ago
    // (before the revocation poller evicted the entry), so ask the registry.
    const current = fromRegistry(deviceId);
    if (!current) {
      cache.delete(deviceId);
      return undefined;
    }
    return secretMatches(secret, current.secretHash) ? current : undefined;
  }

  /** Why a device's credentials failed, for the log (one more registry read, on failures only). */
  function whyNot(username: string): RefusalCause {
    if (!/^dev_[a-z2-7]{20}$/.test(username)) return 'not_a_device_id';
    try {
      return fromRegistry(username) ? 'wrong_secret' : 'unknown_device';
    } catch {
      return 'unknown_device';
    }
  }

  return {
    identityOf: (client: Client | null): Identity | undefined =>
      client ? identities.get(client) : undefined,

    /** Drops cached credentials of devices whose secret changed. */
    invalidate(deviceIds: Iterable<string>) {
      for (const id of deviceIds) cache.delete(id);
    },

    preConnect(client: Client, packet: ConnectPacket, done: (error: Error | null, success: boolean) => void) {
      sentClientIds.set(client, packet.clientId ?? '');
      done(null, true);
    },

    authenticate(
      client: Client,
      username: Readonly<string | undefined>,
      password: Readonly<Buffer | undefined>,
      done: (error: AuthenticateError | null, success: boolean | null) => void,
    ) {
      const sentId = sentClientIds.get(client) ?? client.id;
      const deny = (code: 2 | 4 | 5, reason: AuthFailureReason, cause: RefusalCause) => {
        logConnackRefusal(deps.logger, client, cause, username, sentId);
        refuse(done, code, reason);
      };
      // MQTT-3.1.3-8: a zero-byte client id with CleanSession = 0 gets return code 2.
      if (sentId === '' && !client.clean)
        return deny(CONNACK.identifierRejected, 'client_id_rejected', 'empty_client_id_persistent');

      if (username === undefined || username === '' || password === undefined) {
        if (!deps.allowAnonymous || username)
          return deny(CONNACK.notAuthorized, 'no_credentials', 'no_credentials');
        if (sentId !== '' && !sentId.startsWith(ANONYMOUS_CLIENT_ID_PREFIX)) {
          return deny(CONNACK.identifierRejected, 'client_id_rejected', 'anonymous_client_id');
        }
        identities.set(client, { kind: 'anonymous' });
        return done(null, true);
      }
      const secret = password.toString('utf8');

      if (username === SERVICE_USERNAMES.ingest || username === SERVICE_USERNAMES.api) {
        if (!secretMatches(secret, serviceSecretHash)) {
          return deny(CONNACK.badCredentials, 'bad_credentials', 'wrong_service_secret');
        }
        identities.set(client, {
          kind: 'service',
          service: username === SERVICE_USERNAMES.ingest ? 'ingest' : 'api',
        });
        return done(null, true);
      }

      if (username.length > MAX_USERNAME_LENGTH)
        return deny(CONNACK.badCredentials, 'bad_credentials', 'not_a_device_id');
      let credential: CachedCredential | undefined;
      try {
        credential = verify(username, secret);
      } catch (err) {
        // The registry is unusable (disk, lock): "server unavailable" lets the device retry later.
        deps.logger.error({ err }, 'registry lookup failed during CONNECT');
        logConnackRefusal(deps.logger, client, 'registry_unavailable', username, sentId);
        const e = new Error('registry unavailable') as AuthenticateError;
        // biome-ignore lint/suspicious/noExplicitAny: see refuse()
        e.returnCode = 3 as any;
        return done(e, null);
      }
      if (!credential) return deny(CONNACK.badCredentials, 'bad_credentials', whyNot(username));
      // Any client id; the session is the device's own (client-ids.ts). Set before aedes registers
      // the client (takeover [MQTT-3.1.4-2]) and reads or cleans its session, all keyed by client.id.
      setSessionId(client, deviceSessionId(username, sentId, client.id));
      cache.set(username, credential);
      const identity = {
        kind: 'device' as const,
        deviceId: username,
        pilotId: credential.pilotId,
        secretHash: credential.secretHash,
        revoked: false,
      };
      identities.set(client, identity);
      deps.onDeviceAuthenticated(client, identity);
      done(null, true);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
