/**
 * The MQTT broker (aedes 1.2 on a plain TCP server): device authentication, topic ACL, the durable
 * hand-off of telemetry to ingest (committed to the telemetry spool in DATA_DIR before the PUBACK),
 * presence, revocation, limits and metrics. See publish.ts for the data path and spool-appender.ts for
 * group commit and backpressure.
 */
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { Aedes, type AuthorizeSubscribeHandler } from 'aedes';
import { Registry } from 'prom-client';
import type { BrokerConfig, CommonConfig, JournalConfig, MqttConfig } from '../core/config.js';
import { openDataDirJournal } from '../core/journal/sqlite.js';
import type { JournalAppender } from '../core/journal/types.js';
import { type Logger, silentLogger } from '../core/log.js';
import type {
  CredentialChangeLog,
  DeviceErrorLog,
  DeviceLookup,
  PresenceStore,
} from '../core/registry/types.js';
import { SPOOL_STATE_TOPIC } from '../core/topics.js';
import { listenerUrl } from '../core/urls.js';
import { mayReceive, maySubscribe, topicLevels } from './acl.js';
import { createAuthenticator } from './auth.js';
import { createConnectThrottle } from './connect-throttle.js';
import { DeviceErrorBuffer } from './device-errors.js';
import { createGroupCommit } from './group-commit.js';
import { withKeepaliveCap } from './keepalive.js';
import { createDeviceThrottle } from './limits.js';
import { createBrokerMetrics } from './metrics.js';
import { openBrokerPersistence } from './persistence.js';
import { PresenceTracker } from './presence.js';
import { createAuthorizePublish } from './publish.js';
import { createRetainedQuota, type RetainedSource } from './retained-quota.js';
import { DeviceSessions, startRevocationPoller } from './revocation.js';

/** The registry facets the broker uses. */
export type BrokerRegistry = Pick<DeviceLookup, 'getDeviceCredential'> &
  CredentialChangeLog &
  PresenceStore &
  DeviceErrorLog;

export interface BrokerDeps {
  registry: BrokerRegistry;
  /** Where accepted telemetry goes before its PUBACK; default the SQLite journal in DATA_DIR (closed by the broker). */
  journal?: JournalAppender;
  logger?: Logger;
  /** Password of the `svc:ingest` and `svc:api` logins (core/secrets.ts loadOrCreateServiceSecret). */
  serviceSecret: string;
  /** Where the broker's metrics go; a private registry when omitted. */
  metrics?: Registry;
  now?: () => number;
  /** How often credential changes are polled (default 250 ms). */
  revocationPollMs?: number;
  /** How often presence and device errors are written (default 1000 ms). */
  flushMs?: number;
}

export interface RunningBroker {
  address: { host: string; port: number; url: string };
  aedes: Aedes;
  /** True while PUBACKs of telemetry are held because the journal is full (group-commit.ts). */
  telemetryHeld(): boolean;
  close(): Promise<void>;
}

/** A refused filter is stored under this (see authorizeSubscribe); nothing is ever published there. */
const REFUSED_FILTER = '$platform/refused';

