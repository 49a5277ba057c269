/**
 * The InfluxDB 1.x connection shared by ingest (writer) and API (reader): node-influx configured for
 * millisecond precision, plus the few server calls the platform needs outside of writes and queries.
 */
import { InfluxDB, type ISingleHostConfig } from 'influx';

export interface InfluxConnection {
  url: string;
  database: string;
  client: InfluxDB;
  /** Resolves when the server answers /ping; rejects otherwise (readiness). */
  ping(timeoutMs?: number): Promise<void>;
  /** CREATE DATABASE is idempotent in InfluxDB 1.x. */
  ensureDatabase(): Promise<void>;
}

export function connectInflux(url: string, database: string): InfluxConnection {
  const u = new URL(url);
  const options: ISingleHostConfig = {
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
    protocol: u.protocol === 'https:' ? 'https' : 'http',
    database,
  };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  const client = new InfluxDB(options);
  const base = `${u.protocol}//${u.host}`;
  return {
    url: base,
    database,
    client,
    async ping(timeoutMs = 2000) {
      const res = await fetch(`${base}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 204) throw new Error(`InfluxDB /ping answered ${res.status}`);
    },
    async ensureDatabase() {
      await client.createDatabase(database);
    },
  };
}
