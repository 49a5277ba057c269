/**
 * Composes the telemetry routes for a running platform: one MQTT connection as `svc:api` (shared by
 * the live feed and HTTP ingest), the read routes over InfluxDB, and HTTP ingest. The caller passes
 * `plugins` to `buildApp` / `startApi` and calls `close()` after the API has closed.
 */

import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { InfluxQL } from '../../core/influx/influxql.js';
import type { KeyLimits } from '../../core/key-limits.js';
import { createRemoteMetrics, type RemoteMetrics } from '../../core/metrics-relay.js';
import type { RegistryStore } from '../../core/registry/types.js';
import { METRICS_TOPIC_FILTER } from '../../core/topics.js';
import { httpIngestRoutes } from '../routes/http-ingest.js';
import { telemetryRoutes } from '../routes/telemetry.js';
import { createMqttIngestPublisher } from './ingest-publisher.js';
import { connectServiceMqtt, createMqttLiveFeed } from './live.js';

export interface TelemetryPluginsDeps {
  registry: RegistryStore;
  influx: InfluxQL;
  logger: Logger;
  serviceSecret: string;
  /** The broker, e.g. mqtt://127.0.0.1:1883. */
  mqttUrl: string;
  /** Largest HTTP ingest body; keep equal to the broker's MQTT_MAX_PAYLOAD_BYTES. Default 256 KiB. */
  maxPayloadBytes?: number;
  /** HTTP ingest's per-device rate (the broker's DEVICE_MAX_MESSAGES_PER_SECOND and burst). */
  deviceRate?: { perSecond: number; burst: number };
  /** Caps on telemetry keys, for HTTP ingest's 400 (TELEMETRY_MAX_KEYS_*). */
  keyLimits?: KeyLimits;
  /** SSE heartbeat interval; default 15 s. */
  heartbeatMs?: number;
  /** Live streams open at once per API key; default 20. */
  maxStreamsPerKey?: number;
  /** How long to wait for the live feed's subscription at start; default 5 s (then it keeps trying). */
  brokerWaitMs?: number;
}

export interface TelemetryPlugins {
  plugins: FastifyPluginAsync[];
  /** Metrics that broker and ingest publish when they run as their own processes. */
  remoteMetrics: RemoteMetrics;
  close(): Promise<void>;
}

export async function telemetryPlugins(deps: TelemetryPluginsDeps): Promise<TelemetryPlugins> {
  const logger = deps.logger.child({ component: 'api-mqtt' });
  const client = connectServiceMqtt({ url: deps.mqttUrl, serviceSecret: deps.serviceSecret });
  client.on('error', (err) => logger.warn({ err }, 'broker connection error'));
  client.on('offline', () => logger.warn('broker connection lost; live streams and HTTP ingest wait for it'));
  const liveFeed = createMqttLiveFeed(client, { logger });
  const waited = await Promise.race([
    liveFeed.ready.then(
      () => true,
      () => false,
    ),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), deps.brokerWaitMs ?? 5000).unref()),
  ]);
  if (!waited) logger.warn('live feed not subscribed yet; will keep trying');
  const publisher = createMqttIngestPublisher(client);
  const remoteMetrics = createRemoteMetrics();
  const onMetrics = (topic: string, payload: Buffer) => {
    if (topic.startsWith('$platform/metrics/')) remoteMetrics.accept(topic, payload);
  };
  client.on('message', onMetrics);
  // mqtt.js re-subscribes on reconnect (resubscribe defaults to true).
  client.subscribe(METRICS_TOPIC_FILTER, { qos: 0 });
  return {
    remoteMetrics,
    plugins: [
      telemetryRoutes({
        influx: deps.influx,
        liveFeed,
        heartbeatMs: deps.heartbeatMs,
        maxStreamsPerKey: deps.maxStreamsPerKey,
      }),
      httpIngestRoutes({
        devices: deps.registry,
        publisher,
        maxPayloadBytes: deps.maxPayloadBytes,
        deviceRate: deps.deviceRate,
        keyLimits: deps.keyLimits,
      }),
    ],
    async close() {
      client.off('message', onMetrics);
      await liveFeed.close();
      await client.endAsync(true);
    },
  };
}
