/**
 * `npm run api`: the HTTP API alone. Reads the common, http, mqtt, influx and broker variables, opens
 * the registry in DATA_DIR (shared with the broker and ingest, which may be other processes), uses
 * INFLUX_URL or the managed influxd, and reaches the broker at MQTT_HOST:MQTT_PORT for live streams
 * and HTTP ingest. A bad variable: one message on stderr, exit 2 (main/run.ts).
 */
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startApi } from '../api/server.js';
import { openInflux } from '../core/influx/resolve.js';
import { createLogger } from '../core/log.js';
import { openSqliteRegistry } from '../core/registry/sqlite.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { runMain } from './run.js';

await runMain(['common', 'http', 'mqtt', 'influx', 'broker'], async (config) => {
  const logger = createLogger(config.common.logLevel, process.stderr as never);
  const dataDir = config.common.dataDir;
  const registry = openSqliteRegistry(path.join(dataDir, 'registry.db'));
  const closers: (() => Promise<void> | void)[] = [() => registry.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const serviceSecret = loadOrCreateServiceSecret(dataDir, config.common.serviceSecret);
    const influx = await openInflux(config.influx, dataDir, logger);
    closers.push(() => influx.close());
    const metrics = new Registry();
    metrics.setDefaultLabels({ component: 'api' });
    collectDefaultMetrics({ register: metrics });
    const host = config.mqtt.host.includes(':') ? `[${config.mqtt.host}]` : config.mqtt.host;
    const api = await startApi(config, {
      registry,
      influx: influx.connection,
      logger,
      metrics,
      mqttUrl: `mqtt://${host}:${config.mqtt.port}`,
      mqttPublicUrl: config.mqtt.publicUrl,
      serviceSecret,
      maxPayloadBytes: config.broker.maxPayloadBytes,
    });
    closers.push(() => api.close());
    process.stdout.write(`API listening on ${api.address.url} (OpenAPI: ${api.address.url}/docs)\n`);
    if (api.generatedAdminKey) {
      process.stdout.write(
        `Admin key: ${api.generatedAdminKey} (shown only this once; set ADMIN_API_KEY to replace it)\n`,
      );
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { close: closeAll };
});
