/**
 * The MQTT broker: aedes 1.2 on a TCP server, with device authentication (auth.ts), the ACL (acl.ts),
 * the durable hand-off of telemetry to the journal before the PUBACK (publish.ts, group-commit.ts),
 * limits, presence, revocation and metrics. start(config, deps) -> { address, close() }.
 */
import { Aedes, type AedesOptions, type AuthorizeForwardHandler } from 'aedes';
import { Registry } from 'prom-client';
import { type CloseStack, startWithCloseStack } from '../core/close-stack.js';
import type {
  BrokerConfig,
  ClusterConfig,
  CommonConfig,
  JournalConfig,
  MqttConfig,
  MqttListenersConfig,
} from '../core/config.js';
import { openDataDirJournal } from '../core/journal/sqlite.js';
import type { JournalAppender } from '../core/journal/types.js';
import { type Logger, silentLogger } from '../core/log.js';
import type { CommandStore, TwinStore } from '../core/registry/command-types.js';
import type {
  CredentialChangeLog,
  CredentialPreload,
  DeviceErrorLog,
  DeviceLookup,
  PresenceStore,
} from '../core/registry/types.js';
import { JOURNAL_STATE_TOPIC } from '../core/topics.js';
import { type BrokerUrls, brokerUrls } from '../core/urls.js';
import { mayReceive } from './acl.js';
import { persistenceOf, publishOwn } from './aedes-internals.js';
import { type Authenticator, createAuthenticator } from './auth.js';
import { clusterNode, startNodeHeartbeat } from './cluster-node.js';
import { createConnectThrottle } from './connect-throttle.js';
import { type Control, createControl, startControl } from './control.js';
import { CREDENTIAL_PRELOAD_LIMIT } from './credentials.js';
import { DeviceErrorBuffer } from './device-errors.js';
import { trackClients } from './events.js';
import { createGroupCommit, type GroupCommit } from './group-commit.js';
import { withKeepaliveCap } from './keepalive.js';
import { createDeviceThrottle, type DeviceThrottle } from './limits.js';
import { closeAedes, listenMqtt } from './listener.js';
import { type BrokerMetrics, createBrokerMetrics } from './metrics.js';
import { type BrokerPersistence, openBrokerPersistence } from './persistence.js';
import { PresenceTracker } from './presence.js';
import { createAuthorizePublish } from './publish.js';
import { createRetainedQuota, type RetainedQuota } from './retained-quota.js';
import { DeviceSessions, startRevocationPoller } from './revocation.js';
import { createAuthorizeSubscribe } from './subscribe.js';
import { listenerTlsMaterial } from './tls-material.js';

/** LevelDB or memory, or Redis (with its message emitter) in cluster mode, loaded only then. */
async function openPersistence(
  config: BrokerStartConfig,
  logger: Logger,
): Promise<BrokerPersistence & { mq?: unknown }> {
  const redisUrl = config.cluster?.redisUrl;
  if (!redisUrl) return openBrokerPersistence(config.broker.persistence, config.common.dataDir);
  const { openRedisMqtt } = await import('./cluster-mqtt.js');
  return openRedisMqtt(redisUrl, logger);
}

/** The registry facets the broker uses. */
export type BrokerRegistry = Pick<DeviceLookup, 'getDeviceCredential'> &
  CredentialPreload &
  CredentialChangeLog &
  PresenceStore &
  DeviceErrorLog &
  CommandStore &
  TwinStore;

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
  /** How often expired commands are swept (default 1000 ms). */
  commandSweepMs?: number;
}

export interface BrokerStartConfig {
  common: CommonConfig;
  mqtt: MqttConfig;
  broker: BrokerConfig;
  journal: JournalConfig;
  /** mqtts, ws and wss; none when omitted. */
  mqttListeners?: MqttListenersConfig;
  /** REDIS_URL: sessions and routing in Redis, presence per node (cluster.ts); absent: one broker. */
  cluster?: Pick<ClusterConfig, 'redisUrl' | 'nodeId' | 'nodeTtlMs'> | undefined;
}

