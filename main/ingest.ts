/**
 * `npm run ingest`: the ingest worker alone. Reads the common, mqtt, influx and ingest variables,
 * opens the registry in DATA_DIR (shared with the broker and API, which may be other processes),
 * uses INFLUX_URL or the managed influxd, drains the telemetry spool the broker fills in DATA_DIR/ingest
 * and publishes live readings and metrics through the broker at MQTT_HOST:MQTT_PORT.
 * A bad variable: one message on stderr, exit 2 (main/run.ts). SIGINT/SIGTERM: clean stop; SIGKILL
 * at any moment loses nothing (the spool in DATA_DIR/ingest is resumed at the next start).
 */
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { openInflux } from '../core/influx/resolve.js';
import { createLogger } from '../core/log.js';
import { openSqliteRegistry } from '../core/registry/sqlite.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { spoolFile } from '../core/telemetry-spool.js';
import { startIngest } from '../ingest/index.js';
import { runMain } from './run.js';

await runMain(['common', 'mqtt', 'influx', 'ingest'], async (config) => {
  const logger = createLogger(config.common.logLevel, process.stderr as never);
  const dataDir = config.common.dataDir;
  const registry = openSqliteRegistry(path.join(dataDir, 'registry.db'), {
    deviceErrorsKept: config.ingest.deviceErrorsKept,
  });
  const closers: (() => Promise<void> | void)[] = [() => registry.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const serviceSecret = loadOrCreateServiceSecret(dataDir, config.common.serviceSecret);
    const influx = await openInflux(config.influx, dataDir, logger);
    closers.push(() => influx.close());
    const metrics = new Registry();
    metrics.setDefaultLabels({ component: 'ingest' });
    collectDefaultMetrics({ register: metrics });
    const ingest = await startIngest(config, {
      registry,
      influx: influx.connection,
      logger,
      serviceSecret,
      metrics,
      publishMetricsEveryMs: 5000,
    });
    closers.push(() => ingest.close());
    const s = ingest.status();
    process.stdout.write(
      `ingest running: ${spoolFile(dataDir)} -> ${influx.connection.url} ` +
        `(database ${influx.connection.database}); ${s.spooled} messages spooled; ` +
        `live readings via mqtt://${config.mqtt.host}:${config.mqtt.port}\n`,
    );
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { close: closeAll };
});
