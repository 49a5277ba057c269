/**
 * Writes line protocol to InfluxDB 1.x `/write` and classifies the outcome, which node-influx hides
 * behind its own retries and host backoff:
 * - 204: stored.
 * - 400 (field type conflict, partial write, points beyond retention policy, unable to parse,
 *   max-values-per-tag...) and 413: the data itself is refused. Retrying it unchanged would fail
 *   forever, so the caller splits the batch (see pipeline.ts) to find the bad points.
 * - 404 "database not found": the database is (re)created and the write is retried.
 * - anything else (5xx, 401/403, timeouts, connection refused): InfluxDB or its configuration is
 *   unavailable, not the data wrong; the caller retries with backoff and keeps the data.
 */
import type { InfluxConnection } from '../core/influx/client.js';

export class WriteRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`InfluxDB refused the write (${status}): ${body.slice(0, 300)}`);
    this.name = 'WriteRefusedError';
  }
}

export class WriteUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WriteUnavailableError';
  }
}

/** The narrow interface ingest writes through; `influxLineWriter` is the InfluxDB 1.x implementation. */
export interface PointWriter {
  /** Resolves when stored; rejects with WriteRefusedError or WriteUnavailableError. */
  write(lines: string[], signal?: AbortSignal): Promise<void>;
}

export interface InfluxLineWriterOptions {
  /** Base URL, e.g. http://127.0.0.1:8086 (credentials in the URL are used for Basic auth). */
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  timeoutMs?: number;
}

export function influxLineWriter(opts: InfluxLineWriterOptions): PointWriter {
  const u = new URL(opts.url);
  const username = opts.username ?? (decodeURIComponent(u.username) || undefined);
  const password = opts.password ?? decodeURIComponent(u.password);
  const base = `${u.protocol}//${u.host}`;
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (username) headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const writeUrl = `${base}/write?db=${encodeURIComponent(opts.database)}&precision=ms`;
  const timeoutMs = opts.timeoutMs ?? 30_000;

  async function post(
    url: string,
    body: string,
    signal?: AbortSignal,
  ): Promise<{ status: number; text: string }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      throw new WriteUnavailableError(
        `InfluxDB unreachable: ${(err as Error).cause ?? (err as Error).message}`,
      );
    }
  }

  async function createDatabase(): Promise<void> {
    // The config allows only [A-Za-z0-9_-] in database names, so quoting is enough.
    const q = `CREATE DATABASE "${opts.database.replace(/"/g, '')}"`;
    const res = await post(`${base}/query?q=${encodeURIComponent(q)}`, '');
    if (res.status >= 300)
      throw new WriteUnavailableError(`CREATE DATABASE answered ${res.status}: ${res.text}`);
  }

  return {
    async write(lines, signal) {
      const body = lines.join('\n');
      let res = await post(writeUrl, body, signal);
      if (res.status === 404 && /database not found/.test(res.text)) {
        await createDatabase();
        res = await post(writeUrl, body, signal);
      }
      if (res.status === 204 || res.status === 200) return;
      if (res.status === 400 || res.status === 413) throw new WriteRefusedError(res.status, res.text);
      throw new WriteUnavailableError(`InfluxDB answered ${res.status}: ${res.text.slice(0, 300)}`);
    },
  };
}

/** The writer for a node-influx connection, reusing its URL, database and credentials. */
export function writerForConnection(conn: InfluxConnection): PointWriter {
  // node-influx keeps its resolved options here; read only the credentials from them.
  const options = (conn.client as unknown as { _options?: { username?: string; password?: string } })
    ._options;
  return influxLineWriter({
    url: conn.url,
    database: conn.database,
    username: options?.username,
    password: options?.password,
  });
}