export interface RunningBroker {
  address: { host: string; port: number; url: string };
  /** Every listener's URL (mqtt, and mqtts, ws, wss when on). */
  urls: BrokerUrls;
  /** The CA devices trust for mqtts and wss, when known (DATA_DIR/tls/ca.pem when self-signed). */
  caFile: string | undefined;
  aedes: Aedes;
  /** True while PUBACKs of telemetry are held because the journal is full (group-commit.ts). */
  telemetryHeld(): boolean;
  close(): Promise<void>;
}

/** What the hooks share. */
interface Parts {
  config: BrokerStartConfig;
  deps: BrokerDeps;
  logger: Logger;
  now: () => number;
  metrics: BrokerMetrics;
  commit: GroupCommit;
  errors: DeviceErrorBuffer;
  presence: PresenceTracker;
  throttle: DeviceThrottle;
  sessions: DeviceSessions;
  auth: Authenticator;
  retained: RetainedQuota;
  control: Control;
  /** The broker, once it exists (the hooks and the journal-state announcement need it). */
  aedes: () => Aedes;
}

export async function startBroker(config: BrokerStartConfig, deps: BrokerDeps): Promise<RunningBroker> {
  const logger = deps.logger ?? silentLogger();
  return startWithCloseStack(logger, async (stack) => {
    const node = clusterNode(config);
    const store = await openPersistence(config, logger);
    stack.push('broker persistence', store, (s) => s.close());
    let broker: Aedes | undefined;
    const parts = openParts(config, deps, logger, stack, () => broker as Aedes, node?.id);
    const mq = store.mq ? { mq: store.mq as never, id: node?.aedesId } : {};
    const aedes = new Aedes({ persistence: store.persistence as never, ...mq, ...hooks(parts) });
    broker = aedes;
    await aedes.listen();
    stack.push('aedes', aedes, closeAedes); // until the listener below owns closing it
    // Retained, so an API that connects later learns it too; a previous run's state is replaced.
    announceJournalState(parts, parts.commit.held());
    // Presence from before a crash is stale: connected devices are marked online again as they
    // reconnect. A cluster node clears only its own connections (other nodes' devices stay online).
    await deps.registry.markAllOffline(node?.id);
    trackClients(aedes, parts);
    await startBackground(parts, stack);
    if (node) await startNodeHeartbeat(parts, node, stack);
    await parts.retained.load(persistenceOf(aedes));
    const tls = listenerTlsMaterial(config.mqttListeners?.tls, config.common.dataDir, config.mqtt);
    const mqtt = await listenMqtt(aedes, config.mqtt, logger, { listeners: config.mqttListeners, tls });
    stack.push('MQTT', mqtt, (m) => m.close(() => parts.throttle.close()));
    const urls = brokerUrls(config.mqtt.host, { ...mqtt.ports, mqtt: mqtt.port });
    logger.info(
      { ...urls, persistence: store.location ?? 'memory', node: node?.id },
      'MQTT broker listening',
    );
    return {
      address: { host: config.mqtt.host, port: mqtt.port, url: urls.mqtt },
      urls,
      caFile: tls?.caFile,
      aedes,
      telemetryHeld: parts.commit.held,
    };
  });
}

/** Everything the hooks use; what needs closing goes on the stack (closed in reverse order). */
function openParts(
  config: BrokerStartConfig,
  deps: BrokerDeps,
  logger: Logger,
  stack: CloseStack,
  aedes: () => Aedes,
  node: string | undefined,
): Parts {
  const now = deps.now ?? Date.now;
  const errors = new DeviceErrorBuffer(deps.registry, logger, now);
  const presence = new PresenceTracker(deps.registry, logger, node);
  stack.push('presence and device errors', null, async () => {
    await presence.flush();
    await errors.flush();
  });
  const journal =
    deps.journal ?? stack.push('journal', openDataDirJournal(config.common.dataDir), (j) => j.close());
  const sessions = new DeviceSessions();
  const parts = { config, deps, logger, now, errors, presence, aedes, sessions };
  const commit = createGroupCommit(journal, {
    maxMessages: config.journal.maxMessages,
    logger,
    onHeldChange: (full) => announceJournalState(withCommit, full),
  });
  const withCommit = { ...parts, commit };
  stack.push('group commit', commit, (c) => c.close());
  const metrics = createBrokerMetrics(deps.metrics ?? new Registry(), { telemetryHeld: commit.held });
  const { deviceMaxMessagesPerSecond: ratePerSecond, deviceBurstMessages: burst } = config.broker;
  return {
    ...withCommit,
    metrics,
    throttle: createDeviceThrottle({ ratePerSecond, burst, metrics, errors, now }),
    auth: createAuthenticator({
      registry: deps.registry,
      serviceSecret: deps.serviceSecret,
      allowAnonymous: config.broker.allowAnonymous,
      metrics,
      logger,
      onDeviceAuthenticated: (client, identity) => parts.sessions.add(client, identity),
    }),
    control: createControl({ registry: deps.registry, sessions, aedes, errors, logger, now }),
    retained: createRetainedQuota({
      maxCount: config.broker.retainedMaxPerDevice,
      maxBytes: config.broker.retainedMaxBytesPerDevice,
    }),
  };
}

