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
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { RegistryStore } from '../core/registry/types.js';
import { installAuth } from './auth.js';
import type { ConsoleBundle } from './console/bundle.js';
import { consoleRoutes } from './console/routes.js';
import { installCors } from './cors.js';
import { ApiError, installErrorHandlers } from './errors.js';
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
  /** Requests per minute per API key (per IP without a valid key). */
  rateLimitPerMinute: number;
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

/** Never log credentials, even if a future log call passes headers. */
const REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'token',
  '*.token',
];

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const logger = deps.logger.child(
    { component: 'api' },
    // The req serializer replaces Fastify's: it logs URLs without `?token=` values.
    { redact: { paths: REDACT, censor: '[redacted]' }, serializers: { req: requestSerializer } },
  );
  const streamTokens = deps.streamTokens ?? createStreamTokens({ key: randomBytes(32) });
  const app = Fastify({ loggerInstance: logger, bodyLimit: 1024 * 1024 }) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('registry', deps.registry);
  // Clients that always send `Content-Type: application/json` may POST an empty body to routes that
  // take none (e.g. credential rotation); Fastify's parser would refuse that. Empty means no body;
  // everything else goes through Fastify's own parser (with its prototype-poisoning protection).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    return jsonParser(request, text, done);
  });
  installErrorHandlers(app);
  installAuth(app, deps.adminKeyHash);
  installStreamTokenAuth(app, streamTokens);
  await installCors(app, deps.corsOrigins ?? []);

  await app.register(rateLimit, {
    max: deps.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per valid API key; anonymous and bad-key callers share their IP's budget, so inventing keys
    // does not buy more attempts.
    keyGenerator: (request) =>
      request.principal !== null && request.apiKeyHash !== null
        ? `key:${request.apiKeyHash}`
        : `ip:${request.ip}`,
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
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

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
