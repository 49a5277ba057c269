/**
 * GET /metrics: the Prometheus text format of the metrics registry this process shares between its
 * components (broker, ingest and API when they run in one process).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

export const metricsRoutes =
  (metrics: Registry): FastifyPluginAsync =>
  async (app) => {
    app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
      reply.header('content-type', metrics.contentType);
      return metrics.metrics();
    });
  };