/** aedes' options: limits and the hooks. */
function hooks(parts: Parts) {
  const { config, auth, metrics } = parts;
  const connectThrottle = createConnectThrottle({
    maxDelayMs: config.broker.authFailureMaxDelayMs,
    now: parts.now,
    onDelay: () => metrics.connacksDelayed.inc(),
  });
  return {
    connectTimeout: config.broker.connectTimeoutMs,
    // MQTT 3.1 clients only; any id a UTF-8 string can hold, as for 3.1.1 (client-ids.ts).
    maxClientsIdLength: 65_535,
    // aedes' own ceiling; our configurable limit (maxTopicLevels) is a device error in the hooks.
    maxTopicLevels: 100,
    preConnect: withKeepaliveCap(auth.preConnect, config.broker.maxKeepaliveSeconds),
    authenticate: connectThrottle.wrap(auth.authenticate),
    authorizePublish: createAuthorizePublish({
      ...parts,
      broker: parts.aedes,
      journal: parts.commit,
      identityOf: auth.identityOf,
      limits: config.broker,
      control: parts.control,
    }),
    authorizeSubscribe: createAuthorizeSubscribe({
      ...parts,
      identityOf: auth.identityOf,
      maxTopicLevels: config.broker.maxTopicLevels,
    }),
    authorizeForward: ((client, packet) => {
      const identity = auth.identityOf(client);
      if (!identity || !mayReceive(identity, packet.topic)) return null;
      if (!parts.control.commands.mayForward(packet)) return null;
      metrics.messagesOut.inc();
      return packet;
    }) satisfies AuthorizeForwardHandler,
  } satisfies AedesOptions;
}

/** The revocation poller and the periodic flush of presence, device errors and throttle state. */
async function startBackground(parts: Parts, stack: CloseStack): Promise<void> {
  const { metrics, logger } = parts;
  const revocation = await startRevocationPoller({
    registry: parts.deps.registry,
    sessions: parts.sessions,
    invalidate: (ids) => parts.auth.invalidate(ids),
    preload: async () =>
      parts.auth.remember(await parts.deps.registry.recentDeviceCredentials(CREDENTIAL_PRELOAD_LIMIT)),
    onRevoked: (client, identity) => {
      metrics.sessionsRevoked.inc();
      logger.info({ deviceId: identity.deviceId, clientId: client.id }, 'dropping revoked device connection');
    },
    logger,
    intervalMs: parts.deps.revocationPollMs ?? 250,
  });
  stack.push('revocation poller', revocation, (r) => r.stop());
  await startControl(
    parts.aedes(),
    parts.control,
    { identityOf: parts.auth.identityOf, sweepMs: parts.deps.commandSweepMs ?? 1000, logger },
    stack,
  );
  const flushTimer = setInterval(() => {
    void parts.presence.flush();
    void parts.errors.flush();
    parts.throttle.prune();
  }, parts.deps.flushMs ?? 1000);
  flushTimer.unref();
  stack.push('flush timer', flushTimer, clearInterval);
}

/** `{"full": bool}`, retained on JOURNAL_STATE_TOPIC: the API's HTTP ingest answers 503 while full. */
function announceJournalState(parts: Pick<Parts, 'aedes' | 'logger'>, full: boolean): void {
  publishOwn(parts.aedes(), JOURNAL_STATE_TOPIC, JSON.stringify({ full }), { retain: true }).catch((err) =>
    parts.logger.warn({ err }, 'could not announce the journal state'),
  );
}
