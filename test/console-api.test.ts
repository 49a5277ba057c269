// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * The API parts the console needs (issue 14), through the public API: stable error identifiers for
 * translation, pilot members and error counts (only what a member may see; on each registry store,
 * test/helpers/registry-stores.ts), CORS off unless listed, and the console itself served from
 * /console/ with a strict CSP, gzip, no CDN, under 300 KB.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsoleBundle } from '../api/console/bundle.js';
import {
  call,
  createDevice,
  createPartner,
  createPilot,
  startTestApi,
  type TestApi,
} from './helpers/api-app.js';
import { registryStores } from './helpers/registry-stores.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ deps: { console: buildConsoleBundle() } });
});
afterAll(async () => {
  await api.close();
});

describe('error identifiers the console translates', () => {
  it('names each wrong field with a stable code and its limit', async () => {
    const a = await createPartner(api, 'Codes A', 'software', 'IN');
    const pilot = await createPilot(api, a.apiKey, 'p');
    const blank = await call(api.app, 'POST', `/v1/pilots/${pilot.id}/devices`, a.apiKey, { name: '   ' });
    expect(blank.status).toBe(400);
    expect(blank.body.error.code).toBe('validation_error');
    expect(blank.body.error.details).toEqual([
      expect.objectContaining({ path: 'body.name', code: 'too_short', limit: 1 }),
    ]);
    const long = await call(api.app, 'POST', '/v1/pilots', a.apiKey, { name: 'x'.repeat(201), extra: 1 });
    expect(long.body.error.details.map((d: any) => [d.path, d.code, d.limit])).toEqual(
      expect.arrayContaining([
        ['body.name', 'too_long', 200],
        ['body.extra', 'unknown_field', undefined],
      ]),
    );
    const partner = await call(api.app, 'POST', '/v1/partners', api.adminKey, {
      name: 'P',
      country: 'India',
      kind: 'robots',
    });
    expect(partner.body.error.details.map((d: any) => [d.path, d.code])).toEqual(
      expect.arrayContaining([
        ['body.country', 'invalid_format'],
        ['body.kind', 'invalid_value'],
      ]),
    );
    const json = await api.app.inject({
      method: 'POST',
      url: '/v1/pilots',
      headers: { authorization: `Bearer ${a.apiKey}`, 'content-type': 'application/json' },
      payload: '{nope',
    });
    expect(json.json().error.details).toEqual([
      expect.objectContaining({ path: 'body', code: 'invalid_json' }),
    ]);
    const member = await call(api.app, 'POST', `/v1/pilots/${pilot.id}/members`, a.apiKey, {
      partnerId: 'prt_none',
    });
    expect(member.body.error.details).toEqual([
      expect.objectContaining({ path: 'body.partnerId', code: 'no_such_partner' }),
    ]);
  });

  it('gives 401, 404 and 409 a reason, keeping the coarse code', async () => {
    const a = await createPartner(api, 'Reasons A');
    const pilot = await createPilot(api, a.apiKey, 'p');
    const cases: [string, string, string | undefined, unknown, number, string, string][] = [
      ['GET', '/v1/pilots', undefined, undefined, 401, 'unauthorized', 'api_key_missing'],
      ['GET', '/v1/pilots', 'wrong-key', undefined, 401, 'unauthorized', 'api_key_invalid'],
      ['GET', '/v1/pilots', api.adminKey, undefined, 401, 'unauthorized', 'partner_key_required'],
      [
        'POST',
        '/v1/partners',
        a.apiKey,
        { name: 'x', country: 'DE', kind: 'both' },
        401,
        'unauthorized',
        'admin_key_required',
      ],
      ['GET', '/v1/pilots/plt_none', a.apiKey, undefined, 404, 'not_found', 'pilot_not_found'],
      ['GET', '/v1/devices/dev_none', a.apiKey, undefined, 404, 'not_found', 'device_not_found'],
      ['GET', '/v1/nothing-here', a.apiKey, undefined, 404, 'not_found', 'route_not_found'],
      [
        'POST',
        `/v1/pilots/${pilot.id}/members`,
        a.apiKey,
        { partnerId: a.id },
        409,
        'conflict',
        'already_member',
      ],
      [
        'POST',
        '/v1/partners',
        api.adminKey,
        { name: 'Reasons A', country: 'DE', kind: 'both' },
        409,
        'conflict',
        'name_taken',
      ],
    ];
    for (const [method, url, key, body, status, code, reason] of cases) {
      const res = await call(api.app, method as any, url, key, body);
      expect([res.status, res.body.error.code, res.body.error.details?.reason], `${method} ${url}`).toEqual([
        status,
        code,
        reason,
      ]);
      expect(Object.keys(res.body.error).sort()).toEqual(['code', 'details', 'message']);
    }
  });
});