export async function startBroker(
  config: {
    common: CommonConfig;
    mqtt: MqttConfig;
    broker: BrokerConfig;
    journal: JournalConfig;
  },
  deps: BrokerDeps,
): Promise<RunningBroker> {
  const logger = deps.logger ?? silentLogger();
  const now = deps.now ?? Date.now;
  const ownJournal = deps.journal ? undefined : openDataDirJournal(config.common.dataDir);
  const journal = (deps.journal ?? ownJournal) as JournalAppender;
  let announceSpoolState = (_full: boolean) => {};
  const appender = createGroupCommit(journal, {
    maxMessages: config.journal.maxMessages,
    logger,
    onHeldChange: (full) => announceSpoolState(full),
  });
  const metrics = createBrokerMetrics(deps.metrics ?? new Registry(), { telemetryHeld: appender.held });
  let store: Awaited<ReturnType<typeof openBrokerPersistence>>;
  try {
    store = await openBrokerPersistence(config.broker.persistence, config.common.dataDir);
  } catch (err) {
    await appender.close();
    await ownJournal?.close();
    throw err;
  }

  const errors = new DeviceErrorBuffer(deps.registry, logger, now);
  const presence = new PresenceTracker(deps.registry, logger);
  const throttle = createDeviceThrottle({
    ratePerSecond: config.broker.deviceMaxMessagesPerSecond,
    burst: config.broker.deviceBurstMessages,
    metrics,
    errors,
    now,
  });
  const sessions = new DeviceSessions();
  const auth = createAuthenticator({
    registry: deps.registry,
    serviceSecret: deps.serviceSecret,
    allowAnonymous: config.broker.allowAnonymous,
    metrics,
    logger,
    onDeviceAuthenticated: (client, identity) => sessions.add(client, identity),
  });

  const connectThrottle = createConnectThrottle({
    maxDelayMs: config.broker.authFailureMaxDelayMs,
    now,
    onDelay: () => metrics.connacksDelayed.inc(),
  });
  const retained = createRetainedQuota({
    maxCount: config.broker.retainedMaxPerDevice,
    maxBytes: config.broker.retainedMaxBytesPerDevice,
  });

  const authorizeSubscribe: AuthorizeSubscribeHandler = (client, sub, callback) => {
    const identity = auth.identityOf(client);
    const tooDeep = identity?.kind !== 'service' && topicLevels(sub.topic) > config.broker.maxTopicLevels;
    const granted = identity !== undefined && !tooDeep && maySubscribe(identity, sub.topic);
    if (!granted) {
      metrics.subscriptionsRefused.inc();
      logger.debug({ clientId: client.id, filter: sub.topic }, 'subscription refused');
      // aedes 1.2 stores *all* filters of a SUBSCRIBE packet for a persistent session as soon as one
      // is granted (lib/handlers/subscribe.js line 134 passes packet.subscriptions), refused ones
      // included, and this object is the one in that list. Pointing it at a topic nobody publishes to
      // keeps a refused filter from making the session queue other clients' messages on disk.
      sub.topic = REFUSED_FILTER;
      sub.qos = 0;
    }
    // aedes judges the filters of one packet in a synchronous loop (runParallel); answering on the
    // next tick lets every refused filter of the packet be rewritten before any of them is stored.
    process.nextTick(() => callback(null, granted ? sub : null)); // null: SUBACK 0x80 (MQTT 3.1.1 3.9.3)
  };

  let broker: Aedes | undefined;
  const aedes = new Aedes({
    persistence: store.persistence,
    connectTimeout: config.broker.connectTimeoutMs,
    // Applies to MQTT 3.1 clients only; any id a UTF-8 string can hold, as for 3.1.1 (client-ids.ts).
    maxClientsIdLength: 65_535,
    // aedes disconnects a client past this; our own, configurable limit (maxTopicLevels) is
    // enforced in the hooks with a device error instead. 100 is aedes' ceiling.
    maxTopicLevels: 100,
    preConnect: withKeepaliveCap(auth.preConnect, config.broker.maxKeepaliveSeconds),
    authenticate: connectThrottle.wrap(auth.authenticate),
    authorizePublish: createAuthorizePublish({
      broker: () => broker!,
      journal: appender,
      identityOf: auth.identityOf,
      limits: config.broker,
      throttle,
      errors,
      presence,
      retained,
      metrics,
      logger,
      now,
    }),
    authorizeSubscribe,
    authorizeForward(client, packet) {
      const identity = auth.identityOf(client);
      if (!identity || !mayReceive(identity, packet.topic)) return null;
      metrics.messagesOut.inc();
      return packet;
    },
  });
  broker = aedes;
  await aedes.listen();
  // aedes sets `persistence` in listen() (the default memory one too); its types do not declare it.
  const persistence = (aedes as unknown as { persistence: unknown }).persistence;
  // Retained, so an API that connects later learns it too; a previous run's state is replaced at start.
  announceSpoolState = (full) =>
    aedes.publish(
      {
        cmd: 'publish',
        topic: SPOOL_STATE_TOPIC,
        payload: Buffer.from(JSON.stringify({ full })),
        qos: 0,
        retain: true,
        dup: false,
      },
      (err?: Error) => err && logger.warn({ err }, 'could not announce the spool state'),
    );
  announceSpoolState(appender.held());
  // Presence from before a crash is stale: connected devices are marked online again as they reconnect.
  await deps.registry.markAllOffline();

  // 'client' (registered) and 'clientDisconnect' (unregistered) pair up one to one in aedes
  // (aedes.js registerClient/unregisterClient), so the gauge and presence counts cannot drift.
  aedes.on('client', (client) => {
    metrics.connections.inc();
    const identity = auth.identityOf(client);
    if (identity?.kind === 'device') presence.connected(identity.deviceId, now());
  });
  aedes.on('clientDisconnect', (client) => {
    metrics.connections.dec();
    const identity = auth.identityOf(client);
    if (identity?.kind === 'device') presence.disconnected(identity.deviceId, now());
  });
  aedes.on('ping', (_packet, client) => {
    const identity = auth.identityOf(client);
    if (identity?.kind === 'device') presence.seen(identity.deviceId, now());
  });
  aedes.on('clientError', (client, err) =>
    logger.debug({ clientId: client.id, err: err.message }, 'client error'),
  );
  aedes.on('connectionError', (_client, err) => logger.debug({ err: err.message }, 'connection error'));
  // Persistence failures surface here; without a listener EventEmitter would throw.
  (aedes as EventEmitter).on('error', (err: Error) => logger.error({ err }, 'broker error'));

  const revocation = await startRevocationPoller({
    registry: deps.registry,
    sessions,
    invalidate: (ids) => auth.invalidate(ids),
    onRevoked: (client, identity) => {
      metrics.sessionsRevoked.inc();
      logger.info({ deviceId: identity.deviceId, clientId: client.id }, 'dropping revoked device connection');
    },
    logger,
    intervalMs: deps.revocationPollMs ?? 250,
  });
  const flushTimer = setInterval(() => {
    void presence.flush();
    void errors.flush();
    throttle.prune();
  }, deps.flushMs ?? 1000);
  flushTimer.unref();

  const server = net.createServer(aedes.handle);
  // Sockets that never sent CONNECT are not aedes clients; close() ends them too instead of waiting
  // for their connect timeout.
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  try {
    await retained.load(persistence as unknown as RetainedSource);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.mqtt.port, config.mqtt.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    revocation.stop();
    clearInterval(flushTimer);
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await appender.close();
    await ownJournal?.close();
    await store.close();
    throw err;
  }
  server.on('error', (err) => logger.error({ err }, 'MQTT server error'));
  const port = (server.address() as net.AddressInfo).port;
  const host = config.mqtt.host;
  const url = listenerUrl('mqtt', host, port);
  logger.info({ url, persistence: store.location ?? 'memory' }, 'MQTT broker listening');

  let closing: Promise<void> | undefined;
  return {
    address: { host, port, url },
    aedes,
    telemetryHeld: appender.held,
    close() {
      closing ??= (async () => {
        revocation.stop();
        clearInterval(flushTimer);
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Closes every client (their disconnects mark devices offline), then the message emitter.
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        throttle.close(); // what it still holds was not acknowledged
        for (const socket of sockets) socket.destroy();
        await serverClosed;
        await appender.close();
        await ownJournal?.close();
        await presence.flush();
        await errors.flush();
        await store.close();
      })();
      return closing;
    },
  };
}
