/**
 * The ingest worker: broker -> durable spool -> validation -> InfluxDB -> live fan-out.
 * See subscriber.ts (intake and backpressure), spool.ts (durability), pipeline.ts (ordering and
 * retries) and README "How ingest never loses a reading".
 */
import path from 'node:path';
import type { Registry } from 'prom-client';
import type { CommonConfig, IngestConfig, MqttConfig } from '../core/config.js';
import type { InfluxConnection } from '../core/influx/client.js';
import { type Logger, silentLogger } from '../core/log.js';
import { startMetricsPublisher } from '../core/metrics-relay.js';
import type { DeviceErrorLog, TelemetrySchemaStore } from '../core/registry/types.js';
import type { BackoffOptions } from './backoff.js';
import { storedMessages } from './fanout.js';
import { createIngestMetrics } from './metrics.js';
import { Pipeline } from './pipeline.js';
import type { Point } from './points.js';
import { openSpool } from './spool.js';
import { startSubscriber } from './subscriber.js';
import { type PointWriter, writerForConnection } from './writer.js';

export { influxLineWriter, type PointWriter, WriteRefusedError, WriteUnavailableError } from './writer.js';

export interface IngestStartConfig {
  common: CommonConfig;
  mqtt: MqttConfig;
  ingest: IngestConfig;
}

export interface IngestDeps {
  registry: TelemetrySchemaStore & DeviceErrorLog;
  /** A node-influx connection (its URL, database and credentials are used) or any PointWriter. */
  influx: InfluxConnection | PointWriter;
  logger?: Logger;
  serviceSecret: string;
  metrics?: Registry;
  /** Defaults to mqtt://{mqtt.host}:{mqtt.port}. */
  mqttUrl?: string;
  /** Overrides the retry schedule (tests). */
  backoff?: BackoffOptions;
  /** How long start waits for the broker connection and subscription; default 10 s. */
  brokerWaitMs?: number;
  /**
   * When ingest runs as its own process: publish `metrics` to the broker this often, for the API's
   * /metrics (core/metrics-relay.ts). Off by default (one process shares one registry).
   */
  publishMetricsEveryMs?: number;
}

export interface IngestStatus {
  /** Messages acknowledged to the broker and not yet stored (the backlog). */
  spooled: number;
  writing: boolean;
  /** Messages taken from the broker (acknowledged) since start. */
  messagesReceived: number;
  /** Spooled messages fully handled (stored or refused) since start, including a resumed backlog. */
  messagesDone: number;
  influxHealthy: boolean;
  /** True while intake is paused because the spool is full. */
  backpressure: boolean;
  lastError?: string;
}

export interface IngestHandle {
  close(): Promise<void>;
  status(): IngestStatus;
}

export async function startIngest(config: IngestStartConfig, deps: IngestDeps): Promise<IngestHandle> {
  const logger = deps.logger ?? silentLogger();
  const spool = openSpool(path.join(config.common.dataDir, 'ingest', 'spool.db'));
  const writer = 'write' in deps.influx ? deps.influx : writerForConnection(deps.influx);
  const status = (): IngestStatus => ({
    spooled: spool.count(),
    ...pipeline.status(),
    messagesReceived: received,
    backpressure: subscriber.paused(),
  });
  const metrics = createIngestMetrics(deps.metrics, status);

  const pipeline: Pipeline = new Pipeline(
    {
      batchSize: config.ingest.batchSize,
      flushMs: config.ingest.flushMs,
      maxInFlight: config.ingest.maxInFlight,
      ...(deps.backoff ? { backoff: deps.backoff } : {}),
    },
    {
      spool,
      registry: deps.registry,
      writer,
      logger,
      metrics,
      onStored(points) {
        subscriber.spoolShrank();
        publishStored(points);
      },
    },
  );
  if (spool.count() > 0) logger.info({ spooled: spool.count() }, 'ingest: resuming the spooled backlog');
  pipeline.start();

  let received = 0;
  const maxSpooled = config.ingest.spoolMaxMessages;
  const subscriber = startSubscriber(
    {
      url: deps.mqttUrl ?? `mqtt://${config.mqtt.host}:${config.mqtt.port}`,
      serviceSecret: deps.serviceSecret,
      maxSpooled,
      resumeBelow: Math.floor(maxSpooled / 2),
    },
    spool,
    () => {
      received++;
      pipeline.notify();
    },
    logger,
  );

  function publishStored(points: Point[]) {
    if (!subscriber.client.connected) return; // live view only; the data is in InfluxDB
    for (const m of storedMessages(points)) subscriber.client.publish(m.topic, m.payload, { qos: 0 });
  }

  const metricsRelay =
    deps.metrics && deps.publishMetricsEveryMs
      ? startMetricsPublisher(
          deps.metrics,
          'ingest',
          (topic, payload) => {
            if (subscriber.client.connected) subscriber.client.publish(topic, payload, { qos: 0 });
          },
          deps.publishMetricsEveryMs,
        )
      : undefined;

  const connected = await subscriber.ready(deps.brokerWaitMs ?? 10_000);
  if (!connected) logger.warn('ingest: broker not reachable yet; will keep trying');
  else logger.info({ spooled: spool.count() }, 'ingest: subscribed');

  let closed: Promise<void> | undefined;
  return {
    status,
    close() {
      closed ??= (async () => {
        metricsRelay?.stop();
        await subscriber.close(); // stop intake first: nothing new reaches the spool
        await pipeline.stop();
        spool.close();
      })();
      return closed;
    },
  };
}