describe.each(registryStores())('pilot overview on $kind', ({ startApi }) => {
  // This suite's own API, over a fresh registry of its kind (the file's `api` is SQLite).
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api.close();
  });

  describe('GET /v1/pilots/{pilotId}/members', () => {
    it('lists the members with name, country and kind only, in pages', async () => {
      const a = await createPartner(api, 'Bangalore Soft', 'software', 'IN');
      const b = await createPartner(api, 'Shenzhen Boards', 'hardware', 'CN');
      const pilot = await createPilot(api, a.apiKey, 'shared', [b.id]);
      const res = await call(api.app, 'GET', `/v1/pilots/${pilot.id}/members`, b.apiKey);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        items: [
          { id: a.id, name: 'Bangalore Soft', country: 'IN', kind: 'software' },
          { id: b.id, name: 'Shenzhen Boards', country: 'CN', kind: 'hardware' },
        ],
        nextCursor: null,
      });
      expect(res.raw).not.toContain(a.apiKey);
      const first = await call(api.app, 'GET', `/v1/pilots/${pilot.id}/members?limit=1`, a.apiKey);
      expect(first.body.items.map((m: any) => m.id)).toEqual([a.id]);
      const second = await call(
        api.app,
        'GET',
        `/v1/pilots/${pilot.id}/members?limit=1&cursor=${first.body.nextCursor}`,
        a.apiKey,
      );
      expect(second.body).toEqual({ items: [expect.objectContaining({ id: b.id })], nextCursor: null });
    });
  });

  describe('GET /v1/pilots/{pilotId}/error-counts', () => {
    it('counts the refused messages kept per device, with the newest time', async () => {
      const a = await createPartner(api, 'Counts A');
      const pilot = await createPilot(api, a.apiKey, 'p');
      const d1 = await createDevice(api, a.apiKey, pilot.id, 'one');
      const d2 = await createDevice(api, a.apiKey, pilot.id, 'two');
      await api.registry.recordDeviceErrors([
        { deviceId: d1.id, at: 1000, reason: 'bad', payloadPrefix: 'x' },
        { deviceId: d1.id, at: 2000, reason: 'bad', payloadPrefix: 'y' },
      ]);
      const res = await call(api.app, 'GET', `/v1/pilots/${pilot.id}/error-counts`, a.apiKey);
      expect(res.body).toEqual({
        items: [
          { deviceId: d1.id, count: 2, lastAt: '1970-01-01T00:00:02.000Z' },
          { deviceId: d2.id, count: 0, lastAt: null },
        ],
        nextCursor: null,
      });
    });
  });
});

describe('CORS', () => {
  it('is off by default: no Access-Control headers for any origin', async () => {
    const res = await api.app.inject({
      method: 'OPTIONS',
      url: '/v1/pilots',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const get = await api.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { origin: 'https://evil.example' },
    });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows exactly the listed origins when configured', async () => {
    const listed = await startTestApi({ deps: { corsOrigins: ['https://dash.example.com'] } });
    try {
      const ok = await listed.app.inject({
        method: 'OPTIONS',
        url: '/v1/pilots',
        headers: {
          origin: 'https://dash.example.com',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(ok.headers['access-control-allow-origin']).toBe('https://dash.example.com');
      expect(String(ok.headers['access-control-allow-headers'])).toContain('authorization');
      const other = await listed.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { origin: 'https://evil.example' },
      });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await listed.close();
    }
  });
});

describe('the console at /console/', () => {
  it('redirects /console and serves the page with a strict CSP and no CDN', async () => {
    expect((await api.app.inject({ url: '/console' })).headers.location).toBe('/console/');
    const page = await api.app.inject({ url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.headers['cache-control']).toBe('no-cache');
    // Every script and style comes from this origin.
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page.body).not.toMatch(/<script>|<style>/);
  });

  it('first load, gzipped, is under 300 KB', async () => {
    const page = await api.app.inject({ url: '/console/', headers: { 'accept-encoding': 'gzip' } });
    const html = gunzipSync(page.rawPayload).toString();
    const assets = [...html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    let total = page.rawPayload.length;
    for (const a of assets) {
      const res = await api.app.inject({ url: `/console/${a}`, headers: { 'accept-encoding': 'gzip' } });
      expect(res.statusCode, a).toBe(200);
      expect(res.headers['content-encoding']).toBe('gzip');
      if (a.endsWith('.js')) expect(res.headers['cache-control']).toContain('immutable');
      total += res.rawPayload.length;
    }
    console.log(`console first load: ${(total / 1024).toFixed(1)} KB gzipped (${assets.length + 1} files)`);
    expect(total).toBeLessThan(300 * 1024);
  });

  it('answers 304 to a matching ETag and 404 for unknown assets', async () => {
    const page = await api.app.inject({ url: '/console/' });
    const again = await api.app.inject({
      url: '/console/',
      headers: { 'if-none-match': String(page.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    expect((await api.app.inject({ url: '/console/assets/nope.js' })).statusCode).toBe(404);
  });
});
