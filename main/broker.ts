/**
 * `npm run broker`: the MQTT broker alone, on the registry and telemetry journal of DATA_DIR (shared
 * with the API and ingest, which may be other processes), or, in cluster mode, on DATABASE_URL and
 * REDIS_URL as one of several nodes. Prints its URL; SIGINT/SIGTERM close it.
 */
import { publishOwn } from '../broker/aedes-internals.js';
import { startBroker } from '../broker/index.js';
import { brokerNodeId, openClusterJournal } from '../core/cluster/stores.js';
import { componentMetrics, startMetricsPublisher } from '../core/metrics-relay.js';
import { startMetricsServer } from '../core/metrics-server.js';
import { runComponent } from './component.js';

await runComponent(
  ['mqtt', 'mqttListeners', 'broker', 'journal', 'metrics'],
  async (config, { logger, registry, serviceSecret, stack }) => {
    const node = config.cluster.redisUrl ? brokerNodeId(config.cluster, config.mqtt.port) : undefined;
    const metrics = componentMetrics('broker', node);
    const journal = await openClusterJournal(config.cluster);
    if (journal) stack.push('journal', journal, (j) => j.close());
    const broker = stack.push(
      'broker',
      await startBroker(config, {
        registry,
        logger,
        serviceSecret,
        metrics,
        ...(journal ? { journal } : {}),
      }),
      (b) => b.close(),
    );
    const where = node ? ` (node ${node})` : '';
    for (const [scheme, url] of Object.entries(broker.urls))
      process.stdout.write(`MQTT broker listening on ${url}${scheme === 'mqtt' ? where : ` (${scheme})`}\n`);
    if (broker.caFile) process.stdout.write(`TLS clients trust the CA in ${broker.caFile}\n`);
    // The API (another process) shows these at its /metrics; see core/metrics-relay.ts.
    const publish = (topic: string, payload: string) => {
      void publishOwn(broker.aedes, topic, payload).catch(() => {});
    };
    const relay = startMetricsPublisher(metrics, 'broker', publish, 5000, node);
    stack.push('metrics relay', relay, (r) => r.stop());
    const port = config.metrics.brokerPort;
    if (port !== undefined) {
      const where = { host: config.metrics.host, port };
      const server = stack.push('metrics', await startMetricsServer(metrics, where, logger), (s) =>
        s.close(),
      );
      process.stdout.write(`Metrics: ${server.url}\n`);
    }
  },
  'broker',
);
