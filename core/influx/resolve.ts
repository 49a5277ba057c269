/**
 * Which InfluxDB a component uses (core/config-influx.ts): the v2 API backend (INFLUX_URL with
 * INFLUX_TOKEN/ORG/BUCKET), a 1.x server (INFLUX_URL, optional INFLUX_USERNAME/PASSWORD), or the
 * managed influxd under DATA_DIR/influxdb (auth on, users of its own; managed-auth.ts), attached to
 * when another process of the platform already runs it, or started (and later stopped) by this one.
 */
import path from 'node:path';
import type { InfluxConfig, ManagedInfluxConfig } from '../config-influx.js';
import type { Logger } from '../log.js';
import type { InfluxBackend } from './backend.js';
import { connectInflux } from './client.js';
import { runningManagedInfluxdUrl, startManagedInfluxd } from './managed.js';
import { postQuery, provisionManagedUsers } from './managed-auth.js';
import { managedPortFromConfig } from './managed-port.js';
import { connectInfluxV2 } from './v2.js';
import { WriteUnavailableError } from './write.js';

export interface OpenedInflux {
  connection: InfluxBackend;
  /** Whether this process started the server (and stops it on close). */
  managed: boolean;
  close(): Promise<void>;
}

export async function openInflux(
  config: InfluxConfig,
  dataDir: string,
  logger?: Logger,
): Promise<OpenedInflux> {
  if (config.backend === 'v2') {
    const connection = await connectInfluxV2(config, { logger });
    return { connection, managed: false, close: async () => {} };
  }
  if (config.backend === 'v1') {
    const auth =
      config.username !== undefined
        ? { username: config.username, password: config.password ?? '' }
        : undefined;
    const connection = connectInflux(config.url, config.database, { auth });
    try {
      await connection.ensureDatabase();
    } catch (err) {
      // A user with ALL on an existing database may not create databases (admins only): carry on;
      // wrong credentials show as a configuration fault at the first write and on /readyz.
      if (!/\b40[13]\b/.test((err as Error).message)) throw err;
      logger?.warn(
        { database: config.database },
        'INFLUX_USERNAME may not create databases; assuming it exists',
      );
    }
    return { connection, managed: false, close: async () => {} };
  }
  return openManaged(config, dataDir, logger);
}

async function openManaged(
  config: ManagedInfluxConfig,
  dataDir: string,
  logger?: Logger,
): Promise<OpenedInflux> {
  const dir = path.join(dataDir, 'influxdb');
  const attached = runningManagedInfluxdUrl(dir);
  if (attached) {
    logger?.info({ url: attached }, 'using the managed influxd another platform process runs');
    return {
      connection: await managedConnection(attached, dir, config.database),
      managed: false,
      close: async () => {},
    };
  }
  const server = await startManagedInfluxd({
    dir,
    influxdPath: config.influxdPath,
    logger,
    port: managedPortFromConfig(config.managedPort),
  });
  try {
    return {
      connection: await managedConnection(server.url, dir, config.database),
      managed: true,
      close: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** The platform user's connection; a dropped database is recreated as the admin. */
async function managedConnection(url: string, dir: string, database: string) {
  const { admin, platform } = await provisionManagedUsers(url, dir, database);
  return connectInflux(url, database, {
    auth: platform,
    createDatabase: async () => {
      const answer = await postQuery(url, `CREATE DATABASE "${database}"`, admin);
      if (answer.status !== 200)
        throw new WriteUnavailableError(
          `CREATE DATABASE answered ${answer.status}`,
          `database "${database}" missing`,
        );
    },
  });
}
