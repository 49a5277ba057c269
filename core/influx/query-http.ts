/**
 * InfluxDB over node:http with a keep-alive agent of its own: telemetry reads take `/query` answers as
 * bytes (api/telemetry/windows-json.ts transcodes them unparsed), and the 1.x writer posts line
 * protocol (cheaper per write than fetch, whose web streams cost ingest ~2% of its CPU). Used by both
 * backends' reads; a non-2xx `/query` status rejects with InfluxDB's words.
 */
import http from 'node:http';
import https from 'node:https';

export type QueryBody = (params: Record<string, string>) => Promise<Buffer>;

export interface InfluxAnswer {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

/** One request: `pathAndQuery` below the base URL's path; rejects on a network fault or the timeout. */
export type InfluxRequest = (
  method: 'GET' | 'POST',
  pathAndQuery: string,
  body?: string,
  signal?: AbortSignal,
) => Promise<InfluxAnswer>;

export interface InfluxHttpOptions {
  /** Base URL without credentials, e.g. http://127.0.0.1:8086. */
  url: string;
  headers: Record<string, string>;
  /** Socket idle time after which a request fails. */
  timeoutMs: number;
}

export function influxRequester(opts: InfluxHttpOptions): InfluxRequest {
  const base = new URL(opts.url);
  const secure = base.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const request = secure ? https.request : http.request;
  const prefix = base.pathname.replace(/\/+$/, '');
  const port = base.port || (secure ? 443 : 80);
  return (method, pathAndQuery, body, signal) =>
    new Promise<InfluxAnswer>((resolve, reject) => {
      const req = request(
        {
          agent,
          method,
          host: base.hostname,
          port,
          path: prefix + pathAndQuery,
          headers:
            body === undefined
              ? opts.headers
              : { ...opts.headers, 'content-length': Buffer.byteLength(body) },
          timeout: opts.timeoutMs,
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
              headers: res.headers,
            }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
}

export function influxQueryBody(opts: InfluxHttpOptions): QueryBody {
  const send = influxRequester({ ...opts, headers: { accept: 'application/json', ...opts.headers } });
  return async (params) => {
    const res = await send('GET', `/query?${new URLSearchParams(params).toString()}`).catch((err: Error) => {
      throw new Error(`InfluxDB /query: ${err.message}`);
    });
    if (res.status >= 200 && res.status < 300) return res.body;
    throw new Error(`InfluxDB /query answered ${res.status}: ${res.body.toString('utf8', 0, 300)}`);
  };
}
