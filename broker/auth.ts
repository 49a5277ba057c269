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
import type { DeviceLookup } from '../core/registry/types.js';
import { hashSecret, secretMatches } from '../core/secrets.js';
import { SERVICE_USERNAMES } from '../core/topics.js';
import type { Identity } from './acl.js';
import { deviceSessionId, setSessionId } from './client-ids.js';
import type { AuthFailureReason, BrokerMetrics } from './metrics.js';

export const CONNACK = { identifierRejected: 2, badCredentials: 4, notAuthorized: 5 } as const;

/** Longer usernames are refused without a registry lookup; our ids are about 24 characters. */
const MAX_USERNAME_LENGTH = 128;
/** Anonymous clients must use client ids in their own namespace, so they cannot take over sessions. */
export const ANONYMOUS_CLIENT_ID_PREFIX = 'anon-';

export interface AuthDeps {
  registry: Pick<DeviceLookup, 'getDeviceCredential'>;
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

  /**
   * The credential the presented secret matches, or undefined: synchronously from the cache when it
   * matches, otherwise a promise. A miss or a mismatch asks the registry: the secret may have been
   * rotated a moment ago (before the revocation poller evicted the entry).
   */
  function verify(
    deviceId: string,
    secret: string,
  ): CachedCredential | Promise<CachedCredential | undefined> {
    const cached = cache.get(deviceId);
    if (cached && secretMatches(secret, cached.secretHash)) return cached;
    return deps.registry.getDeviceCredential(deviceId).then((row) => {
      if (!row) {
        cache.delete(deviceId);
        return undefined;
      }
      return secretMatches(secret, row.secretHash)
        ? { pilotId: row.pilotId, secretHash: row.secretHash }
        : undefined;
    });
  }

  function admitDevice(
    client: Client,
    deviceId: string,
    sentId: string,
    credential: CachedCredential | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ) {
    if (!credential) return refuse(done, CONNACK.badCredentials, 'bad_credentials');
    // Any client id; the session is the device's own (client-ids.ts). Set before aedes registers
    // the client (takeover [MQTT-3.1.4-2]) and reads or cleans its session, all keyed by client.id.
    setSessionId(client, deviceSessionId(deviceId, sentId, client.id));
    cache.set(deviceId, credential);
    const identity = {
      kind: 'device' as const,
      deviceId,
      pilotId: credential.pilotId,
      secretHash: credential.secretHash,
      revoked: false,
    };
    identities.set(client, identity);
    deps.onDeviceAuthenticated(client, identity);
    done(null, true);
  }

  /** The registry is unusable (disk, lock): "server unavailable" lets the device retry later. */
  function unavailable(
    err: unknown,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ) {
    deps.logger.error({ err }, 'registry lookup failed during CONNECT');
    const e = new Error('registry unavailable') as AuthenticateError;
    // biome-ignore lint/suspicious/noExplicitAny: see refuse()
    e.returnCode = 3 as any;
    done(e, null);
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
      // MQTT-3.1.3-8: a zero-byte client id with CleanSession = 0 gets return code 2.
      if (sentId === '' && !client.clean)
        return refuse(done, CONNACK.identifierRejected, 'client_id_rejected');

      if (username === undefined || username === '' || password === undefined) {
        if (!deps.allowAnonymous || username) return refuse(done, CONNACK.notAuthorized, 'no_credentials');
        if (sentId !== '' && !sentId.startsWith(ANONYMOUS_CLIENT_ID_PREFIX)) {
          return refuse(done, CONNACK.identifierRejected, 'client_id_rejected');
        }
        identities.set(client, { kind: 'anonymous' });
        return done(null, true);
      }
      const secret = password.toString('utf8');

      if (username === SERVICE_USERNAMES.ingest || username === SERVICE_USERNAMES.api) {
        if (!secretMatches(secret, serviceSecretHash)) {
          return refuse(done, CONNACK.badCredentials, 'bad_credentials');
        }
        identities.set(client, {
          kind: 'service',
          service: username === SERVICE_USERNAMES.ingest ? 'ingest' : 'api',
        });
        return done(null, true);
      }

      if (username.length > MAX_USERNAME_LENGTH)
        return refuse(done, CONNACK.badCredentials, 'bad_credentials');
      let verified: ReturnType<typeof verify>;
      try {
        verified = verify(username, secret);
      } catch (err) {
        return unavailable(err, done);
      }
      if (!(verified instanceof Promise)) return admitDevice(client, username, sentId, verified, done);
      verified.then(
        (credential) => admitDevice(client, username, sentId, credential, done),
        (err) => unavailable(err, done),
      );
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
