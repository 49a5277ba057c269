/**
 * Issue 16: an OpenAPI document that generates good clients, and the typed client generated from it.
 * The committed client schema (core/api-client/schema.ts) must equal what `npm run gen:client` makes
 * now; every route has a camelCase operationId; error codes are an enum; CSV, SSE, the cursor header
 * and 413/415/429 are declared; and the typed client works against the real app.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../api/error-codes.js';
import { buildOpenApiDocument, CLIENT_SCHEMA_FILE, generateClientSchema } from '../api/openapi-document.js';
import { createApiClient, dataOf } from '../core/api-client/index.js';
import { ApiError } from '../core/api-error.js';
import { startTestApi } from './helpers/api-app.js';

type Operation = {
  operationId?: string;
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
};
type JsonSchema = { properties?: Record<string, JsonSchema>; [k: string]: unknown };
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
};

const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );

/** fetch answered by app.inject: the typed client against the real app, without a socket. */
function injectFetch(app: FastifyInstance): typeof fetch {
  return (async (input: Request) => {
    const url = new URL(input.url);
    const body = input.body ? Buffer.from(await input.arrayBuffer()) : undefined;
    const res = await app.inject({
      method: input.method as 'GET',
      url: url.pathname + url.search,
      headers: { ...Object.fromEntries(input.headers), host: url.host },
      ...(body ? { payload: body } : {}),
    });
    return new Response(res.statusCode === 204 ? null : res.rawPayload, {
      status: res.statusCode,
      headers: res.headers as Record<string, string>,
    });
  }) as typeof fetch;
}

describe('the OpenAPI document', async () => {
  const doc = (await buildOpenApiDocument()) as Doc;

  it('the committed typed client is what npm run gen:client makes now', async () => {
    const committed = readFileSync(CLIENT_SCHEMA_FILE, 'utf8');
    // On failure: run `npm run gen:client` and commit core/api-client/schema.ts.
    expect(committed === (await generateClientSchema())).toBe(true);
  });

  it('every route has a unique camelCase operationId', () => {
    const ids = operations(doc).map(({ op, method, path }) => op.operationId ?? `${method} ${path}`);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9]*$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['listPilots', 'createDevice', 'getDeviceTelemetry']));
  });

  it('error code is an enum of the stable codes', () => {
    const code = doc.components.schemas.Error?.properties?.error?.properties?.code;
    expect(code).toMatchObject({ type: 'string', enum: [...ERROR_CODES] });
  });

  it('declares CSV, the cursor header and server-sent events', () => {
    const get = (path: string) => doc.paths[path]!.get!.responses['200']!;
    const raw = get('/v1/devices/{deviceId}/telemetry');
    expect(Object.keys(raw.content!)).toEqual(['application/json', 'text/csv']);
    expect(raw.headers).toHaveProperty('x-next-cursor');
    expect(Object.keys(get('/v1/pilots/{pilotId}/telemetry').content!)).toContain('text/csv');
    for (const path of ['/v1/devices/{deviceId}/telemetry/stream', '/v1/pilots/{pilotId}/telemetry/stream'])
      expect(Object.keys(get(path).content!)).toEqual(['text/event-stream']);
  });

  it('documents 413 and 415 where a body is taken, 429 on every /v1 route', () => {
    for (const { path, method, op } of operations(doc)) {
      const statuses = Object.keys(op.responses);
      if (['post', 'patch', 'put'].includes(method))
        expect(statuses, path).toEqual(expect.arrayContaining(['413', '415']));
      if (path.startsWith('/v1/')) expect(statuses, `${method} ${path}`).toContain('429');
    }
  });
});

describe('the typed client', () => {
  it('provisions through the real app and maps errors to the contract', async () => {
    const api = await startTestApi();
    const fetch = injectFetch(api.app);
    const admin = createApiClient({ apiUrl: 'http://api.test/', apiKey: api.adminKey, fetch });
    const partner = dataOf(
      await admin.POST('/v1/partners', { body: { name: 'Typed', country: 'DE', kind: 'both' } }),
      'create partner',
    );
    expect(partner.apiKey).toMatch(/^pk_/);
    const client = createApiClient({ apiUrl: 'http://api.test', apiKey: partner.apiKey, fetch });
    const pilot = dataOf(await client.POST('/v1/pilots', { body: { name: 'Typed pilot' } }), 'create pilot');
    const device = dataOf(
      await client.POST('/v1/pilots/{pilotId}/devices', {
        params: { path: { pilotId: pilot.id } },
        body: { name: 'typed-1' },
      }),
      'create device',
    );
    expect(device.credentials.urls.http).toBe(`http://api.test/v1/devices/${device.id}/telemetry`);
    const list = dataOf(
      await client.GET('/v1/pilots/{pilotId}/devices', { params: { path: { pilotId: pilot.id } } }),
      'list',
    );
    expect(list.items.map((d) => d.id)).toEqual([device.id]);

    const anonymous = createApiClient({ apiUrl: 'http://api.test', fetch });
    const answer = await anonymous.GET('/v1/pilots');
    expect(() => dataOf(answer, 'GET /v1/pilots')).toThrow(ApiError);
    const refused = (() => {
      try {
        return dataOf(answer, 'GET /v1/pilots');
      } catch (err) {
        return err;
      }
    })();
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('the documented 415 and 413 are what the API answers', async () => {
    const api = await startTestApi();
    const headers = { authorization: `Bearer ${api.adminKey}` };
    const wrongType = await api.app.inject({
      method: 'POST',
      url: '/v1/partners',
      headers: { ...headers, 'content-type': 'application/xml' },
      payload: '<partner/>',
    });
    expect(wrongType.statusCode).toBe(415);
    expect(wrongType.json().error.code).toBe('unsupported_media_type');
    const tooBig = await api.app.inject({
      method: 'POST',
      url: '/v1/partners',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error.code).toBe('payload_too_large');
  });
});
