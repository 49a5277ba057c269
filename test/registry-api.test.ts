// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * Every registry route and every error class, through `app.inject()` on a real SQLite registry.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secretMatches } from '../core/secrets.js';
import {
  call,
  createDevice,
  createPartner,
  createPilot,
  MQTT_URL,
  startTestApi,
  type TestApi,
} from './helpers/api-app.js';

const RFC3339_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let api: TestApi;
beforeEach(async () => {
  api = await startTestApi();
});
afterEach(async () => {
  await api.close();
});

describe('partners', () => {
  it('admin creates a partner; the key is shown once and works', async () => {
    const res = await call(api.app, 'POST', '/v1/partners', api.adminKey, {
      name: 'Acme Sensors',
      country: 'de',
      kind: 'hardware',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Acme Sensors', country: 'DE', kind: 'hardware' });
    expect(res.body.id).toMatch(/^prt_[a-z2-7]+$/);
    expect(res.body.apiKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.body.createdAt).toMatch(RFC3339_MS_UTC);

    const me = await call(api.app, 'GET', '/v1/partners/me', res.body.apiKey);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: res.body.id,
      name: 'Acme Sensors',
      country: 'DE',
      kind: 'hardware',
      createdAt: res.body.createdAt,
    });
    expect(me.body.apiKey).toBeUndefined();
  });

  it('400 names each wrong and unknown field', async () => {
    const res = await call(api.app, 'POST', '/v1/partners', api.adminKey, {
      name: '',
      country: 'Germany',
      kind: 'maker',
      color: 'red',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['body.color', 'body.country', 'body.kind', 'body.name']);
    for (const d of res.body.error.details) expect(typeof d.message).toBe('string');
  });

  it('400 for a body that is not JSON', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/partners',
      headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });

  it('409 for a name already taken', async () => {
    await createPartner(api, 'Twice');
    const res = await call(api.app, 'POST', '/v1/partners', api.adminKey, {
      name: 'twice',
      country: 'FR',
      kind: 'both',
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
  });

  it('401 without a key, with a bad key, and with a partner key on an admin route', async () => {
    const partner = await createPartner(api, 'P');
    const body = { name: 'X', country: 'DE', kind: 'both' };
    for (const key of [undefined, 'wrong-key', partner.apiKey]) {
      const res = await call(api.app, 'POST', '/v1/partners', key, body);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    const lowerScheme = await api.app.inject({
      method: 'GET',
      url: '/v1/partners/me',
      headers: { authorization: `bearer ${partner.apiKey}` },
    });
    expect(lowerScheme.statusCode).toBe(200);
    const basic = await api.app.inject({
      method: 'GET',
      url: '/v1/partners/me',
      headers: { authorization: `Basic ${partner.apiKey}` },
    });
    expect(basic.statusCode).toBe(401);
  });

  it('/partners/me is for partners, not the admin', async () => {
    const res = await call(api.app, 'GET', '/v1/partners/me', api.adminKey);
    expect(res.status).toBe(401);
  });
});

describe('pilots', () => {
  it('creates a pilot with the caller and the listed partners as members', async () => {
    const a = await createPartner(api, 'A');
    const b = await createPartner(api, 'B');
    const res = await call(api.app, 'POST', '/v1/pilots', a.apiKey, {
      name: 'Boiler',
      description: 'field test',
      partnerIds: [b.id, a.id],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Boiler', description: 'field test', memberIds: [a.id, b.id] });
    expect(res.body.id).toMatch(/^plt_/);
    expect(res.body.createdAt).toMatch(RFC3339_MS_UTC);

    const asB = await call(api.app, 'GET', `/v1/pilots/${res.body.id}`, b.apiKey);
    expect(asB.status).toBe(200);
    expect(asB.body).toEqual(res.body);
  });

  it('400 for an unknown partner id, naming its index; 400 for a missing name', async () => {
    const a = await createPartner(api, 'A');
    const res = await call(api.app, 'POST', '/v1/pilots', a.apiKey, { name: 'x', partnerIds: ['prt_nope'] });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { path: 'body.partnerIds.0', message: 'no such partner', code: 'no_such_partner' },
    ]);
    const missing = await call(api.app, 'POST', '/v1/pilots', a.apiKey, {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.map((d: any) => [d.path, d.code])).toEqual([['body.name', 'required']]);
  });

  it('lists pilots in pages with limit and cursor', async () => {
    const a = await createPartner(api, 'A');
    const names = ['p0', 'p1', 'p2', 'p3', 'p4'];
    for (const n of names) await createPilot(api, a.apiKey, n);
    const seen: string[] = [];
    let url = '/v1/pilots?limit=2';
    for (;;) {
      const res = await call(api.app, 'GET', url, a.apiKey);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((p: any) => p.name));
      if (res.body.nextCursor === null) break;
      url = `/v1/pilots?limit=2&cursor=${encodeURIComponent(res.body.nextCursor)}`;
    }
    expect(seen).toEqual(names);

    const all = await call(api.app, 'GET', '/v1/pilots', a.apiKey);
    expect(all.body.items).toHaveLength(5);
    expect(all.body.nextCursor).toBeNull();
  });

  it('400 for a bad limit, an unknown query field or a forged cursor', async () => {
    const a = await createPartner(api, 'A');
    for (const [query, path] of [
      ['limit=0', 'query.limit'],
      ['limit=1001', 'query.limit'],
      ['limit=abc', 'query.limit'],
      ['lmit=5', 'query.lmit'],
      ['cursor=eyJsIjoiZGV2aWNlcyIsImsiOjF9', 'query.cursor'],
    ]) {
      const res = await call(api.app, 'GET', `/v1/pilots?${query}`, a.apiKey);
      expect(res.status, query).toBe(400);
      expect(res.body.error.details.map((d: any) => d.path)).toEqual([path]);
    }
  });

  it('adds a member; 409 twice; 400 for an unknown partner; 404 for an unknown pilot', async () => {
    const a = await createPartner(api, 'A');
    const b = await createPartner(api, 'B');
    const pilot = await createPilot(api, a.apiKey, 'p');
    expect((await call(api.app, 'GET', `/v1/pilots/${pilot.id}`, b.apiKey)).status).toBe(404);

    const added = await call(api.app, 'POST', `/v1/pilots/${pilot.id}/members`, a.apiKey, {
      partnerId: b.id,
    });
    expect(added.status).toBe(201);
    expect(added.body.memberIds).toEqual([a.id, b.id]);
    expect((await call(api.app, 'GET', `/v1/pilots/${pilot.id}`, b.apiKey)).status).toBe(200);

    const again = await call(api.app, 'POST', `/v1/pilots/${pilot.id}/members`, b.apiKey, {
      partnerId: b.id,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');

    const unknown = await call(api.app, 'POST', `/v1/pilots/${pilot.id}/members`, a.apiKey, {
      partnerId: 'prt_x',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details[0].path).toBe('body.partnerId');

    const noPilot = await call(api.app, 'POST', '/v1/pilots/plt_nope/members', a.apiKey, { partnerId: b.id });
    expect(noPilot.status).toBe(404);
    expect(noPilot.body.error.code).toBe('not_found');
  });
});

describe('devices', () => {
  async function setup() {
    const a = await createPartner(api, 'A');
    const pilot = await createPilot(api, a.apiKey, 'p');
    return { a, pilot };
  }

  it('creates a device with credentials shown once; the registry stores only the hash', async () => {
    const { a, pilot } = await setup();
    const res = await call(api.app, 'POST', `/v1/pilots/${pilot.id}/devices`, a.apiKey, {
      name: 'sensor-1',
      model: 'TH-200',
      firmwareVersion: '1.0.0',
      metadata: { rack: 7, tags: ['a'] },
    });
    expect(res.status).toBe(201);
    const d = res.body;
    expect(d).toMatchObject({
      pilotId: pilot.id,
      name: 'sensor-1',
      model: 'TH-200',
      firmwareVersion: '1.0.0',
      metadata: { rack: 7, tags: ['a'] },
      status: { online: false, lastSeenAt: null },
    });
    expect(d.id).toMatch(/^dev_/);
    expect(d.createdAt).toMatch(RFC3339_MS_UTC);
    expect(d.credentials).toEqual({
      username: d.id,
      password: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      mqttUrl: MQTT_URL,
      topic: `devices/${d.id}/telemetry`,
    });
    const stored = (await api.registry.getDeviceCredential(d.id))!;
    expect(stored.secretHash).not.toContain(d.credentials.password);
    expect(secretMatches(d.credentials.password, stored.secretHash)).toBe(true);

    const got = await call(api.app, 'GET', `/v1/devices/${d.id}`, a.apiKey);
    expect(got.status).toBe(200);
    expect(got.body.credentials).toBeUndefined();
    expect(got.raw).not.toContain(d.credentials.password);
  });

  it('400 for a bad device body', async () => {
    const { a, pilot } = await setup();
    const res = await call(api.app, 'POST', `/v1/pilots/${pilot.id}/devices`, a.apiKey, {
      name: 'x',
      metadata: 'not an object',
      secret: 'mine',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: any) => d.path).sort()).toEqual(['body.metadata', 'body.secret']);
  });

  it('lists devices with status, in pages', async () => {
    const { a, pilot } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createDevice(api, a.apiKey, pilot.id, `d${i}`)).id);
    await api.registry.recordPresence([
      { deviceId: ids[1]!, online: true, lastSeenAt: Date.UTC(2026, 10, 22, 10, 0, 0, 5) },
    ]);
    const p1 = await call(api.app, 'GET', `/v1/pilots/${pilot.id}/devices?limit=2`, a.apiKey);
    expect(p1.status).toBe(200);
    expect(p1.body.items.map((d: any) => d.id)).toEqual(ids.slice(0, 2));
    expect(p1.body.items[1].status).toEqual({ online: true, lastSeenAt: '2026-11-22T10:00:00.005Z' });
    const p2 = await call(
      api.app,
      'GET',
      `/v1/pilots/${pilot.id}/devices?limit=2&cursor=${p1.body.nextCursor}`,
      a.apiKey,
    );
    expect(p2.body.items.map((d: any) => d.id)).toEqual(ids.slice(2));
    expect(p2.body.nextCursor).toBeNull();
    for (const d of [...p1.body.items, ...p2.body.items]) expect(d.credentials).toBeUndefined();
  });

  it('patches a device; null clears; empty patch and unknown fields are 400', async () => {
    const { a, pilot } = await setup();
    const d = await createDevice(api, a.apiKey, pilot.id, 'd');
    const res = await call(api.app, 'PATCH', `/v1/devices/${d.id}`, a.apiKey, {
      name: 'renamed',
      firmwareVersion: '2.0',
      metadata: { site: 'x' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'renamed',
      firmwareVersion: '2.0',
      metadata: { site: 'x' },
      model: null,
    });
    const cleared = await call(api.app, 'PATCH', `/v1/devices/${d.id}`, a.apiKey, { firmwareVersion: null });
    expect(cleared.body.firmwareVersion).toBeNull();
    expect(cleared.body.name).toBe('renamed');
    expect((await call(api.app, 'PATCH', `/v1/devices/${d.id}`, a.apiKey, {})).status).toBe(400);
    const unknown = await call(api.app, 'PATCH', `/v1/devices/${d.id}`, a.apiKey, { pilotId: 'plt_x' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details[0].path).toBe('body.pilotId');
    expect((await call(api.app, 'PATCH', '/v1/devices/dev_nope', a.apiKey, { name: 'x' })).status).toBe(404);
  });

  it('rotates credentials: the old secret stops matching, the change is logged', async () => {
    const { a, pilot } = await setup();
    const d = await createDevice(api, a.apiKey, pilot.id, 'd');
    const since = (await api.registry.credentialChangesSince(-1)).lastChange;
    const res = await call(api.app, 'POST', `/v1/devices/${d.id}/credentials`, a.apiKey);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(d.id);
    expect(res.body.credentials.username).toBe(d.id);
    expect(res.body.credentials.password).not.toBe(d.credentials.password);
    const stored = (await api.registry.getDeviceCredential(d.id))!;
    expect(secretMatches(d.credentials.password, stored.secretHash)).toBe(false);
    expect(secretMatches(res.body.credentials.password, stored.secretHash)).toBe(true);
    expect((await api.registry.credentialChangesSince(since)).deviceIds).toEqual([d.id]);
    expect((await call(api.app, 'POST', '/v1/devices/dev_nope/credentials', a.apiKey)).status).toBe(404);
    // Clients that always send a JSON content type may send no body.
    const emptyJson = await api.app.inject({
      method: 'POST',
      url: `/v1/devices/${d.id}/credentials`,
      headers: { authorization: `Bearer ${a.apiKey}`, 'content-type': 'application/json' },
    });
    expect(emptyJson.statusCode).toBe(200);
  });

  it('deletes a device: 204, then 404 everywhere, secret revoked', async () => {
    const { a, pilot } = await setup();
    const d = await createDevice(api, a.apiKey, pilot.id, 'd');
    const since = (await api.registry.credentialChangesSince(-1)).lastChange;
    const res = await call(api.app, 'DELETE', `/v1/devices/${d.id}`, a.apiKey);
    expect(res.status).toBe(204);
    expect(res.raw).toBe('');
    expect(await api.registry.getDeviceCredential(d.id)).toBeUndefined();
    expect((await api.registry.credentialChangesSince(since)).deviceIds).toEqual([d.id]);
    expect((await call(api.app, 'GET', `/v1/devices/${d.id}`, a.apiKey)).status).toBe(404);
    expect((await call(api.app, 'DELETE', `/v1/devices/${d.id}`, a.apiKey)).status).toBe(404);
    expect((await call(api.app, 'POST', `/v1/devices/${d.id}/credentials`, a.apiKey)).status).toBe(404);
    const list = await call(api.app, 'GET', `/v1/pilots/${pilot.id}/devices`, a.apiKey);
    expect(list.body.items).toEqual([]);
  });

  it('lists device errors newest first, in pages; 404 for an unknown device', async () => {
    const { a, pilot } = await setup();
    const d = await createDevice(api, a.apiKey, pilot.id, 'd');
    await api.registry.recordDeviceErrors(
      [0, 1, 2].map((i) => ({
        deviceId: d.id,
        at: Date.UTC(2026, 0, 1, 0, 0, i),
        reason: `r${i}`,
        payloadPrefix: `{${i}`,
      })),
    );
    const p1 = await call(api.app, 'GET', `/v1/devices/${d.id}/errors?limit=2`, a.apiKey);
    expect(p1.status).toBe(200);
    expect(p1.body.items).toEqual([
      { at: '2026-01-01T00:00:02.000Z', reason: 'r2', payloadPrefix: '{2' },
      { at: '2026-01-01T00:00:01.000Z', reason: 'r1', payloadPrefix: '{1' },
    ]);
    const p2 = await call(
      api.app,
      'GET',
      `/v1/devices/${d.id}/errors?limit=2&cursor=${p1.body.nextCursor}`,
      a.apiKey,
    );
    expect(p2.body).toEqual({
      items: [{ at: '2026-01-01T00:00:00.000Z', reason: 'r0', payloadPrefix: '{0' }],
      nextCursor: null,
    });
    expect((await call(api.app, 'GET', '/v1/devices/dev_nope/errors', a.apiKey)).status).toBe(404);
  });

  it('404 for devices of an unknown pilot', async () => {
    const { a } = await setup();
    expect((await call(api.app, 'POST', '/v1/pilots/plt_nope/devices', a.apiKey, { name: 'x' })).status).toBe(
      404,
    );
    expect((await call(api.app, 'GET', '/v1/pilots/plt_nope/devices', a.apiKey)).status).toBe(404);
  });
});

describe('health, docs and server errors', () => {
  it('/healthz and /readyz need no key', async () => {
    expect((await call(api.app, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await call(api.app, 'GET', '/readyz')).body).toEqual({ status: 'ok', checks: ['registry'] });
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
    expect(api.logs.some((l) => l.includes('not open'))).toBe(true);
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

describe('rate limits', () => {
  it('429 past the limit, per API key', async () => {
    const limited = await startTestApi({ rateLimitPerMinute: 3 });
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
