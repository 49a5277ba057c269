/**
 * `npm run broker`: the MQTT broker alone, on the registry and telemetry journal of DATA_DIR (shared
 * with the API and ingest, which may be other processes). Prints its URL; SIGINT/SIGTERM close it.
 */
import { startBroker } from '../broker/index.js';
import { startWithCloseStack } from '../core/close-stack.js';
import { createLogger } from '../core/log.js';
import { componentMetrics, startMetricsPublisher } from '../core/metrics-relay.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import { openDataDirRegistry } from '../core/registry/sqlite/index.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { runMain } from './run.js';

await runMain(['common', 'mqtt', 'broker', 'journal', 'registry'], async (config) => {
  const logger = createLogger(config.common.logLevel, process.stderr as never);
  const dataDir = config.common.dataDir;
  preparePrivateDataDir(dataDir);
  return startWithCloseStack(logger, async (stack) => {
    const registry = stack.push(
      'registry',
      openDataDirRegistry(dataDir, config.registry.deviceErrorsKept),
      (r) => r.close(),
    );
    const serviceSecret = loadOrCreateServiceSecret(dataDir, config.common.serviceSecret);
    const metrics = componentMetrics('broker');
    const broker = stack.push(
      'broker',
      await startBroker(config, { registry, logger, serviceSecret, metrics }),
      (b) => b.close(),
    );
    process.stdout.write(`MQTT broker listening on ${broker.address.url}\n`);
    // The API (another process) shows these at its /metrics; see core/metrics-relay.ts.
    const relay = startMetricsPublisher(metrics, 'broker', (topic, payload) =>
      broker.aedes.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false },
        () => {},
      ),
    );
    stack.push('metrics relay', relay, (r) => r.stop());
    return {};
  });
});
