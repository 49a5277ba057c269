/**
 * The whole HTTP API, built from its dependencies and not listening (server.ts listens; tests use
 * `app.inject()`). Order matters: compilers, error handler and auth hooks, then rate limiting (it
 * hooks the routes registered after it), then the docs, then the routes.
 */
import { randomBytes } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { FailedAuthOptions } from '../core/failed-auth-throttle.js';
import { REDACTION } from '../core/log.js';
import type { RemoteMetrics } from '../core/metrics-relay.js';
import type { RegistryStore } from '../core/registry/types.js';
import type { BrokerUrls } from '../core/urls.js';
import { installAuth } from './auth.js';
import type { ConsoleBundle } from './console/bundle.js';
import { consoleRoutes } from './console/routes.js';
import { installCors } from './cors.js';
import { installDocs } from './docs.js';
import { ApiError, clientErrorHandler, frameworkErrorHandler, installErrorHandlers } from './errors.js';
import { installHttpMetrics } from './http-metrics.js';
import { installJsonBodyParser } from './json-body.js';
import type { DeviceChanges } from './live/device-changes.js';
import { DebugRequestLog, requestSerializer } from './log-redaction.js';
import { commandRoutes } from './routes/commands.js';
import { deviceControlRoutes } from './routes/device-control.js';
import { deviceErrorRoutes, deviceRoutes } from './routes/devices.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { type HttpIngestDeps, httpIngestRoutes } from './routes/http-ingest.js';
import { metricsRoutes } from './routes/metrics.js';
import { partnerRoutes } from './routes/partners.js';
import { pilotOverviewRoutes } from './routes/pilot-overview.js';
import { pilotRoutes } from './routes/pilots.js';
import { streamTokenRoutes } from './routes/stream-tokens.js';
import { type TelemetryRoutesDeps, telemetryRoutes } from './routes/telemetry.js';
import { twinRoutes } from './routes/twin.js';
import { installStreamTokenAuth } from './stream-tokens/auth.js';
import { createStreamTokens, type StreamTokens } from './stream-tokens/token.js';

export interface ApiDeps {
  registry: RegistryStore;
  logger: Logger;
  /** SHA-256 hex of the admin API key. */
  adminKeyHash: string;
  /** What device credentials advertise, e.g. mqtt://127.0.0.1:1883. */
  mqttPublicUrl: string;
  /** The broker's other listeners that device credentials list (mqtts, ws, wss). */
  deviceUrls?: Omit<BrokerUrls, 'mqtt'> | undefined;
  /** Requests per minute per valid API key, on the routes that need one. */
  rateLimitPerMinute: number;
  /** The slowdown of failed authentications per source address; defaults in core/failed-auth-throttle.ts. */
  failedAuth?: Partial<FailedAuthOptions>;
  /** Run by /readyz besides the registry ping (e.g. InfluxDB). */
  readinessChecks?: ReadinessCheck[];
  /** Telemetry reads (InfluxQL) and live streams (the live feed); unset: not served. */
  telemetry?: TelemetryRoutesDeps;
  /** HTTP ingest (the publisher to the broker); unset: not served. */
  httpIngest?: HttpIngestDeps;
  /** GET /metrics: this process's registry and what other processes publish; unset: not served. */
  metrics?: { registry: Registry; remote?: RemoteMetrics | undefined };
  /** Where command and twin changes are announced (the broker delivers on them); unset: not announced. */
  deviceChanges?: Pick<DeviceChanges, 'publish'>;
  /** Each device's rate on its command and twin routes; default HTTP ingest's `deviceRate`. */
  deviceRate?: { perSecond: number; burst: number };
  /** Open commands per device (default 1000: api/control/schemas.ts). */
  commandsMaxOpenPerDevice?: number;
  /** More route plugins, registered under the same auth, limits and error handling. */
  plugins?: FastifyPluginAsync[];
  /** Mints and checks `?token=` for live streams; default: a random key (tokens of this process only). */
  streamTokens?: StreamTokens;
  /** Origins allowed to call the API from a browser (CORS); empty or unset: CORS stays off. */
  corsOrigins?: readonly string[];
  /** The browser console served at /console/ (built in the background); unset: not served. */
  console?: Promise<ConsoleBundle> | undefined;
}

export type { ReadinessCheck };

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = createFastify(deps.logger);
  app.decorate('registry', deps.registry);
  installJsonBodyParser(app);
  installErrorHandlers(app);
  installAuth(app, deps.adminKeyHash, deps.failedAuth);
  const streamTokens = deps.streamTokens ?? createStreamTokens({ key: randomBytes(32) });
  installStreamTokenAuth(app, streamTokens);
  await installCors(app, deps.corsOrigins ?? []);
  await app.register(rateLimit, {
    max: deps.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per valid API key, on the routes that need one; callers without a valid key are slowed per
    // address by the auth hook instead (an IP bucket would let a wrong-key storm lock out a NAT).
    keyGenerator: (request) => `key:${request.apiKeyHash ?? ''}`,
    allowList: (request) => request.principal === null || !needsApiKey(request),
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'rate_limited', `rate limit exceeded, retry in ${context.after}`, {
        limitPerMinute: context.max,
      }),
  });
  if (deps.metrics) installHttpMetrics(app, deps.metrics.registry);
  await installDocs(app);
  await registerRoutes(app, deps, streamTokens);
  return app;
}

function createFastify(logger: Logger): FastifyInstance {
  const app = Fastify({
    // The req serializer replaces Fastify's: it logs URLs without `?token=` values.
    loggerInstance: logger.child(
      { component: 'api' },
      { redact: REDACTION, serializers: { req: requestSerializer } },
    ),
    bodyLimit: 1024 * 1024,
    // Request lines at debug, so the start banner stays readable (api/log-redaction.ts).
    logController: new DebugRequestLog(),
    // Errors raised before a route runs (Node's HTTP parser, the router) in the contract's shape too.
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  return app;
}

/** The route table. */
async function registerRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  streamTokens: StreamTokens,
): Promise<void> {
  await app.register(healthRoutes, { readinessChecks: deps.readinessChecks ?? [] });
  await app.register(partnerRoutes);
  const endpoints = { mqttPublicUrl: deps.mqttPublicUrl, deviceUrls: deps.deviceUrls };
  await app.register(pilotRoutes, endpoints);
  await app.register(deviceRoutes, endpoints);
  await app.register(deviceErrorRoutes);
  await app.register(commandRoutes, {
    changes: deps.deviceChanges,
    maxOpenPerDevice: deps.commandsMaxOpenPerDevice,
  });
  await app.register(twinRoutes, { changes: deps.deviceChanges });
  await app.register(deviceControlRoutes, {
    changes: deps.deviceChanges,
    deviceRate: deps.deviceRate ?? deps.httpIngest?.deviceRate,
  });
  await app.register(pilotOverviewRoutes);
  await app.register(streamTokenRoutes, { tokens: streamTokens });
  if (deps.console) await app.register(consoleRoutes(deps.console));
  if (deps.metrics) await app.register(metricsRoutes(deps.metrics.registry, deps.metrics.remote));
  if (deps.telemetry) await app.register(telemetryRoutes(deps.telemetry));
  if (deps.httpIngest) await app.register(httpIngestRoutes(deps.httpIngest));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
}

/** The routes a partner or the admin reaches with an API key (and whose use the rate limit counts). */
function needsApiKey(request: FastifyRequest): boolean {
  return (
    request.routeOptions.url?.startsWith('/v1/') === true && request.routeOptions.config?.public !== true
  );
}
