/**
 * The API as a running component: the admin key, the broker connection (services.ts), the console
 * bundle, the app (app.ts), listening (server.ts). start(config, deps) -> { address, close() }.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { startWithCloseStack } from '../core/close-stack.js';
import { type CommonConfig, type HttpConfig, keyLimitsOf, type PlatformConfig } from '../core/config.js';
import type { InfluxBackend } from '../core/influx/backend.js';
import type { KeyLimits } from '../core/key-limits.js';
import type { Logger } from '../core/log.js';
import type { RegistryStore } from '../core/registry/types.js';
import { advertisedBrokerUrls, type BrokerUrls, brokerUrls } from '../core/urls.js';
import { resolveAdminKey } from './admin-key.js';
import { buildApp, type ReadinessCheck } from './app.js';
import { buildConsoleBundle, type ConsoleBundle } from './console/bundle.js';
import { type ApiAddress, listen } from './server.js';
import { connectApiServices } from './services.js';
import { createStreamTokens, streamTokenKey } from './stream-tokens/token.js';

export interface ApiStartDeps {
  registry: RegistryStore;
  /** Either backend: its InfluxQL for telemetry reads, its readiness checks for /readyz. */
  influx: InfluxBackend;
  logger: Logger;
  metrics: Registry;
  /** The broker the API's own MQTT client (`svc:api`) uses for live streams and HTTP ingest. */
  mqttUrl: string;
  /** What device credentials advertise; default `mqttUrl`. */
  mqttPublicUrl?: string | undefined;
  /** The broker's other listeners that device credentials list (mqtts, ws, wss). */
  deviceUrls?: Omit<BrokerUrls, 'mqtt'> | undefined;
  serviceSecret: string;
  /** Largest HTTP ingest body; the broker's MQTT_MAX_PAYLOAD_BYTES. */
  maxPayloadBytes?: number;
  /** HTTP ingest's per-device rate: DEVICE_MAX_MESSAGES_PER_SECOND and DEVICE_BURST_MESSAGES. */
  deviceRate?: { perSecond: number; burst: number };
  /** Caps on telemetry keys, for HTTP ingest's 400 (TELEMETRY_MAX_KEYS_*). */
  keyLimits?: KeyLimits;
  readinessChecks?: ReadinessCheck[];
}

export interface RunningApi {
  app: FastifyInstance;
  address: ApiAddress;
  /** The admin key when this start generated it (print it once). */
  generatedAdminKey: string | undefined;
  close(): Promise<void>;
}

export async function startApi(
  config: { common: CommonConfig; http: HttpConfig },
  deps: ApiStartDeps,
): Promise<RunningApi> {
  const adminKey = await resolveAdminKey(deps.registry, config.http.adminApiKey);
  return startWithCloseStack(deps.logger, async (stack) => {
    const services = await connectApiServices(deps);
    stack.push('API broker connection', services, (s) => s.close());
    const app = await buildApp({
      registry: deps.registry,
      logger: deps.logger,
      adminKeyHash: adminKey.hash,
      mqttPublicUrl: deps.mqttPublicUrl ?? deps.mqttUrl,
      deviceUrls: deps.deviceUrls,
      rateLimitPerMinute: config.http.rateLimitPerMinute,
      corsOrigins: config.http.corsOrigins,
      // Every API process sharing the service secret accepts the others' stream tokens.
      streamTokens: createStreamTokens({ key: streamTokenKey(deps.serviceSecret) }),
      console: config.http.consoleEnabled ? consoleInBackground(deps.logger) : undefined,
      readinessChecks: [...deps.influx.readiness, ...(deps.readinessChecks ?? [])],
      metrics: { registry: deps.metrics, remote: services.remoteMetrics },
      deviceChanges: services.deviceChanges,
      telemetry: {
        influx: deps.influx,
        liveFeed: services.liveFeed,
        maxStreamsPerKey: config.http.maxStreamsPerKey,
      },
      httpIngest: {
        publisher: services.publisher,
        maxPayloadBytes: deps.maxPayloadBytes,
        deviceRate: deps.deviceRate,
        keyLimits: deps.keyLimits,
      },
    });
    stack.push('API', app, (a) => a.close());
    const address = await listen(app, config.http);
    return { app, address, generatedAdminKey: adminKey.generated };
  });
}

/**
 * The API's dependencies from the shared parts and the variables of the broker and ingest it mirrors.
 * `listening`: the broker's URLs when it runs in this process; else they follow from its variables.
 */
export function apiDepsOf(
  config: Pick<PlatformConfig, 'mqtt' | 'broker' | 'ingest'> & Partial<Pick<PlatformConfig, 'mqttListeners'>>,
  shared: Pick<ApiStartDeps, 'registry' | 'logger' | 'serviceSecret' | 'metrics'>,
  influx: InfluxBackend,
  mqttUrl: string,
  listening?: BrokerUrls,
): ApiStartDeps {
  const l = config.mqttListeners;
  const urls =
    listening ??
    brokerUrls(config.mqtt.host, {
      mqtt: config.mqtt.port,
      mqtts: l?.tlsPort,
      ws: l?.wsPort,
      wss: l?.wssPort,
    });
  const { mqtt, ...deviceUrls } = advertisedBrokerUrls(urls, config.mqtt.publicUrl);
  return {
    ...shared,
    influx,
    mqttUrl,
    mqttPublicUrl: config.mqtt.publicUrl ?? (listening ? mqtt : undefined),
    deviceUrls,
    maxPayloadBytes: config.broker.maxPayloadBytes,
    deviceRate: {
      perSecond: config.broker.deviceMaxMessagesPerSecond,
      burst: config.broker.deviceBurstMessages,
    },
    keyLimits: keyLimitsOf(config.ingest),
  };
}

/** Built in the background while the rest starts; a failure is logged and /console/ answers 503. */
function consoleInBackground(logger: Logger): Promise<ConsoleBundle> {
  const bundle = buildConsoleBundle();
  bundle.catch((err) => logger.error({ err }, 'console build failed; /console/ is unavailable'));
  return bundle;
}
