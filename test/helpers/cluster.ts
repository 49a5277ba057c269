/**
 * A cluster for tests: a real Redis and PostgreSQL (temp dirs, free ports), the run's influxd (a fresh
 * database), and broker nodes, ingest workers and API replicas as separate processes on DATABASE_URL
 * and REDIS_URL. API replica i and ingest worker i talk to broker node i (wrapping around).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InfluxConnection } from '../../core/influx/client.js';
import { freePort } from '../../core/influx/managed.js';
import { type ComponentProcess, startComponent } from './cluster-process.js';
import { sharedInflux } from './influxd.js';
import { startTestPostgres, type TestPostgres } from './postgres.js';
import { startTestRedis, type TestRedis } from './redis.js';

export interface ClusterOptions {
  brokers: number;
  ingests: number;
  apis: number;
  /** PostgreSQL with fsync (tests that restart or kill it). */
  durablePostgres?: boolean;
  env?: Record<string, string>;
}

export interface TestCluster {
  redis: TestRedis;
  postgres: TestPostgres;
  influx: InfluxConnection;
  adminKey: string;
  brokerPorts: number[];
  apiUrls: string[];
  brokers: (ComponentProcess | undefined)[];
  ingests: (ComponentProcess | undefined)[];
  apis: (ComponentProcess | undefined)[];
  mqttUrl(node: number): string;
  startBroker(node: number): Promise<ComponentProcess>;
  startIngest(worker: number): Promise<ComponentProcess>;
  /** fetch against API replica `replica` with a bearer key. */
  api(
    replica: number,
    pathAndQuery: string,
    init?: RequestInit & { key?: string; json?: unknown },
  ): Promise<Response>;
  dispose(): Promise<void>;
}

export async function startTestCluster(opts: ClusterOptions): Promise<TestCluster> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cluster-test-'));
  const [redis, postgres, influx] = await Promise.all([
    startTestRedis(),
    startTestPostgres({ durable: opts.durablePostgres ?? false }),
    sharedInflux(),
  ]);
  const databaseUrl = await postgres.createDatabase('platform');
  const adminKey = `adm_${randomBytes(24).toString('base64url')}`;
  const brokerPorts = await Promise.all(Array.from({ length: opts.brokers }, () => freePort()));
  const apiPorts = await Promise.all(Array.from({ length: opts.apis }, () => freePort()));
  const base = {
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    INFLUX_URL: influx.url,
    INFLUX_DATABASE: influx.database,
    ADMIN_API_KEY: adminKey,
    SERVICE_SECRET: `svc-${randomBytes(16).toString('hex')}`,
    LOG_LEVEL: 'warn',
    MQTT_HOST: '127.0.0.1',
    DEVICE_MAX_MESSAGES_PER_SECOND: '100000',
    INGEST_FLUSH_MS: '20',
    INGEST_RECLAIM_IDLE_MS: '3000',
    BROKER_NODE_TTL_MS: '3000',
    ...opts.env,
  };
  const envOf = (name: string, extra: Record<string, string>) => ({
    ...base,
    DATA_DIR: path.join(root, name),
    ...extra,
  });
  const nodeOf = (i: number) => i % opts.brokers;
  const cluster: TestCluster = {
    redis,
    postgres,
    influx,
    adminKey,
    brokerPorts,
    apiUrls: apiPorts.map((p) => `http://127.0.0.1:${p}`),
    brokers: [],
    ingests: [],
    apis: [],
    mqttUrl: (node) => `mqtt://127.0.0.1:${brokerPorts[node]}`,
    async startBroker(node) {
      const env = envOf(`broker-${node + 1}`, {
        MQTT_PORT: String(brokerPorts[node]),
        BROKER_NODE_ID: `node-${node + 1}`,
      });
      const proc = await startComponent('broker', `broker node ${node + 1}`, env);
      cluster.brokers[node] = proc;
      return proc;
    },
    async startIngest(worker) {
      const env = envOf(`ingest-${worker + 1}`, {
        MQTT_PORT: String(brokerPorts[nodeOf(worker)]),
        INGEST_WORKER_ID: `worker-${worker + 1}-${randomBytes(3).toString('hex')}`,
      });
      const proc = await startComponent('ingest', `ingest worker ${worker + 1}`, env);
      cluster.ingests[worker] = proc;
      return proc;
    },
    api(replica, pathAndQuery, init = {}) {
      const headers = new Headers(init.headers);
      if (init.key) headers.set('authorization', `Bearer ${init.key}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(`${cluster.apiUrls[replica]}${pathAndQuery}`, { ...init, headers, body });
    },
    async dispose() {
      const all = [...cluster.apis, ...cluster.ingests, ...cluster.brokers].filter((p) => p !== undefined);
      await Promise.all(all.map((p) => p.kill('SIGTERM')));
      await Promise.all([redis.dispose(), postgres.dispose()]);
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    // Brokers first (the first one migrates the registry), then workers and replicas.
    await firstStart(cluster, 0);
    await Promise.all(brokerPorts.slice(1).map((_, i) => firstStart(cluster, i + 1)));
    const starts: Promise<unknown>[] = [];
    for (let w = 0; w < opts.ingests; w++) starts.push(cluster.startIngest(w));
    for (let r = 0; r < opts.apis; r++) {
      const env = envOf(`api-${r + 1}`, {
        MQTT_PORT: String(brokerPorts[nodeOf(r)]),
        HTTP_PORT: String(apiPorts[r]),
        CONSOLE_ENABLED: 'false',
      });
      starts.push(startComponent('api', `API replica ${r + 1}`, env).then((p) => (cluster.apis[r] = p)));
    }
    await Promise.all(starts);
  } catch (err) {
    await cluster.dispose();
    throw err;
  }
  return cluster;
}

export interface ClusterDevice {
  id: string;
  secret: string;
  topic: string;
}

/** A partner, a pilot and `count` devices, created through API replica `replica`. */
export async function provisionCluster(cluster: TestCluster, count: number, replica = 0) {
  const post = async (url: string, key: string, json: unknown) => {
    const res = await cluster.api(replica, url, { method: 'POST', key, json });
    if (res.status !== 201) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    // biome-ignore lint/suspicious/noExplicitAny: response bodies of several shapes
    return (await res.json()) as Record<string, any>;
  };
  const partner = await post('/v1/partners', cluster.adminKey, {
    name: `Acme ${randomBytes(3).toString('hex')}`,
    country: 'DE',
    kind: 'both',
  });
  const pilot = await post('/v1/pilots', partner.apiKey, { name: 'cluster pilot' });
  const devices: ClusterDevice[] = [];
  for (let i = 0; i < count; i++) {
    const d = await post(`/v1/pilots/${pilot.id}/devices`, partner.apiKey, { name: `device ${i + 1}` });
    devices.push({ id: d.id, secret: d.credentials.password, topic: d.credentials.topic });
  }
  return { apiKey: partner.apiKey as string, pilotId: pilot.id as string, devices };
}

/**
 * A node's first start. Its port was picked free before Redis, PostgreSQL and the migrations were
 * ready, and another test may have bound it since: then it gets another free port (nothing else uses
 * the port yet). A restart later keeps the node's port, as clients expect.
 */
async function firstStart(cluster: TestCluster, node: number, attempts = 3): Promise<ComponentProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await cluster.startBroker(node);
    } catch (err) {
      if (attempt >= attempts || !/is already in use/.test((err as Error).message)) throw err;
      cluster.brokerPorts[node] = await freePort();
    }
  }
}
