/**
 * The InfluxDB 1.x connection shared by ingest (writer) and API (reader): node-influx configured for
 * the server calls the platform needs besides reads and writes, the `/write` writer (v1-writer.ts) and
 * `/query` reads as bytes (query-http.ts). Credentials: `auth`, or user:password@ in the URL.
 */
import { InfluxDB, type ISingleHostConfig } from 'influx';
import { ReadinessProblem } from '../readiness.js';
import type { InfluxBackend } from './backend.js';
import { parseQueryAnswer } from './influxql.js';
import { influxQueryBody } from './query-http.js';
import { influxLineWriter } from './v1-writer.js';

export interface InfluxConnection extends InfluxBackend {
  kind: 'v1';
  database: string;
  client: InfluxDB;
  /** Resolves when the server answers /ping; rejects otherwise (readiness). */
  ping(timeoutMs?: number): Promise<void>;
  /** CREATE DATABASE is idempotent in InfluxDB 1.x. */
  ensureDatabase(): Promise<void>;
}

export interface InfluxAuth {
  username: string;
  password: string;
}

export interface ConnectOptions {
  auth?: InfluxAuth | undefined;
  /** How the writer recreates a dropped database (default: CREATE DATABASE as `auth`). */
  createDatabase?: () => Promise<void>;
}

export function connectInflux(url: string, database: string, opts: ConnectOptions = {}): InfluxConnection {
  const u = new URL(url);
  const options: ISingleHostConfig = {
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
    protocol: u.protocol === 'https:' ? 'https' : 'http',
    database,
  };
  const username = opts.auth?.username ?? (decodeURIComponent(u.username) || undefined);
  const password = opts.auth?.password ?? decodeURIComponent(u.password);
  if (username) {
    options.username = username;
    options.password = password;
  }
  const client = new InfluxDB(options);
  const base = `${u.protocol}//${u.host}`;
  const queryBody = influxQueryBody({
    url: base,
    headers: username
      ? { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` }
      : {},
    timeoutMs: 30_000,
  });
  const ping = async (timeoutMs = 2000) => {
    const res = await fetch(`${base}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 204) throw new Error(`InfluxDB /ping answered ${res.status}`);
  };
  return {
    kind: 'v1',
    url: base,
    database,
    describe: `database "${database}"`,
    client,
    writer: influxLineWriter({
      url: base,
      database,
      username,
      password,
      createDatabase: opts.createDatabase,
    }),
    readiness: [
      { name: 'influxdb', check: () => ping() },
      {
        name: 'influxdb-query',
        check: async () => {
          try {
            await client.queryRaw('SHOW MEASUREMENTS LIMIT 1');
          } catch (err) {
            const status = /\b(40[13])\b/.exec((err as Error).message)?.[1];
            if (!status) throw err;
            throw new ReadinessProblem(
              `InfluxDB refused the credentials for queries (${status}): check INFLUX_USERNAME and INFLUX_PASSWORD`,
            );
          }
        },
      },
    ],
    // Statements joined by ";" in one GET, as node-influx's queryRaw sends them.
    query: async (statements) =>
      parseQueryAnswer(await queryBody({ db: database, epoch: 'ms', q: statements.join(';') })),
    // MessagePack: influxd spends about 7% less CPU per windows answer than on JSON (docs/DESIGN.md).
    queryAnswer: (statement) => queryBody({ db: database, epoch: 'ms', q: statement }, 'msgpack'),
    ping,
    async ensureDatabase() {
      await client.createDatabase(database);
    },
  };
}
