/**
 * `api_http_request_duration_seconds{method, route, status_class}`: each answered request, by its
 * route pattern (never the raw URL: ids would make a series per device) and status class (2xx, 4xx,
 * ...). Live streams are left out: their duration is how long someone watched.
 */
import type { FastifyInstance } from 'fastify';
import { Histogram, type Registry } from 'prom-client';

export function installHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const duration = new Histogram({
    name: 'api_http_request_duration_seconds',
    help: 'API requests from receipt to the last byte of the answer, by route pattern and status class',
    labelNames: ['method', 'route', 'status_class'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // Stream routes are marked with the kind of stream token they take (api/stream-tokens/auth.ts).
    const config = request.routeOptions.config as { streamToken?: unknown } | undefined;
    if (config?.streamToken !== undefined) return;
    duration.observe(
      {
        method: request.method,
        // Unmatched URLs (404s, probes) share one series.
        route: request.routeOptions.url ?? 'unmatched',
        status_class: `${Math.floor(reply.statusCode / 100)}xx`,
      },
      reply.elapsedTime / 1000,
    );
  });
}
