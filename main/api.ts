/**
 * `npm run api`: the HTTP API alone. Reads the common, http, mqtt, influx, broker and ingest variables
 * (payload size and device-error bound, shared with the broker and ingest), opens
 * the registry in DATA_DIR (shared with the broker and ingest, which may be other processes), uses
 * INFLUX_URL or the managed influxd, and reaches the broker at MQTT_HOST:MQTT_PORT for live streams
 * and HTTP ingest. A bad variable: one message on stderr, exit 2 (main/run.ts).
 */

import { apiDepsOf, startApi } from '../api/index.js';
import { openInflux } from '../core/influx/resolve.js';
import { componentMetrics } from '../core/metrics-relay.js';
import { brokerUrl } from '../core/urls.js';
import { FIRST_STEPS } from './banner.js';
import { runComponent } from './component.js';

await runComponent(
  ['http', 'mqtt', 'mqttListeners', 'influx', 'broker', 'ingest'],
  async (config, { logger, dataDir, registry, serviceSecret, stack }) => {
    const influx = stack.push('influxdb', await openInflux(config.influx, dataDir, logger), (i) => i.close());
    const shared = { registry, logger, serviceSecret, metrics: componentMetrics('api') };
    const deps = apiDepsOf(config, shared, influx.connection, brokerUrl(config.mqtt));
    const api = stack.push('api', await startApi(config, deps), (a) => a.close());
    process.stdout.write(`API listening on ${api.address.url} (OpenAPI: ${api.address.url}/docs)\n`);
    if (config.http.consoleEnabled) process.stdout.write(`Console: ${api.address.url}/console/\n`);
    if (api.generatedAdminKey) {
      process.stdout.write(
        `Admin key: ${api.generatedAdminKey} (shown only this once; set ADMIN_API_KEY to replace it)\n`,
      );
    }
    const adminExport = api.generatedAdminKey ? ` ADMIN_KEY=${api.generatedAdminKey}` : '';
    process.stdout.write(
      `Ready to paste, for the ${FIRST_STEPS}:\n  export API=${api.address.url}${adminExport}\n`,
    );
  },
);
