/**
 * CONNECT authentication [MQTT-3.1.4-2, 3.2.2.3]: username = device id, password = its secret (a
 * SHA-256 digest compare, credentials.ts); the platform's services log in with the service secret.
 * Return codes: 2 identifier rejected, 3 registry unavailable, 4 bad credentials, 5 none given.
 */
import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { Logger } from '../core/log.js';
import type { DeviceCredential, DeviceLookup } from '../core/registry/types.js';
import { hashSecret, secretMatches } from '../core/secrets.js';
import { SERVICE_USERNAMES } from '../core/topics.js';
import type { Identity } from './acl.js';
import { CONNACK, connackError, setSessionId } from './aedes-internals.js';
import { deviceSessionId } from './client-ids.js';
import { logConnackRefusal, type RefusalCause } from './connack-log.js';
import { type Credential, type CredentialCache, createCredentialCache } from './credentials.js';
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

/** What the steps share. */
interface Ctx {
  deps: AuthDeps;
  credentials: CredentialCache;
  serviceSecretHash: string;
  identities: WeakMap<Client, Identity>;
  /** The client id as sent: aedes replaces an empty one with `aedes_<uuid>` before authenticate. */
  sentClientIds: WeakMap<Client, string>;
}

export function createAuthenticator(deps: AuthDeps) {
  const ctx: Ctx = {
    deps,
    credentials: createCredentialCache(deps.registry),
    serviceSecretHash: hashSecret(deps.serviceSecret),
    identities: new WeakMap(),
    sentClientIds: new WeakMap(),
  };
  return {
    identityOf: (client: Client | null): Identity | undefined =>
      client ? ctx.identities.get(client) : undefined,

    /** Drops cached credentials of devices whose secret changed. */
    invalidate: (deviceIds: Iterable<string>) => ctx.credentials.invalidate(deviceIds),

    /** Caches credentials read ahead (the broker's start: revocation.ts orders it with the change log). */
    remember(credentials: readonly DeviceCredential[]) {
      for (const c of credentials)
        ctx.credentials.remember(c.deviceId, { pilotId: c.pilotId, secretHash: c.secretHash });
    },

    preConnect(client: Client, packet: ConnectPacket, done: (error: Error | null, success: boolean) => void) {
      ctx.sentClientIds.set(client, packet.clientId ?? '');
      done(null, true);
    },

    authenticate(
      client: Client,
      username: Readonly<string | undefined>,
      password: Readonly<Buffer | undefined>,
      done: Done,
    ) {
      // [MQTT-3.1.3-8]: a zero-byte client id with CleanSession = 0 gets return code 2.
      if (sentIdOf(ctx, client) === '' && !client.clean) {
        const why = { client, username, cause: 'empty_client_id_persistent' } as const;
        return refuse(ctx, done, CONNACK.identifierRejected, 'client_id_rejected', why);
      }
      if (username === undefined || username === '' || password === undefined) {
        return authenticateAnonymous(ctx, client, username, done);
      }
      const secret = password.toString('utf8');
      if (username === SERVICE_USERNAMES.ingest || username === SERVICE_USERNAMES.api) {
        return authenticateService(ctx, client, username, secret, done);
      }
      authenticateDevice(ctx, client, username, secret, done);
    },
  };
}

const sentIdOf = (ctx: Ctx, client: Client) => ctx.sentClientIds.get(client) ?? client.id;

/** A refused CONNECT, for the log (connack-log.ts). */
interface Refusal {
  client: Client;
  username: string | undefined;
  cause: RefusalCause;
}

function refuse(ctx: Ctx, done: Done, returnCode: 2 | 4 | 5, reason: AuthFailureReason, why: Refusal) {
  logConnackRefusal(ctx.deps.logger, why.client, why.cause, why.username, sentIdOf(ctx, why.client));
  ctx.deps.metrics.authFailures.inc({ reason });
  done(connackError(reason, returnCode), null);
}

