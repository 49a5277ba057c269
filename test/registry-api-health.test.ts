// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * The API around the registry: health, docs, server errors and rate limits. What depends on the
 * registry runs on each store (SQLite, PostgreSQL: test/helpers/registry-stores.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, createPartner, startTestApi, type TestApi } from './helpers/api-app.js';
import { registryStores } from './helpers/registry-stores.js';

let api: TestApi;
afterEach(async () => {
  await api.close();
});

describe.each(registryStores())('$kind registry', ({ startApi }) => {
  beforeEach(async () => {
    api = await startApi();
  });

  it('/healthz and /readyz need no key', async () => {
    expect((await call(api.app, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await call(api.app, 'GET', '/readyz')).body).toEqual({ status: 'ok', checks: ['registry'] });
  });

  it('/readyz answers 503 when the registry is unusable', async () => {
    await api.registry.close();
    const res = await call(api.app, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.error.details).toEqual({ failed: ['registry'] });
  });

  it('500 hides the cause and logs it', async () => {
    const a = await createPartner(api, 'A');
    await api.registry.close();
    const res = await call(api.app, 'GET', '/v1/partners/me', a.apiKey);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
    // The store's own words for a closed registry ("not open", "after calling end on the pool").
    const cause = await api.registry.ping().then(
      () => 'still open',
      (err: Error) => err.message,
    );
    expect(cause).not.toBe('still open');
    expect(res.raw).not.toContain(cause);
    expect(api.logs.some((l) => l.includes(cause))).toBe(true);
  });

  it('429 past the limit, per API key', async () => {
    const limited = await startApi({ rateLimitPerMinute: 3 });
    try {
      const a = await createPartner(limited, 'A'); // admin key: 1 request
      const b = await createPartner(limited, 'B'); // admin key: 2 requests
      for (let i = 0; i < 3; i++)
        expect((await call(limited.app, 'GET', '/v1/partners/me', a.apiKey)).status).toBe(200);
      const over = await call(limited.app, 'GET', '/v1/partners/me', a.apiKey);
      expect(over.status).toBe(429);
      expect(over.body.error.code).toBe('rate_limited');
      // Another key has its own budget; health checks are not limited.
      expect((await call(limited.app, 'GET', '/v1/partners/me', b.apiKey)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await call(limited.app, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('health, docs and server errors', () => {
  beforeEach(async () => {
    api = await startTestApi();
  });

  it('/readyz answers 503 naming the failed check', async () => {
    const failing = await startTestApi({
      readinessChecks: [
        {
          name: 'influxdb',
          check: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8086')),
        },
        { name: 'other', check: async () => undefined },
      ],
    });
    try {
      const res = await call(failing.app, 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
      expect(res.body.error.details).toEqual({ failed: ['influxdb'] });
      expect(res.raw).not.toContain('ECONNREFUSED');
    } finally {
      await failing.close();
    }
  });

  it('404 for an unknown route, in the error shape', async () => {
    const res = await call(api.app, 'GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('serves the OpenAPI document for every route, and the docs UI', async () => {
    const res = await call(api.app, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    const paths = res.body.paths as Record<string, Record<string, any>>;
    const expected: [string, string][] = [
      ['post', '/v1/partners'],
      ['get', '/v1/partners/me'],
      ['post', '/v1/pilots'],
      ['get', '/v1/pilots'],
      ['get', '/v1/pilots/{pilotId}'],
      ['post', '/v1/pilots/{pilotId}/members'],
      ['post', '/v1/pilots/{pilotId}/devices'],
      ['get', '/v1/pilots/{pilotId}/devices'],
      ['get', '/v1/devices/{deviceId}'],
      ['patch', '/v1/devices/{deviceId}'],
      ['delete', '/v1/devices/{deviceId}'],
      ['post', '/v1/devices/{deviceId}/credentials'],
      ['get', '/v1/devices/{deviceId}/errors'],
      ['get', '/healthz'],
      ['get', '/readyz'],
    ];
    for (const [method, path] of expected) {
      expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
      expect(paths[path]![method].summary).toBeTruthy();
    }
    const ref: string = paths['/v1/partners']!.post.requestBody.content['application/json'].schema.$ref;
    const partnerBody = res.body.components.schemas[ref.split('/').pop()!];
    expect(partnerBody.additionalProperties).toBe(false);
    expect(partnerBody.required).toEqual(['name', 'country', 'kind']);
    expect(paths['/v1/partners']!.post.security).toEqual([{ bearerAuth: [] }]);
    expect(paths['/v1/partners']!.post.responses['400']).toBeDefined();
    const docs = await api.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
  });
});
