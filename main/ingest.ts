/**
 * `npm run ingest`: the ingest worker alone. Drains the telemetry journal the broker fills in DATA_DIR
 * into INFLUX_URL or the managed influxd, and publishes stored readings and metrics through the broker
 * at MQTT_HOST:MQTT_PORT. SIGKILL at any moment loses nothing: the journal is resumed at the next start.
 */
import { startWithCloseStack } from '../core/close-stack.js';
import { openInflux } from '../core/influx/resolve.js';
import { journalFile } from '../core/journal/sqlite.js';
import { createLogger } from '../core/log.js';
import { componentMetrics } from '../core/metrics-relay.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import { openDataDirRegistry } from '../core/registry/sqlite/index.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { brokerUrl } from '../core/urls.js';
import { startIngest } from '../ingest/index.js';
import { runMain } from './run.js';

await runMain(['common', 'mqtt', 'influx', 'ingest', 'registry'], async (config) => {
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
    const influx = stack.push('influxdb', await openInflux(config.influx, dataDir, logger), (i) => i.close());
    const ingest = stack.push(
      'ingest',
      await startIngest(config, {
        registry,
        influx: influx.connection,
        logger,
        serviceSecret,
        metrics: componentMetrics('ingest'),
        publishMetricsEveryMs: 5000,
      }),
      (i) => i.close(),
    );
    const s = await ingest.status();
    process.stdout.write(
      `ingest running: ${journalFile(dataDir)} -> ${influx.connection.url} ` +
        `(${influx.connection.describe}); ${s.spooled} messages in the journal; ` +
        `live readings via ${brokerUrl(config.mqtt)}\n`,
    );
    return {};
  });
});
