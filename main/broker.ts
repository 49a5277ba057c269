/**
 * `npm run broker`: the MQTT broker alone. Reads the common, mqtt, broker and ingest (for the spool
 * bound) variables, opens the registry and the telemetry spool in DATA_DIR (shared with the API and
 * ingest, which may run as other processes), starts the broker and prints its URL. SIGINT/SIGTERM close it (see main/run.ts for the 5 s deadline).
 */
import { startBroker } from '../broker/index.js';
import { startWithCloseStack } from '../core/close-stack.js';
import { componentMetrics, startMetricsPublisher } from '../core/metrics-relay.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import { openDataDirRegistry } from '../core/registry/sqlite.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { runMain } from './run.js';

await runMain(['common', 'mqtt', 'broker', 'ingest'], async (config, logger) => {
  const dataDir = config.common.dataDir;
  preparePrivateDataDir(dataDir);
  return startWithCloseStack(logger, async (stack) => {
    const registry = stack.push(
      'registry',
      openDataDirRegistry(dataDir, config.ingest.deviceErrorsKept),
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
