/**
 * The API as a running component: builds the app (api/app.ts) with the routes that need live
 * services (telemetry, live streams, HTTP ingest, metrics) and listens.
 */

import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { CommonConfig, HttpConfig } from '../core/config.js';
import type { InfluxBackend } from '../core/influx/backend.js';
import type { KeyLimits } from '../core/key-limits.js';
import type { Logger } from '../core/log.js';
import type { RegistryStore } from '../core/registry/types.js';
import { listenerUrl } from '../core/urls.js';
import { resolveAdminKey } from './admin-key.js';
import { buildApp, type ReadinessCheck } from './app.js';
import { buildConsoleBundle, type ConsoleBundle } from './console/bundle.js';
import { metricsRoutes } from './routes/metrics.js';
import { createStreamTokens, streamTokenKey } from './stream-tokens/token.js';
import { telemetryPlugins } from './telemetry/plugins.js';

export interface ApiServerDeps {
  registry: RegistryStore;
  /** Either backend: its InfluxQL for telemetry reads, its readiness checks for /readyz. */
  influx: InfluxBackend;
  logger: Logger;
  metrics: Registry;
  /** The broker the API's own MQTT client (`svc:api`) uses for live streams and HTTP ingest. */
  mqttUrl: string;
  /** What device credentials advertise; default `mqttUrl`. */
  mqttPublicUrl?: string | undefined;
  serviceSecret: string;
  /** Largest HTTP ingest body; the broker's MQTT_MAX_PAYLOAD_BYTES. */
  maxPayloadBytes?: number;
  /** HTTP ingest's per-device rate: DEVICE_MAX_MESSAGES_PER_SECOND and DEVICE_BURST_MESSAGES. */
  deviceRate?: { perSecond: number; burst: number };
  /** Caps on telemetry keys, for HTTP ingest's 400 (TELEMETRY_MAX_KEYS_*). */
  keyLimits?: KeyLimits;
  /** More route plugins. */
  plugins?: FastifyPluginAsync[];
  readinessChecks?: ReadinessCheck[];
}

export interface RunningApi {
  app: FastifyInstance;
  address: { host: string; port: number; url: string };
  /** The admin key when this start generated it (print it once). */
  generatedAdminKey: string | undefined;
  close(): Promise<void>;
}

export async function startApi(
  config: { common: CommonConfig; http: HttpConfig },
  deps: ApiServerDeps,
): Promise<RunningApi> {
  const adminKey = await resolveAdminKey(deps.registry, config.http.adminApiKey);
  const telemetry = await telemetryPlugins({
    registry: deps.registry,
    influx: deps.influx,
    logger: deps.logger,
    serviceSecret: deps.serviceSecret,
    mqttUrl: deps.mqttUrl,
    maxPayloadBytes: deps.maxPayloadBytes,
    maxStreamsPerKey: config.http.maxStreamsPerKey,
    deviceRate: deps.deviceRate,
    keyLimits: deps.keyLimits,
  });
  // Built in the background while the rest starts; a failure is logged and /console/ answers 503.
  let consoleBundle: Promise<ConsoleBundle> | undefined;
  if (config.http.consoleEnabled) {
    consoleBundle = buildConsoleBundle();
    consoleBundle.catch((err) =>
      deps.logger.error({ err }, 'console build failed; /console/ is unavailable'),
    );
  }
  const app = await buildApp({
    registry: deps.registry,
    logger: deps.logger,
    adminKeyHash: adminKey.hash,
    mqttPublicUrl: deps.mqttPublicUrl ?? deps.mqttUrl,
    rateLimitPerMinute: config.http.rateLimitPerMinute,
    corsOrigins: config.http.corsOrigins,
    // Every API process sharing the service secret accepts the others' stream tokens.
    streamTokens: createStreamTokens({ key: streamTokenKey(deps.serviceSecret) }),
    console: consoleBundle,
    readinessChecks: [...deps.influx.readiness, ...(deps.readinessChecks ?? [])],
    plugins: [
      metricsRoutes(deps.metrics, telemetry.remoteMetrics),
      ...telemetry.plugins,
      ...(deps.plugins ?? []),
    ],
  });
  try {
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    await telemetry.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const host = config.http.host;
  return {
    app,
    address: { host, port, url: listenerUrl('http', host, port) },
    generatedAdminKey: adminKey.generated,
    async close() {
      await app.close();
      await telemetry.close();
    },
  };
}
