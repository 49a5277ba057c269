/**
 * GET `/query` answers as bytes, over a keep-alive agent of its own: telemetry reads transcode
 * InfluxDB's JSON without parsing it when they can (api/telemetry/windows-json.ts), so the answer
 * must reach them unparsed. Used by both backends; a non-2xx status rejects with InfluxDB's words.
 */
import http from 'node:http';
import https from 'node:https';

export type QueryBody = (params: Record<string, string>) => Promise<Buffer>;

export function influxQueryBody(opts: {
  /** Base URL without credentials, e.g. http://127.0.0.1:8086. */
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
}): QueryBody {
  const base = new URL(opts.url);
  const secure = base.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const request = secure ? https.request : http.request;
  const prefix = `${base.pathname.replace(/\/+$/, '')}/query?`;
  return (params) =>
    new Promise<Buffer>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: base.hostname,
          port: base.port || (secure ? 443 : 80),
          path: prefix + new URLSearchParams(params).toString(),
          headers: { accept: 'application/json', ...opts.headers },
          timeout: opts.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(body);
            else reject(new Error(`InfluxDB /query answered ${status}: ${body.toString('utf8', 0, 300)}`));
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`InfluxDB /query: no answer within ${opts.timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end();
    });
}
