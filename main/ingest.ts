/**
 * `npm run ingest`: the ingest worker alone. Reads the common, mqtt, influx and ingest variables,
 * opens the registry in DATA_DIR (shared with the broker and API, which may be other processes),
 * uses INFLUX_URL or the managed influxd, drains the telemetry spool the broker fills in DATA_DIR/ingest
 * and publishes live readings and metrics through the broker at MQTT_HOST:MQTT_PORT.
 * A bad variable: one message on stderr, exit 2 (main/run.ts). SIGINT/SIGTERM: clean stop; SIGKILL
 * at any moment loses nothing (the spool in DATA_DIR/ingest is resumed at the next start).
 */
import { startWithCloseStack } from '../core/close-stack.js';
import { openInflux } from '../core/influx/resolve.js';
import { componentMetrics } from '../core/metrics-relay.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import { openDataDirRegistry } from '../core/registry/sqlite.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { spoolFile } from '../core/telemetry-spool.js';
import { startIngest } from '../ingest/index.js';
import { runMain } from './run.js';

await runMain(['common', 'mqtt', 'influx', 'ingest'], async (config, logger) => {
  const dataDir = config.common.dataDir;
  preparePrivateDataDir(dataDir);
  return startWithCloseStack(logger, async (stack) => {
    const registry = stack.push(
      'registry',
      openDataDirRegistry(dataDir, config.ingest.deviceErrorsKept),
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
    const s = ingest.status();
    process.stdout.write(
      `ingest running: ${spoolFile(dataDir)} -> ${influx.connection.url} ` +
        `(${influx.connection.describe}); ${s.spooled} messages spooled; ` +
        `live readings via mqtt://${config.mqtt.host}:${config.mqtt.port}\n`,
    );
    return {};
  });
});
