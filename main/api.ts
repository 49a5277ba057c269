/**
 * `npm run api`: the HTTP API alone. Reads the common, http, mqtt, influx, broker and ingest variables
 * (payload size and device-error bound, shared with the broker and ingest), opens
 * the registry in DATA_DIR (shared with the broker and ingest, which may be other processes), uses
 * INFLUX_URL or the managed influxd, and reaches the broker at MQTT_HOST:MQTT_PORT for live streams
 * and HTTP ingest. A bad variable: one message on stderr, exit 2 (main/run.ts).
 */

import { startApi } from '../api/server.js';
import { startWithCloseStack } from '../core/close-stack.js';
import { keyLimitsOf } from '../core/config.js';
import { openInflux } from '../core/influx/resolve.js';
import { createLogger } from '../core/log.js';
import { componentMetrics } from '../core/metrics-relay.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import { openDataDirRegistry } from '../core/registry/sqlite/index.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { brokerUrl } from '../core/urls.js';
import { runMain } from './run.js';

await runMain(['common', 'http', 'mqtt', 'influx', 'broker', 'ingest', 'registry'], async (config) => {
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
    const api = stack.push(
      'api',
      await startApi(config, {
        registry,
        influx: influx.connection,
        logger,
        metrics: componentMetrics('api'),
        mqttUrl: brokerUrl(config.mqtt),
        mqttPublicUrl: config.mqtt.publicUrl,
        serviceSecret,
        maxPayloadBytes: config.broker.maxPayloadBytes,
        deviceRate: {
          perSecond: config.broker.deviceMaxMessagesPerSecond,
          burst: config.broker.deviceBurstMessages,
        },
        keyLimits: keyLimitsOf(config.ingest),
      }),
      (a) => a.close(),
    );
    process.stdout.write(`API listening on ${api.address.url} (OpenAPI: ${api.address.url}/docs)\n`);
    if (config.http.consoleEnabled) process.stdout.write(`Console: ${api.address.url}/console/\n`);
    if (api.generatedAdminKey) {
      process.stdout.write(
        `Admin key: ${api.generatedAdminKey} (shown only this once; set ADMIN_API_KEY to replace it)\n`,
      );
    }
    return {};
  });
});
