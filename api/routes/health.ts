/**
 * Liveness and readiness. `/healthz` answers while the process serves HTTP; `/readyz` also pings the
 * registry and runs every readiness check (e.g. InfluxDB), answering 503 naming the checks that failed
 * and, for checks that fail with a ReadinessProblem (core/readiness.ts), what an operator should fix.
 * Other errors are logged only: they may carry addresses. Both are public and not rate limited (load
 * balancers and orchestrators poll them).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ReadinessCheck, ReadinessProblem } from '../../core/readiness.js';
import { ApiError } from '../errors.js';
import { ErrorResponse } from '../schemas.js';

export type { ReadinessCheck };

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
    { name: 'registry', check: () => app.registry.ping() },
    ...opts.readinessChecks,
  ];

  app.get(
    '/healthz',
    {
      config: { public: true, rateLimit: false },
      schema: {
        operationId: 'getHealth',
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
        operationId: 'getReadiness',
        tags: ['health'],
        summary: 'Readiness: the registry and every dependency (e.g. InfluxDB) answer',
        description:
          'A 503 error names the failed checks in `details.failed`, and says what is wrong in ' +
          '`details.problems` (check -> message) where an operator can fix it (e.g. a refused InfluxDB token).',
        response: { 200: Ready, 503: ErrorResponse },
      },
    },
    async (request) => {
      const results = await Promise.allSettled(checks.map(runCheck));
      const failed: string[] = [];
      const problems: Record<string, string> = {};
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          const name = checks[i]!.name;
          failed.push(name);
          if (r.reason instanceof ReadinessProblem) problems[name] = r.reason.message;
          request.log.warn({ check: name, err: r.reason }, 'readiness check failed');
        }
      });
      if (failed.length > 0) {
        const details = Object.keys(problems).length > 0 ? { failed, problems } : { failed };
        throw new ApiError(503, 'unavailable', `not ready: ${failed.join(', ')}`, details);
      }
      return { status: 'ok' as const, checks: checks.map((c) => c.name) };
    },
  );
};
