/**
 * The PointWriter for InfluxDB 1.x: line protocol to `/write?db=&precision=ms` over node:http
 * (query-http.ts), one request per call, no retries of its own. 400 refused, 413 split, 404
 * "database not found" recreated and retried, 401/403 configuration, anything else unavailable.
 */
import { influxRequester } from './query-http.js';
import {
  type PointWriter,
  parseRetryAfter,
  TooLargeError,
  tooLargeSplitter,
  WriteConfigurationError,
  WriteRefusedError,
  WriteUnavailableError,
} from './write.js';

export interface InfluxLineWriterOptions {
  /** Base URL, e.g. http://127.0.0.1:8086 (credentials in the URL are used for Basic auth). */
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  timeoutMs?: number;
  /**
   * Creates the database when a write finds it gone. Default: CREATE DATABASE with this writer's
   * credentials (the managed backend passes one that runs as its admin user).
   */
  createDatabase?: () => Promise<void>;
}

export function influxLineWriter(opts: InfluxLineWriterOptions): PointWriter {
  const u = new URL(opts.url);
  const username = opts.username ?? (decodeURIComponent(u.username) || undefined);
  const password = opts.password ?? decodeURIComponent(u.password);
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (username) headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const writePath = `/write?db=${encodeURIComponent(opts.database)}&precision=ms`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const request = influxRequester({ url: `${u.protocol}//${u.host}`, headers, timeoutMs });

  async function post(pathAndQuery: string, body: string, signal?: AbortSignal) {
    try {
      const res = await request('POST', pathAndQuery, body, signal);
      const retryAfter = res.headers['retry-after'];
      return { status: res.status, text: res.body.toString(), retryAfter };
    } catch (err) {
      throw new WriteUnavailableError(
        `InfluxDB unreachable: ${(err as Error).message}`,
        'InfluxDB unreachable',
      );
    }
  }

  const createDatabase =
    opts.createDatabase ??
    (async () => {
      // The config allows only [A-Za-z0-9_-] in database names, so quoting is enough.
      const q = `CREATE DATABASE "${opts.database.replace(/"/g, '')}"`;
      const res = await post(`/query?q=${encodeURIComponent(q)}`, '');
      if (res.status >= 300)
        throw new WriteUnavailableError(
          `CREATE DATABASE answered ${res.status}: ${res.text}`,
          `database "${opts.database}" missing and could not be created`,
        );
    });

  async function send(lines: string[], signal?: AbortSignal): Promise<void> {
    const body = lines.join('\n');
    let res = await post(writePath, body, signal);
    if (res.status === 404 && /database not found/.test(res.text)) {
      await createDatabase();
      res = await post(writePath, body, signal);
    }
    if (res.status === 204 || res.status === 200) return;
    if (res.status === 400) throw new WriteRefusedError(res.status, res.text);
    if (res.status === 413) throw new TooLargeError(res.text);
    if (res.status === 401 || res.status === 403) {
      throw new WriteConfigurationError(
        `InfluxDB 1.x refused the credentials (${res.status}: ${res.text.slice(0, 200)}): check INFLUX_USERNAME and ` +
          `INFLUX_PASSWORD, and that the user may write to database "${opts.database}"`,
        `configuration: InfluxDB refused the credentials (${res.status}); check INFLUX_USERNAME and INFLUX_PASSWORD`,
      );
    }
    throw new WriteUnavailableError(
      `InfluxDB answered ${res.status}: ${res.text.slice(0, 300)}`,
      `InfluxDB answered ${res.status}`,
      parseRetryAfter(res.retryAfter),
    );
  }

  return { write: tooLargeSplitter(send) };
}
