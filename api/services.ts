/**
 * What the API needs from a running platform: one MQTT connection as `svc:api`, shared by the live
 * feed, HTTP ingest's publisher and the metrics other processes publish. Close it after the app.
 */
import type { Logger } from 'pino';
import { createRemoteMetrics, type RemoteMetrics } from '../core/metrics-relay.js';
import { METRICS_TOPIC_FILTER } from '../core/topics.js';
import { createDeviceChanges, type DeviceChanges } from './live/device-changes.js';
import { createMqttLiveFeed, type MqttLiveFeed } from './live/mqtt-feed.js';
import { connectServiceMqtt } from './live/service-mqtt.js';
import { createMqttIngestPublisher, type IngestPublisher } from './telemetry/ingest-publisher.js';

export interface ApiServices {
  liveFeed: MqttLiveFeed;
  /** Command and twin changes: announced to the broker, and to this process's streams. */
  deviceChanges: DeviceChanges;
  publisher: IngestPublisher;
  /** Metrics that broker and ingest publish when they run as their own processes. */
  remoteMetrics: RemoteMetrics;
  close(): Promise<void>;
}

export async function connectApiServices(deps: {
  /** The broker, e.g. mqtt://127.0.0.1:1883. */
  mqttUrl: string;
  serviceSecret: string;
  logger: Logger;
  /** How long to wait for the live feed's subscription at start; default 5 s (then it keeps trying). */
  brokerWaitMs?: number;
}): Promise<ApiServices> {
  const logger = deps.logger.child({ component: 'api-mqtt' });
  const client = connectServiceMqtt({ url: deps.mqttUrl, serviceSecret: deps.serviceSecret });
  client.on('error', (err) => logger.warn({ err }, 'broker connection error'));
  client.on('offline', () => logger.warn('broker connection lost; live streams and HTTP ingest wait for it'));
  const deviceChanges = createDeviceChanges(client, logger);
  const liveFeed = Object.assign(createMqttLiveFeed(client, { logger }), {
    subscribeChanges: deviceChanges.subscribe,
  });
  const subscribed = liveFeed.ready.then(
    () => true,
    () => false,
  );
  const timeout = new Promise<false>((resolve) =>
    setTimeout(() => resolve(false), deps.brokerWaitMs ?? 5000).unref(),
  );
  if (!(await Promise.race([subscribed, timeout])))
    logger.warn('live feed not subscribed yet; will keep trying');
  const remoteMetrics = createRemoteMetrics();
  const onMetrics = (topic: string, payload: Buffer) => {
    if (topic.startsWith('$platform/metrics/')) remoteMetrics.accept(topic, payload);
  };
  client.on('message', onMetrics);
  // mqtt.js re-subscribes on reconnect (resubscribe defaults to true).
  client.subscribe(METRICS_TOPIC_FILTER, { qos: 0 });
  return {
    liveFeed,
    deviceChanges,
    publisher: createMqttIngestPublisher(client),
    remoteMetrics,
    async close() {
      client.off('message', onMetrics);
      deviceChanges.close();
      await liveFeed.close();
      await client.endAsync(true);
    },
  };
}
