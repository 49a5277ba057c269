/**
 * GET /metrics: the Prometheus text format of the metrics registry this process shares between its
 * components (broker, ingest and API when they run in one process), plus the latest samples that
 * broker and ingest publish when they run as their own processes (core/metrics-relay.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { RemoteMetrics } from '../../core/metrics-relay.js';

export const metricsRoutes =
  (metrics: Registry, remote?: RemoteMetrics): FastifyPluginAsync =>
  async (app) => {
    // Not rate limited: a scraper must keep working whatever else comes from its address.
    const config = { public: true, rateLimit: false as const };
    app.get('/metrics', { config, schema: { hide: true } }, async (_request, reply) => {
      reply.header('content-type', metrics.contentType);
      return remote ? remote.render(metrics) : metrics.metrics();
    });
  };
