/**
 * `npm run ingest`: the ingest worker alone. Drains the telemetry journal the broker fills in DATA_DIR
 * (or, with REDIS_URL, the Redis Stream every broker node fills, as one of several workers) into
 * INFLUX_URL or the managed influxd, and publishes stored readings and metrics through the broker at
 * MQTT_HOST:MQTT_PORT. SIGKILL at any moment loses nothing: the journal is resumed at the next start
 * (or, in cluster mode, by another worker after INGEST_RECLAIM_IDLE_MS).
 */
import os from 'node:os';
import { openClusterJournal } from '../core/cluster/stores.js';
import { openInflux } from '../core/influx/resolve.js';
import { journalFile } from '../core/journal/sqlite.js';
import { componentMetrics } from '../core/metrics-relay.js';
import { startMetricsServer } from '../core/metrics-server.js';
import { brokerUrl } from '../core/urls.js';
import { startIngest } from '../ingest/index.js';
import { runComponent } from './component.js';

await runComponent(
  ['mqtt', 'influx', 'ingest', 'metrics'],
  async (config, { logger, dataDir, registry, serviceSecret, stack }) => {
    const influx = stack.push('influxdb', await openInflux(config.influx, dataDir, logger), (i) => i.close());
    const cluster = config.cluster;
    const worker = cluster.redisUrl ? (cluster.workerId ?? `${os.hostname()}-${process.pid}`) : undefined;
    const journal = await openClusterJournal({ ...cluster, workerId: worker });
    if (journal) stack.push('journal', journal, (j) => j.close());
    const metrics = componentMetrics('ingest', worker);
    const deps = {
      registry,
      influx: influx.connection,
      logger,
      serviceSecret,
      metrics,
      publishMetricsEveryMs: 5000,
      ...(journal ? { journal, instance: worker, reclaimIdleMs: cluster.reclaimIdleMs } : {}),
    };
    const ingest = stack.push('ingest', await startIngest(config, deps), (i) => i.close());
    const port = config.metrics.ingestPort;
    if (port !== undefined) {
      const where = { host: config.metrics.host, port };
      const server = stack.push('metrics', await startMetricsServer(metrics, where, logger), (m) =>
        m.close(),
      );
      process.stdout.write(`Metrics: ${server.url}\n`);
    }
    const s = await ingest.status();
    const source = journal ? `redis stream (worker ${worker})` : journalFile(dataDir);
    process.stdout.write(
      `ingest running: ${source} -> ${influx.connection.url} ` +
        `(${influx.connection.describe}); ${s.backlog} messages in the journal; ` +
        `live readings via ${brokerUrl(config.mqtt)}\n`,
    );
  },
  'ingest',
);
