/**
 * Liveness and readiness. `/healthz` answers while the process serves HTTP; `/readyz` also pings the
 * registry and runs every readiness check (e.g. InfluxDB), answering 503 naming the checks that failed.
 * Both are public and not rate limited (load balancers and orchestrators poll them).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { ErrorResponse } from '../schemas.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

const Ready = z.object({
  status: z.literal('ok'),
  checks: z
    .array(z.string())
    .meta({ description: 'The checks that passed', example: ['registry', 'influxdb'] }),
});

async function runCheck(c: ReadinessCheck): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsyncZod<{ readinessChecks: ReadinessCheck[] }> = async (
  app,
  opts,
) => {
  const checks: ReadinessCheck[] = [
    { name: 'registry', check: async () => app.registry.ping() },
    ...opts.readinessChecks,
  ];

  app.get(
    '/healthz',
    {
      config: { public: true, rateLimit: false },
      schema: {
        tags: ['health'],
        summary: 'Liveness: the API process is serving',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true, rateLimit: false },
      schema: {
        tags: ['health'],
        summary: 'Readiness: the registry and every dependency (e.g. InfluxDB) answer',
        description: 'A 503 error names the failed checks in `details.failed`.',
        response: { 200: Ready, 503: ErrorResponse },
      },
    },
    async (request) => {
      const results = await Promise.allSettled(checks.map(runCheck));
      const failed: string[] = [];
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          failed.push(checks[i]!.name);
          request.log.warn({ check: checks[i]!.name, err: r.reason }, 'readiness check failed');
        }
      });
      if (failed.length > 0) {
        throw new ApiError(503, 'unavailable', `not ready: ${failed.join(', ')}`, { failed });
      }
      return { status: 'ok' as const, checks: checks.map((c) => c.name) };
    },
  );
};