function unavailable(ctx: Ctx, err: unknown, client: Client, deviceId: string, done: Done) {
  ctx.deps.logger.error({ err }, 'registry lookup failed during CONNECT');
  logConnackRefusal(ctx.deps.logger, client, 'registry_unavailable', deviceId, sentIdOf(ctx, client));
  done(connackError('registry unavailable', CONNACK.serverUnavailable), null);
}

/** Why a device's credentials failed, for the log (one more registry read, on failures only). */
async function whyNot(ctx: Ctx, deviceId: string): Promise<RefusalCause> {
  if (!/^dev_[a-z2-7]{20}$/.test(deviceId)) return 'not_a_device_id';
  try {
    return (await ctx.deps.registry.getDeviceCredential(deviceId)) ? 'wrong_secret' : 'unknown_device';
  } catch {
    return 'unknown_device';
  }
}

function authenticateDevice(ctx: Ctx, client: Client, deviceId: string, secret: string, done: Done) {
  if (deviceId.length > MAX_USERNAME_LENGTH) {
    const why = { client, username: deviceId, cause: 'not_a_device_id' } as const;
    return refuse(ctx, done, CONNACK.badCredentials, 'bad_credentials', why);
  }
  let verified: ReturnType<CredentialCache['verify']>;
  try {
    verified = ctx.credentials.verify(deviceId, secret);
  } catch (err) {
    return unavailable(ctx, err, client, deviceId, done);
  }
  // A cache hit answers in this turn: a reconnect storm costs no await per CONNECT.
  if (!(verified instanceof Promise)) return admitDevice(ctx, client, deviceId, verified, done);
  verified.then(
    (credential) => admitDevice(ctx, client, deviceId, credential, done),
    (err) => unavailable(ctx, err, client, deviceId, done),
  );
}

function admitDevice(
  ctx: Ctx,
  client: Client,
  deviceId: string,
  credential: Credential | undefined,
  done: Done,
) {
  if (!credential) {
    void whyNot(ctx, deviceId).then((cause) =>
      refuse(ctx, done, CONNACK.badCredentials, 'bad_credentials', { client, username: deviceId, cause }),
    );
    return;
  }
  // Before aedes registers the client and reads or cleans its session, all keyed by client.id.
  setSessionId(client, deviceSessionId(deviceId, sentIdOf(ctx, client), client.id));
  ctx.credentials.remember(deviceId, credential);
  const identity = { kind: 'device' as const, deviceId, ...credential, revoked: false };
  ctx.identities.set(client, identity);
  ctx.deps.onDeviceAuthenticated(client, identity);
  done(null, true);
}

function authenticateService(ctx: Ctx, client: Client, username: string, secret: string, done: Done) {
  if (!secretMatches(secret, ctx.serviceSecretHash)) {
    const why = { client, username, cause: 'wrong_service_secret' } as const;
    return refuse(ctx, done, CONNACK.badCredentials, 'bad_credentials', why);
  }
  const service = username === SERVICE_USERNAMES.ingest ? 'ingest' : 'api';
  ctx.identities.set(client, { kind: 'service', service });
  done(null, true);
}

function authenticateAnonymous(ctx: Ctx, client: Client, username: string | undefined, done: Done) {
  if (!ctx.deps.allowAnonymous || username) {
    const why = { client, username, cause: 'no_credentials' } as const;
    return refuse(ctx, done, CONNACK.notAuthorized, 'no_credentials', why);
  }
  const sentId = sentIdOf(ctx, client);
  if (sentId !== '' && !sentId.startsWith(ANONYMOUS_CLIENT_ID_PREFIX)) {
    const why = { client, username, cause: 'anonymous_client_id' } as const;
    return refuse(ctx, done, CONNACK.identifierRejected, 'client_id_rejected', why);
  }
  ctx.identities.set(client, { kind: 'anonymous' });
  done(null, true);
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
