/**
 * Which InfluxDB a component uses: INFLUX_URL when set; otherwise the managed influxd under
 * DATA_DIR/influxdb, attached to when another process of the platform already runs it, or started
 * (and later stopped) by this one.
 */
import path from 'node:path';
import type { InfluxConfig } from '../config.js';
import type { Logger } from '../log.js';
import { connectInflux, type InfluxConnection } from './client.js';
import { runningManagedInfluxdUrl, startManagedInfluxd } from './managed.js';

export interface OpenedInflux {
  connection: InfluxConnection;
  /** Whether this process started the server (and stops it on close). */
  managed: boolean;
  close(): Promise<void>;
}

export async function openInflux(
  config: InfluxConfig,
  dataDir: string,
  logger?: Logger,
): Promise<OpenedInflux> {
  if (config.url) {
    const connection = connectInflux(config.url, config.database);
    await connection.ensureDatabase();
    return { connection, managed: false, close: async () => {} };
  }
  const dir = path.join(dataDir, 'influxdb');
  const attached = runningManagedInfluxdUrl(dir);
  if (attached) {
    logger?.info({ url: attached }, 'using the managed influxd another platform process runs');
    const connection = connectInflux(attached, config.database);
    await connection.ensureDatabase();
    return { connection, managed: false, close: async () => {} };
  }
  const server = await startManagedInfluxd({ dir, influxdPath: config.influxdPath, logger });
  const connection = connectInflux(server.url, config.database);
  try {
    await connection.ensureDatabase();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { connection, managed: true, close: () => server.stop() };
}
