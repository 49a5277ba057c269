/**
 * `npm run broker`: the MQTT broker alone, on the registry and telemetry journal of DATA_DIR (shared
 * with the API and ingest, which may be other processes). Prints its URL; SIGINT/SIGTERM close it.
 */
import { publishOwn } from '../broker/aedes-internals.js';
import { startBroker } from '../broker/index.js';
import { componentMetrics, startMetricsPublisher } from '../core/metrics-relay.js';
import { startMetricsServer } from '../core/metrics-server.js';
import { runComponent } from './component.js';

await runComponent(
  ['mqtt', 'mqttListeners', 'broker', 'journal', 'metrics'],
  async (config, { logger, registry, serviceSecret, stack }) => {
    const metrics = componentMetrics('broker');
    const broker = stack.push(
      'broker',
      await startBroker(config, { registry, logger, serviceSecret, metrics }),
      (b) => b.close(),
    );
    for (const [scheme, url] of Object.entries(broker.urls))
      process.stdout.write(`MQTT broker listening on ${url}${scheme === 'mqtt' ? '' : ` (${scheme})`}\n`);
    if (broker.caFile) process.stdout.write(`TLS clients trust the CA in ${broker.caFile}\n`);
    // The API (another process) shows these at its /metrics; see core/metrics-relay.ts.
    const relay = startMetricsPublisher(metrics, 'broker', (topic, payload) => {
      void publishOwn(broker.aedes, topic, payload).catch(() => {});
    });
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
);
