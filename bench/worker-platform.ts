/**
 * Child process: the system under test. `platform` runs platform/start.ts (broker, ingest, API in
 * this one process, InfluxDB given by INFLUX_URL); `broker` runs the broker alone (connections
 * benchmark). Configured through the same environment variables as `npm start`.
 */
import path from 'node:path';
import { Registry as MetricsRegistry } from 'prom-client';
import { ALL_SECTIONS, loadConfig, type PlatformConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { openSqliteRegistry } from '../core/registry/sqlite/index.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { childParams, stopOnParent, tell } from './procs.js';

const { mode } = childParams<{ mode: 'platform' | 'broker' }>();
const config = loadConfig(process.env, ALL_SECTIONS) as PlatformConfig;
const logger = createLogger(config.common.logLevel);

// Imported per mode, so the broker-only run does not need every other component to load.
if (mode === 'platform') {
  const { startPlatform } = await import('../platform/start.js');
  const platform = await startPlatform(config, { logger });
  stopOnParent(() => platform.close());
  tell({ type: 'ready', mqttUrl: platform.mqttUrl, apiUrl: platform.apiUrl });
} else {
  const { startBroker } = await import('../broker/index.js');
  const registry = openSqliteRegistry(path.join(config.common.dataDir, 'registry.db'));
  const serviceSecret = loadOrCreateServiceSecret(config.common.dataDir, config.common.serviceSecret);
  const broker = await startBroker(config, {
    registry,
    logger,
    serviceSecret,
    metrics: new MetricsRegistry(),
  });
  stopOnParent(async () => {
    await broker.close();
    registry.close();
  });
  tell({ type: 'ready', mqttUrl: broker.address.url });
}
