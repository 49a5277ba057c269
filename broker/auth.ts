/**
 * CONNECT authentication [MQTT-3.1.4-2, 3.2.2.3]: username = device id, password = its secret (a
 * SHA-256 digest compare, credentials.ts); the platform's services log in with the service secret.
 * Return codes: 2 identifier rejected, 3 registry unavailable, 4 bad credentials, 5 none given.
 */
import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { Logger } from '../core/log.js';
import type { DeviceLookup } from '../core/registry/types.js';
import { hashSecret, secretMatches } from '../core/secrets.js';
import { SERVICE_USERNAMES } from '../core/topics.js';
import type { Identity } from './acl.js';
import { CONNACK, connackError, setSessionId } from './aedes-internals.js';
import { deviceSessionId } from './client-ids.js';
import { type Credential, createCredentialCache } from './credentials.js';
import type { AuthFailureReason, BrokerMetrics } from './metrics.js';

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

type Done = (error: AuthenticateError | null, success: boolean | null) => void;

export function createAuthenticator(deps: AuthDeps) {
  const credentials = createCredentialCache(deps.registry);
  const serviceSecretHash = hashSecret(deps.serviceSecret);
  const identities = new WeakMap<Client, Identity>();
  /** The client id as sent: aedes replaces an empty one with `aedes_<uuid>` before authenticate. */
  const sentClientIds = new WeakMap<Client, string>();

  function refuse(done: Done, returnCode: 2 | 4 | 5, reason: AuthFailureReason) {
    deps.metrics.authFailures.inc({ reason });
    done(connackError(reason, returnCode), null);
  }

  function unavailable(err: unknown, done: Done) {
    deps.logger.error({ err }, 'registry lookup failed during CONNECT');
    done(connackError('registry unavailable', CONNACK.serverUnavailable), null);
  }

  function admitDevice(client: Client, deviceId: string, credential: Credential | undefined, done: Done) {
    if (!credential) return refuse(done, CONNACK.badCredentials, 'bad_credentials');
    // Before aedes registers the client and reads or cleans its session, all keyed by client.id.
    const sentId = sentClientIds.get(client) ?? client.id;
    setSessionId(client, deviceSessionId(deviceId, sentId, client.id));
    credentials.remember(deviceId, credential);
    const identity = { kind: 'device' as const, deviceId, ...credential, revoked: false };
    identities.set(client, identity);
    deps.onDeviceAuthenticated(client, identity);
    done(null, true);
  }

  function authenticateDevice(client: Client, deviceId: string, secret: string, done: Done) {
    if (deviceId.length > MAX_USERNAME_LENGTH) return refuse(done, CONNACK.badCredentials, 'bad_credentials');
    let verified: ReturnType<typeof credentials.verify>;
    try {
      verified = credentials.verify(deviceId, secret);
    } catch (err) {
      return unavailable(err, done);
    }
    // A cache hit answers in this turn: a reconnect storm costs no await per CONNECT.
    if (!(verified instanceof Promise)) return admitDevice(client, deviceId, verified, done);
    verified.then(
      (credential) => admitDevice(client, deviceId, credential, done),
      (err) => unavailable(err, done),
    );
  }

  function authenticateService(client: Client, username: string, secret: string, done: Done) {
    if (!secretMatches(secret, serviceSecretHash))
      return refuse(done, CONNACK.badCredentials, 'bad_credentials');
    identities.set(client, {
      kind: 'service',
      service: username === SERVICE_USERNAMES.ingest ? 'ingest' : 'api',
    });
    done(null, true);
  }

  function authenticateAnonymous(client: Client, username: string | undefined, done: Done) {
    if (!deps.allowAnonymous || username) return refuse(done, CONNACK.notAuthorized, 'no_credentials');
    const sentId = sentClientIds.get(client) ?? client.id;
    if (sentId !== '' && !sentId.startsWith(ANONYMOUS_CLIENT_ID_PREFIX)) {
      return refuse(done, CONNACK.identifierRejected, 'client_id_rejected');
    }
    identities.set(client, { kind: 'anonymous' });
    done(null, true);
  }

  return {
    identityOf: (client: Client | null): Identity | undefined =>
      client ? identities.get(client) : undefined,

    /** Drops cached credentials of devices whose secret changed. */
    invalidate: (deviceIds: Iterable<string>) => credentials.invalidate(deviceIds),

    preConnect(client: Client, packet: ConnectPacket, done: (error: Error | null, success: boolean) => void) {
      sentClientIds.set(client, packet.clientId ?? '');
      done(null, true);
    },

    authenticate(
      client: Client,
      username: Readonly<string | undefined>,
      password: Readonly<Buffer | undefined>,
      done: Done,
    ) {
      // [MQTT-3.1.3-8]: a zero-byte client id with CleanSession = 0 gets return code 2.
      if ((sentClientIds.get(client) ?? client.id) === '' && !client.clean)
        return refuse(done, CONNACK.identifierRejected, 'client_id_rejected');
      if (username === undefined || username === '' || password === undefined) {
        return authenticateAnonymous(client, username, done);
      }
      const secret = password.toString('utf8');
      if (username === SERVICE_USERNAMES.ingest || username === SERVICE_USERNAMES.api) {
        return authenticateService(client, username, secret, done);
      }
      authenticateDevice(client, username, secret, done);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
