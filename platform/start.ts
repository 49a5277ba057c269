/**
 * The whole platform in one process (the quick start): InfluxDB (managed or given), the registry,
 * the broker, the ingest worker, the API and, when SIM_DEVICES > 0, a simulated demo fleet.
 * Components start in dependency order and stop in reverse order.
 */

import { collectDefaultMetrics, Registry as MetricsRegistry } from 'prom-client';
import { startApi } from '../api/server.js';
import { startBroker } from '../broker/index.js';
import { startWithCloseStack } from '../core/close-stack.js';
import type { PlatformConfig } from '../core/config.js';
import { keyLimitsOf } from '../core/config.js';
import { openInflux } from '../core/influx/resolve.js';
import { createLogger, type Logger } from '../core/log.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import { ReadinessProblem } from '../core/readiness.js';
import { openDataDirRegistry } from '../core/registry/sqlite/index.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import { startIngest } from '../ingest/index.js';
import { type DemoFleet, startDemoFleet } from './demo.js';

export interface RunningPlatform {
  apiUrl: string;
  mqttUrl: string;
  influxUrl: string;
  /** Where readings go, e.g. `database "telemetry"` or `org "o", bucket "b"`. */
  influxTarget: string;
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
  preparePrivateDataDir(dataDir);
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics });

  return startWithCloseStack(logger, async (stack) => {
    const influx = stack.push('influxdb', await openInflux(config.influx, dataDir, logger), (i) => i.close());
    const registry = stack.push(
      'registry',
      openDataDirRegistry(dataDir, config.registry.deviceErrorsKept),
      (r) => r.close(),
    );
    const serviceSecret = loadOrCreateServiceSecret(dataDir, config.common.serviceSecret);

    const broker = stack.push(
      'broker',
      await startBroker(config, { registry, logger, serviceSecret, metrics }),
      (b) => b.close(),
    );
    const mqttUrl = broker.address.url;

    const ingest = stack.push(
      'ingest',
      await startIngest(config, {
        registry,
        influx: influx.connection,
        logger,
        serviceSecret,
        metrics,
        mqttUrl,
      }),
      (i) => i.close(),
    );

    const api = stack.push(
      'api',
      await startApi(config, {
        registry,
        influx: influx.connection,
        logger,
        metrics,
        mqttUrl,
        mqttPublicUrl: config.mqtt.publicUrl,
        serviceSecret,
        maxPayloadBytes: config.broker.maxPayloadBytes,
        deviceRate: {
          perSecond: config.broker.deviceMaxMessagesPerSecond,
          burst: config.broker.deviceBurstMessages,
        },
        keyLimits: keyLimitsOf(config.ingest),
        readinessChecks: [
          {
            name: 'ingest',
            check: async () => {
              const status = await ingest.status();
              // The reason without addresses: /readyz is public. The log has the full error.
              if (!status.influxHealthy)
                throw new ReadinessProblem(
                  `ingest cannot write: ${status.writeProblem ?? 'InfluxDB unavailable'}`,
                );
            },
          },
        ],
      }),
      (a) => a.close(),
    );

    const demo =
      config.sim.devices > 0
        ? stack.push(
            'demo fleet',
            await startDemoFleet({
              registry,
              dataDir,
              devices: config.sim.devices,
              intervalMs: config.sim.intervalMs,
              mqttUrl,
              logger,
            }),
            (d) => d.close(),
          )
        : undefined;

    return {
      apiUrl: api.address.url,
      mqttUrl,
      influxUrl: influx.connection.url,
      influxTarget: influx.connection.describe,
      generatedAdminKey: api.generatedAdminKey,
      demo,
    };
  });
}
