/**
 * Builds the HTTP API (not listening; the caller listens, tests use `app.inject()`).
 *
 * Order matters: compilers, error handlers and auth hooks first, then rate limiting (it adds its
 * hook to routes registered after it), then the docs, then the routes. Extra route plugins
 * (`deps.plugins`, e.g. telemetry) are registered last under the same auth, limits and error handling;
 * they declare full paths (`/v1/...`).
 */
import { randomBytes } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { FailedAuthOptions } from '../core/failed-auth-throttle.js';
import { REDACTION } from '../core/log.js';
import type { RegistryStore } from '../core/registry/types.js';
import { installAuth } from './auth.js';
import type { ConsoleBundle } from './console/bundle.js';
import { consoleRoutes } from './console/routes.js';
import { installCors } from './cors.js';
import { ApiError, clientErrorHandler, frameworkErrorHandler, installErrorHandlers } from './errors.js';
import { installJsonBodyParser } from './json-body.js';
import { requestSerializer } from './log-redaction.js';
import { deviceErrorRoutes, deviceRoutes } from './routes/devices.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { partnerRoutes } from './routes/partners.js';
import { pilotOverviewRoutes } from './routes/pilot-overview.js';
import { pilotRoutes } from './routes/pilots.js';
import { streamTokenRoutes } from './routes/stream-tokens.js';
import { installStreamTokenAuth } from './stream-tokens/auth.js';
import { createStreamTokens, type StreamTokens } from './stream-tokens/token.js';

export interface ApiDeps {
  registry: RegistryStore;
  logger: Logger;
  /** SHA-256 hex of the admin API key. */
  adminKeyHash: string;
  /** What device credentials advertise, e.g. mqtt://127.0.0.1:1883. */
  mqttPublicUrl: string;
  /** Requests per minute per valid API key, on the routes that need one. */
  rateLimitPerMinute: number;
  /** The slowdown of failed authentications per source address; defaults in core/failed-auth-throttle.ts. */
  failedAuth?: Partial<FailedAuthOptions>;
  /** Run by /readyz besides the registry ping (e.g. InfluxDB). */
  readinessChecks?: ReadinessCheck[];
  /** Extra route plugins (e.g. telemetry), registered under the same auth and error handling. */
  plugins?: FastifyPluginAsync[];
  /** Mints and checks `?token=` for live streams; default: a random key (tokens of this process only). */
  streamTokens?: StreamTokens;
  /** Origins allowed to call the API from a browser (CORS); empty or unset: CORS stays off. */
  corsOrigins?: readonly string[];
  /** The browser console served at /console/ (built in the background); unset: not served. */
  console?: Promise<ConsoleBundle>;
}

export type { ReadinessCheck };

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const logger = deps.logger.child(
    { component: 'api' },
    // The req serializer replaces Fastify's: it logs URLs without `?token=` values.
    { redact: REDACTION, serializers: { req: requestSerializer } },
  );
  const streamTokens = deps.streamTokens ?? createStreamTokens({ key: randomBytes(32) });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: 1024 * 1024,
    // Errors raised before a route runs (Node's HTTP parser, the router) in the contract's shape too.
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('registry', deps.registry);
  installJsonBodyParser(app);
  installErrorHandlers(app);
  installAuth(app, deps.adminKeyHash, deps.failedAuth);
  installStreamTokenAuth(app, streamTokens);
  await installCors(app, deps.corsOrigins ?? []);

  await app.register(rateLimit, {
    max: deps.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per valid API key, on the routes that need one. Callers without a valid key are not counted
    // here (an IP bucket would let a wrong-key storm lock out devices and /metrics behind the same
    // NAT, issue 19): their failures are slowed per address by the auth hook instead.
    keyGenerator: (request) => `key:${request.apiKeyHash ?? ''}`,
    allowList: (request) => request.principal === null || !needsApiKey(request),
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'rate_limited', `rate limit exceeded, retry in ${context.after}`, {
        limitPerMinute: context.max,
      }),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Pilot IoT platform API',
        description:
          'Partners, pilots, devices and their telemetry. Authenticate with `Authorization: Bearer <api key>`. ' +
          'Errors: `{"error": {"code", "message", "details"}}`. Timestamps: RFC 3339 with milliseconds, UTC.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An admin or partner API key' },
          deviceBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'A device: its id and its secret (HTTP ingest)',
          },
        },
      },
      tags: [
        { name: 'partners', description: 'Companies taking part in pilots (admin creates them)' },
        { name: 'pilots', description: 'Co-development projects shared by partners' },
        { name: 'devices', description: 'Hardware registered in a pilot, and its MQTT credentials' },
        { name: 'health', description: 'Liveness and readiness' },
        {
          name: 'telemetry',
          description: 'Readings: ranges, windows, latest values, live streams, HTTP ingest',
        },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { public: true, rateLimit: false }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  await app.register(healthRoutes, { readinessChecks: deps.readinessChecks ?? [] });
  await app.register(partnerRoutes);
  await app.register(pilotRoutes, { mqttPublicUrl: deps.mqttPublicUrl });
  await app.register(deviceRoutes, { mqttPublicUrl: deps.mqttPublicUrl });
  await app.register(deviceErrorRoutes);
  await app.register(pilotOverviewRoutes);
  await app.register(streamTokenRoutes, { tokens: streamTokens });
  if (deps.console) await app.register(consoleRoutes(deps.console));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);

  return app;
}

/** The routes a partner or the admin reaches with an API key (and whose use the rate limit counts). */
function needsApiKey(request: FastifyRequest): boolean {
  return (
    request.routeOptions.url?.startsWith('/v1/') === true && request.routeOptions.config?.public !== true
  );
}
