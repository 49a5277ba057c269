/**
 * The ingest worker: telemetry journal -> validation -> InfluxDB -> live fan-out (pipeline.ts), with
 * its broker connection for the fan-out (broker-client.ts). start(config, deps) -> { status(), close() }.
 */

import type { Registry } from 'prom-client';
import { type CommonConfig, type IngestConfig, keyLimitsOf, type MqttConfig } from '../core/config.js';
import { openDataDirJournal } from '../core/journal/sqlite.js';
import type { JournalConsumer } from '../core/journal/types.js';
import { type Logger, silentLogger } from '../core/log.js';
import { startMetricsPublisher } from '../core/metrics-relay.js';
import { brokerUrl } from '../core/urls.js';
import type { BackoffOptions } from './backoff.js';
import { connectFanOut } from './broker-client.js';
import { createIngestMetrics } from './metrics.js';
import { type IngestRegistry, Pipeline, type PipelineStatus } from './pipeline.js';
import type { PointWriter } from './writer.js';

export {
  influxLineWriter,
  type PointWriter,
  WriteConfigurationError,
  WriteRefusedError,
  WriteUnavailableError,
} from './writer.js';

export interface IngestStartConfig {
  common: CommonConfig;
  mqtt: MqttConfig;
  ingest: IngestConfig;
}

export interface IngestDeps {
  registry: IngestRegistry;
  /** What ingest drains; default the SQLite journal in DATA_DIR (closed by ingest). */
  journal?: JournalConsumer;
  /** Where readings go: a PointWriter, or an InfluxDB connection of either API (its `writer`). */
  influx: PointWriter | { writer: PointWriter };
  logger?: Logger;
  serviceSecret: string;
  metrics?: Registry;
  /** Defaults to mqtt://{mqtt.host}:{mqtt.port}; used for the live fan-out and metrics only. */
  mqttUrl?: string;
  /** Overrides the retry schedule (tests). */
  backoff?: BackoffOptions;
  /** Overrides the fallback poll for new journal entries (tests; the journal's watch wakes ingest first). */
  pollMs?: number;
  /** How long start waits for the broker connection; default 10 s (ingest drains the journal anyway). */
  brokerWaitMs?: number;
  /**
   * When ingest runs as its own process: publish `metrics` to the broker this often, for the API's
   * /metrics (core/metrics-relay.ts). Off by default (one process shares one registry).
   */
  publishMetricsEveryMs?: number;
  /** This worker's name on its metrics topic (cluster mode: one per worker). */
  instance?: string;
  /** Entries another worker left unacknowledged this long are taken over (Redis journal). */
  reclaimIdleMs?: number;
}

export interface IngestStatus extends PipelineStatus {
  /** Entries in the journal not yet stored (JournalConsumer.length). */
  backlog: number;
}

export interface IngestHandle {
  close(): Promise<void>;
  status(): Promise<IngestStatus>;
}

export async function startIngest(config: IngestStartConfig, deps: IngestDeps): Promise<IngestHandle> {
  const logger = deps.logger ?? silentLogger();
  const ownJournal = deps.journal ? undefined : openDataDirJournal(config.common.dataDir);
  const journal = (deps.journal ?? ownJournal) as JournalConsumer;
  const writer = 'write' in deps.influx ? deps.influx : deps.influx.writer;
  const status = async (): Promise<IngestStatus> => ({
    backlog: await journal.length(),
    ...pipeline.status(),
  });
  const metrics = createIngestMetrics(deps.metrics, {
    backlog: () => journal.length(),
    oldestReceivedAt: async () => journal.oldestReceivedAt?.(),
    now: Date.now,
  });
  const fanOut = connectFanOut(
    {
      url: deps.mqttUrl ?? brokerUrl(config.mqtt),
      serviceSecret: deps.serviceSecret,
    },
    logger,
  );

  const pipeline: Pipeline = new Pipeline(
    {
      batchSize: config.ingest.batchSize,
      flushMs: config.ingest.flushMs,
      maxInFlight: config.ingest.maxInFlight,
      keyLimits: keyLimitsOf(config.ingest),
      ...(deps.backoff ? { backoff: deps.backoff } : {}),
      ...(deps.reclaimIdleMs ? { reclaimIdleMs: deps.reclaimIdleMs } : {}),
      ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
    },
    { journal, registry: deps.registry, writer, logger, metrics, onStored: fanOut.publishStored },
  );
  const backlog = await journal.length();
  if (backlog > 0) logger.info({ backlog }, 'ingest: resuming the journal backlog');
  pipeline.start();

  const metricsRelay =
    deps.metrics && deps.publishMetricsEveryMs
      ? startMetricsPublisher(
          deps.metrics,
          'ingest',
          fanOut.publish,
          deps.publishMetricsEveryMs,
          deps.instance,
        )
      : undefined;

  const connected = await fanOut.ready(deps.brokerWaitMs ?? 10_000);
  if (!connected) logger.warn('ingest: broker not reachable yet (live fan-out only); will keep trying');
  else logger.info({ backlog: await journal.length() }, 'ingest: draining the telemetry journal');

  let closed: Promise<void> | undefined;
  return {
    status,
    close() {
      closed ??= (async () => {
        metricsRelay?.stop();
        await pipeline.stop();
        await fanOut.close();
        await ownJournal?.close();
      })();
      return closed;
    },
  };
}
