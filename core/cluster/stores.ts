/**
 * The storage a component gets from configuration: PostgreSQL for the registry when DATABASE_URL is
 * set (else SQLite in DATA_DIR), a Redis Stream journal when REDIS_URL is set (else undefined: the
 * components open the SQLite journal in DATA_DIR). Cluster modules are imported only when configured,
 * so the embedded quick start loads none of them.
 */
import os from 'node:os';
import type { ClusterConfig, CommonConfig, RegistryConfig } from '../config.js';
import type { TelemetryJournal } from '../journal/types.js';
import { openDataDirRegistry } from '../registry/sqlite/index.js';
import type { RegistryStore } from '../registry/types.js';
import { WAIT_FOR_REDIS } from './redis-options.js';

export interface StoreConfig {
  common: CommonConfig;
  registry: RegistryConfig;
  cluster: ClusterConfig;
}

export async function openRegistry(config: StoreConfig, applicationName: string): Promise<RegistryStore> {
  const url = config.cluster.databaseUrl;
  if (!url) return openDataDirRegistry(config.common.dataDir, config.registry.deviceErrorsKept);
  const { openPostgresRegistry } = await import('../registry/postgres/index.js');
  return openPostgresRegistry({ url, applicationName, deviceErrorsKept: config.registry.deviceErrorsKept });
}

/** The Redis Stream journal when REDIS_URL is set; undefined for the SQLite one in DATA_DIR. */
export async function openClusterJournal(cluster: ClusterConfig): Promise<TelemetryJournal | undefined> {
  if (!cluster.redisUrl) return undefined;
  const { openRedisJournal } = await import('../journal/redis.js');
  return openRedisJournal({
    url: cluster.redisUrl,
    consumer: cluster.workerId ?? `${os.hostname()}-${process.pid}`,
    // Marked alive several times per idle period, so only a dead worker's entries are taken over.
    keepAliveMs: Math.min(10_000, Math.floor(cluster.reclaimIdleMs / 4)),
    redisOptions: WAIT_FOR_REDIS,
  });
}

/** This broker node's name (presence rows): BROKER_NODE_ID, else `{hostname}-{port}` or `{hostname}-{pid}`. */
export function brokerNodeId(cluster: Pick<ClusterConfig, 'nodeId'>, mqttPort: number): string {
  return cluster.nodeId ?? `${os.hostname()}-${mqttPort || process.pid}`;
}
