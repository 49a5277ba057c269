/**
 * `./platform.sh cluster` (issue 12): a demo cluster on one machine. The managed influxd, a managed
 * Redis and PostgreSQL, 3 broker nodes on 3 MQTT ports, 2 ingest workers and 2 API replicas as
 * processes of their own, and a simulated fleet spread over the nodes. The platform connects to
 * PostgreSQL as the `platform` role (owner of its database only), not as the superuser.
 * Closing stops everything in reverse order and leaves no process behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startWithCloseStack } from '../core/close-stack.js';
import { openRegistry } from '../core/cluster/stores.js';
import type { PlatformConfig } from '../core/config.js';
import { openInflux } from '../core/influx/resolve.js';
import type { Logger } from '../core/log.js';
import { type ManagedPostgres, startManagedPostgres } from '../core/postgres/managed.js';
import { preparePrivateDataDir } from '../core/private-files.js';
import { startManagedRedis } from '../core/redis/managed.js';
import { listenerUrl } from '../core/urls.js';
import { type ChildComponent, startChild } from './cluster-children.js';
import { startDemoFleet } from './demo.js';

export const CLUSTER_SHAPE = { brokers: 3, ingests: 2, apis: 2 } as const;

export interface RunningCluster {
  mqttUrls: string[];
  apiUrls: string[];
  influxUrl: string;
  children: ChildComponent[];
  banner: string;
  close(): Promise<void>;
}

/**
 * PostgreSQL's directory must be reachable by the `postgres` user when we run as root: a root-owned
 * 0700 DATA_DIR is not, so as root it lives in /var/tmp (kept across reboots), named after DATA_DIR.
 */
function postgresDir(dataDir: string): string {
  if (process.getuid?.() !== 0) return path.join(dataDir, 'cluster', 'postgres');
  const tag = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const parent = path.join('/var/tmp', `pilot-platform-${tag}`);
  mkdirSync(parent, { recursive: true });
  chmodSync(parent, 0o755); // umask 077 (main/run.ts) would leave it 0700

  return path.join(parent, 'postgres');
}

/** The least-privilege role: owns the `platform` database, nothing else. Returns its URL. */
async function platformRole(server: ManagedPostgres, clusterDir: string): Promise<string> {
  const file = path.join(clusterDir, 'platform-db-password');
  const password = existsSync(file) ? readFileSync(file, 'utf8').trim() : randomBytes(24).toString('hex');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  try {
    const role = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'platform'");
    const verb = role.rowCount === 0 ? 'CREATE' : 'ALTER';
    // The password is hex: no quoting issue in a utility statement, which takes no parameters.
    await admin.query(
      `${verb} ROLE platform LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password}'`,
    );
    const db = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'platform'");
    if (db.rowCount === 0) await admin.query('CREATE DATABASE platform OWNER platform');
  } finally {
    await admin.end();
  }
  return `postgres://platform:${password}@127.0.0.1:${server.port}/platform`;
}

export async function startCluster(config: PlatformConfig, logger: Logger): Promise<RunningCluster> {
  const dataDir = config.common.dataDir;
  preparePrivateDataDir(dataDir);
  const clusterDir = path.join(dataDir, 'cluster');
  const logDir = path.join(clusterDir, 'logs');
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  return startWithCloseStack(logger, async (stack) => {
    const influx = stack.push('influxdb', await openInflux(config.influx, dataDir, logger), (i) => i.close());
    const redis = stack.push(
      'redis',
      await startManagedRedis({ dir: path.join(clusterDir, 'redis'), logger }),
      (r) => r.stop(),
    );
    const postgres = stack.push(
      'postgres',
      await startManagedPostgres({ dir: postgresDir(dataDir), logger }),
      (p) => p.stop(),
    );
    const databaseUrl = await platformRole(postgres, clusterDir);
    const env = { ...process.env, DATA_DIR: dataDir, REDIS_URL: redis.url, DATABASE_URL: databaseUrl };
    const host = config.mqtt.host;
    const mqttPorts = [0, 1, 2].map((i) => config.mqtt.port + i);
    const httpPorts = [0, 1].map((i) => config.http.port + i);
    const children: ChildComponent[] = [];
    const start = async (...args: Parameters<typeof startChild>) => {
      const child = stack.push(args[1], await startChild(...args), (c) => c.stop());
      children.push(child);
      return child;
    };
    const broker = (i: number) =>
      start(
        'broker',
        `broker-${i + 1}`,
        { ...env, MQTT_PORT: String(mqttPorts[i]), BROKER_NODE_ID: `node-${i + 1}` },
        logDir,
      );
    const api = (i: number) =>
      start(
        'api',
        `api-${i + 1}`,
        { ...env, MQTT_PORT: String(mqttPorts[i]), HTTP_PORT: String(httpPorts[i]) },
        logDir,
      );
    await broker(0); // the first one migrates the registry
    await Promise.all([broker(1), broker(2)]);
    const first = await api(0); // the first replica makes the admin key when none is set
    await Promise.all([
      api(1),
      ...[0, 1].map((i) =>
        start(
          'ingest',
          `ingest-${i + 1}`,
          { ...env, MQTT_PORT: String(mqttPorts[i]), INGEST_WORKER_ID: `worker-${i + 1}` },
          logDir,
        ),
      ),
    ]);
    const mqttUrls = mqttPorts.map((p) => listenerUrl('mqtt', host, p));
    const apiUrls = httpPorts.map((p) => listenerUrl('http', config.http.host, p));
    const registry = stack.push(
      'registry',
      await openRegistry({ ...config, cluster: { ...config.cluster, databaseUrl } }, 'pilot-sim'),
      (r) => r.close(),
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
              mqttUrl: mqttUrls.join(','),
              logger,
            }),
            (d) => d.close(),
          )
        : undefined;
    const adminKey = /Admin key: (\S+)/.exec(first.banner)?.[1];
    const lines = [
      'Demo cluster running (Ctrl-C stops all of it):',
      ...mqttUrls.map((u, i) => `  MQTT broker node ${i + 1}:   ${u}`),
      ...apiUrls.map((u, i) => `  API replica ${i + 1}:        ${u} (OpenAPI: ${u}/docs)`),
      `  ingest workers:        ${CLUSTER_SHAPE.ingests} (logs in ${logDir})`,
      `  InfluxDB:              ${influx.connection.url} (${influx.connection.describe})`,
      `  Redis:                 127.0.0.1:${redis.port} (AOF, appendfsync everysec)`,
      `  PostgreSQL:            127.0.0.1:${postgres.port} (role platform)`,
      ...(adminKey ? [`  Admin key:             ${adminKey} (shown only this once)`] : []),
      ...(demo
        ? [
            `  Simulated fleet:       ${config.sim.devices} devices spread over the 3 nodes`,
            'Try it:',
            `  curl -s -H "Authorization: Bearer ${demo.state.apiKey}" "${apiUrls[1]}/v1/pilots/${demo.state.pilotId}/devices?limit=5"`,
          ]
        : ['Try it:', `  curl -s ${apiUrls[0]}/readyz`]),
    ];
    return { mqttUrls, apiUrls, influxUrl: influx.connection.url, children, banner: lines.join('\n') };
  });
}
