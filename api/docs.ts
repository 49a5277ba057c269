/** The OpenAPI description at /openapi.json and its UI at /docs, generated from the routes' zod schemas. */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { polishOpenApi } from './openapi-polish.js';
import { dedupeInputSchemas } from './openapi-schemas.js';

export async function installDocs(app: FastifyInstance): Promise<void> {
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
      servers: [
        { url: '/', description: 'The API that serves this document' },
        {
          url: 'http://{host}:{port}',
          description: 'A platform elsewhere: HTTP_HOST and HTTP_PORT (npm start prints the URL)',
          variables: { host: { default: '127.0.0.1' }, port: { default: '8080' } },
        },
      ],
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
    // One component per schema: the provider writes each twice, as X and XInput (api/openapi-schemas.ts).
    transformObject: (doc) => polishOpenApi(dedupeInputSchemas(jsonSchemaTransformObject(doc))),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { public: true, rateLimit: false }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
}
