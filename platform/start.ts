/**
 * The whole platform in one process (the quick start): InfluxDB (managed or given), the registry,
 * the broker, the ingest worker, the API and, when SIM_DEVICES > 0, a simulated demo fleet.
 * Components start in dependency order and stop in reverse order.
 */

import { collectDefaultMetrics, Registry as MetricsRegistry } from 'prom-client';
import type { ReadinessCheck } from '../api/app.js';
import { apiDepsOf, startApi } from '../api/index.js';
import { startBroker } from '../broker/index.js';
import { startWithCloseStack } from '../core/close-stack.js';
import { openClusterJournal, openRegistry } from '../core/cluster/stores.js';
import type { PlatformConfig } from '../core/config.js';
import { openInflux } from '../core/influx/resolve.js';
import { openDataDirJournal } from '../core/journal/sqlite.js';
import { createLogger, type Logger } from '../core/log.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import { ReadinessProblem } from '../core/readiness.js';
import type { RegistryStore } from '../core/registry/types.js';
import { loadOrCreateServiceSecret } from '../core/secrets.js';
import type { BrokerUrls } from '../core/urls.js';
import { type IngestHandle, startIngest } from '../ingest/index.js';
import { type DemoFleet, startDemoFleet } from './demo.js';

export interface RunningPlatform {
  apiUrl: string;
  mqttUrl: string;
  /** Every MQTT listener's URL (mqtt, and mqtts, ws, wss when on). */
  brokerUrls: BrokerUrls;
  /** The CA of mqtts and wss, when known (self-signed: DATA_DIR/tls/ca.pem). */
  caFile: string | undefined;
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
    // SQLite in DATA_DIR, or PostgreSQL and a Redis Stream when DATABASE_URL / REDIS_URL are set.
    const registry = stack.push('registry', await openRegistry(config, 'pilot-platform'), (r) => r.close());
    // One journal for the broker and ingest: with SQLite, ingest then reads what the broker's commits
    // just wrote from memory (core/journal/sqlite-tail.ts) instead of selecting it back.
    const journal = stack.push(
      'journal',
      (await openClusterJournal(config.cluster)) ?? openDataDirJournal(dataDir),
      (j) => j.close(),
    );
    const serviceSecret = loadOrCreateServiceSecret(dataDir, config.common.serviceSecret);
    const shared = { registry, logger, serviceSecret, metrics, journal };
    const broker = stack.push('broker', await startBroker(config, shared), (b) => b.close());
    const mqttUrl = broker.address.url;
    const ingest = stack.push(
      'ingest',
      await startIngest(config, {
        ...shared,
        influx: influx.connection,
        mqttUrl,
        reclaimIdleMs: config.cluster.reclaimIdleMs,
      }),
      (i) => i.close(),
    );
    const api = stack.push(
      'api',
      await startApi(config, {
        ...apiDepsOf(config, shared, influx.connection, mqttUrl, broker.urls),
        readinessChecks: [ingestReadiness(ingest)],
      }),
      (a) => a.close(),
    );
    const demo =
      config.sim.devices > 0
        ? stack.push('demo fleet', await startDemo(config, registry, mqttUrl, logger), (d) => d.close())
        : undefined;
    return {
      apiUrl: api.address.url,
      mqttUrl,
      brokerUrls: broker.urls,
      caFile: broker.caFile,
      influxUrl: influx.connection.url,
      influxTarget: influx.connection.describe,
      generatedAdminKey: api.generatedAdminKey,
      demo,
    };
  });
}

/** /readyz: ingest must be able to write (the reason without addresses: /readyz is public). */
function ingestReadiness(ingest: IngestHandle): ReadinessCheck {
  return {
    name: 'ingest',
    check: async () => {
      const status = await ingest.status();
      if (!status.influxHealthy)
        throw new ReadinessProblem(`ingest cannot write: ${status.writeProblem ?? 'InfluxDB unavailable'}`);
    },
  };
}

function startDemo(config: PlatformConfig, registry: RegistryStore, mqttUrl: string, logger: Logger) {
  return startDemoFleet({
    registry,
    dataDir: config.common.dataDir,
    devices: config.sim.devices,
    intervalMs: config.sim.intervalMs,
    mqttUrl,
    logger,
  });
}
