/**
 * The whole platform in one process (the quick start): InfluxDB (managed or given), the registry,
 * the broker, the ingest worker, the API and, when SIM_DEVICES > 0, a simulated demo fleet.
 * Components start in dependency order and stop in reverse order.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { collectDefaultMetrics, Registry as MetricsRegistry } from 'prom-client';
import { startApi } from '../api/server.js';
import { startBroker } from '../broker/index.js';
import type { PlatformConfig } from '../core/config.js';
import { openInflux } from '../core/influx/resolve.js';
import { createLogger, type Logger } from '../core/log.js';
import { openSqliteRegistry } from '../core/registry/sqlite.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { startIngest } from '../ingest/index.js';
import { type DemoFleet, startDemoFleet } from './demo.js';

export interface RunningPlatform {
  apiUrl: string;
  mqttUrl: string;
  influxUrl: string;
  /** Only on the start that generated it. */
  generatedAdminKey: string | undefined;
  demo: DemoFleet | undefined;
  close(): Promise<void>;
}

export async function startPlatform(
  config: PlatformConfig,
  deps: { logger?: Logger } = {},
): Promise<RunningPlatform> {
  const logger = deps.logger ?? createLogger(config.common.logLevel);
  const dataDir = config.common.dataDir;
  mkdirSync(dataDir, { recursive: true });
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics });

  const stack: { name: string; close: () => Promise<void> | void }[] = [];
  const close = async () => {
    for (const part of stack.reverse()) {
      try {
        await part.close();
      } catch (err) {
        logger.error({ err, part: part.name }, 'error while stopping');
      }
    }
  };

  try {
    const influx = await openInflux(config.influx, dataDir, logger);
    stack.push({ name: 'influxdb', close: () => influx.close() });

    const registry = openSqliteRegistry(path.join(dataDir, 'registry.db'), {
      deviceErrorsKept: config.ingest.deviceErrorsKept,
    });
    stack.push({ name: 'registry', close: () => registry.close() });
    const serviceSecret = loadOrCreateServiceSecret(dataDir, config.common.serviceSecret);

    const broker = await startBroker(config, { registry, logger, serviceSecret, metrics });
    stack.push({ name: 'broker', close: () => broker.close() });
    const mqttUrl = broker.address.url;

    const ingest = await startIngest(config, {
      registry,
      influx: influx.connection,
      logger,
      serviceSecret,
      metrics,
      mqttUrl,
    });
    stack.push({ name: 'ingest', close: () => ingest.close() });

    const api = await startApi(config, {
      registry,
      influx: influx.connection,
      logger,
      metrics,
      mqttUrl,
      mqttPublicUrl: config.mqtt.publicUrl,
      serviceSecret,
      maxPayloadBytes: config.broker.maxPayloadBytes,
      readinessChecks: [
        {
          name: 'ingest',
          check: async () => {
            const status = ingest.status();
            if (!status.influxHealthy)
              throw new Error(`ingest cannot write: ${status.lastError ?? 'unknown'}`);
          },
        },
      ],
    });
    stack.push({ name: 'api', close: () => api.close() });

    let demo: DemoFleet | undefined;
    if (config.sim.devices > 0) {
      demo = await startDemoFleet({
        registry,
        dataDir,
        devices: config.sim.devices,
        intervalMs: config.sim.intervalMs,
        mqttUrl,
        logger,
      });
      stack.push({ name: 'demo fleet', close: () => demo?.close() });
    }

    return {
      apiUrl: api.address.url,
      mqttUrl,
      influxUrl: influx.connection.url,
      generatedAdminKey: api.generatedAdminKey,
      demo,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
