/**
 * InfluxDB over node:http with a keep-alive agent of its own: telemetry reads take `/query` answers as
 * bytes, JSON or MessagePack (api/telemetry/windows-json.ts and windows-msgpack.ts transcode them
 * unparsed), and the 1.x writer posts line protocol (cheaper per write than fetch, whose web streams
 * cost ingest ~2% of its CPU). Used by both backends' reads; a non-2xx `/query` status rejects with
 * InfluxDB's words.
 */
import http from 'node:http';
import https from 'node:https';
import { decodeMsgpack } from './msgpack.js';

/** A `/query` answer's bytes and their format (the server's Content-Type). */
export interface QueryAnswer {
  format: 'json' | 'msgpack';
  body: Buffer;
}

/** `/query` with these parameters, asking for `format` (JSON unless told). */
export type QueryBody = (
  params: Record<string, string>,
  format?: QueryAnswer['format'],
) => Promise<QueryAnswer>;

const ACCEPT = { json: 'application/json', msgpack: 'application/x-msgpack' } as const;

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
  headers?: Record<string, string>,
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
  return (method, pathAndQuery, body, signal, headers) =>
    new Promise<InfluxAnswer>((resolve, reject) => {
      const req = request(
        {
          agent,
          method,
          host: base.hostname,
          port,
          path: prefix + pathAndQuery,
          headers: {
            ...opts.headers,
            ...headers,
            ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }),
          },
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
  const send = influxRequester(opts);
  return async (params, format = 'json') => {
    const path = `/query?${new URLSearchParams(params).toString()}`;
    const res = await send('GET', path, undefined, undefined, { accept: ACCEPT[format] }).catch(
      (err: Error) => {
        throw new Error(`InfluxDB /query: ${err.message}`);
      },
    );
    // A server that does not speak MessagePack answers JSON: the Content-Type says which came.
    const answer: QueryAnswer = {
      format: String(res.headers['content-type']).startsWith(ACCEPT.msgpack) ? 'msgpack' : 'json',
      body: res.body,
    };
    if (res.status >= 200 && res.status < 300) return answer;
    throw new Error(`InfluxDB /query answered ${res.status}: ${errorText(answer)}`);
  };
}

/** What a refused `/query` says, in either format. */
function errorText(answer: QueryAnswer): string {
  if (answer.format === 'json') return answer.body.toString('utf8', 0, 300);
  try {
    const decoded = decodeMsgpack(answer.body) as { error?: unknown };
    return String(decoded?.error ?? '').slice(0, 300);
  } catch {
    return '(an answer that is not MessagePack)';
  }
}
