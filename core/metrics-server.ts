/**
 * `GET /metrics` of a process that has no API (`npm run broker`, `npm run ingest`): a small HTTP
 * listener on BROKER_METRICS_PORT or INGEST_METRICS_PORT, so Prometheus scrapes each process itself
 * and its `up`, `job` and `instance` mean that process.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './log.js';
import { listenerUrl } from './urls.js';

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(
  registry: Registry,
  where: { host: string; port: number },
  logger: Logger,
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        logger.error({ err }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus' scrape interval: one connection
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `${listenerUrl('http', where.host, port)}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
