// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * The registry API: partners and pilots, through app.inject() on each real registry store (SQLite,
 * PostgreSQL: test/helpers/registry-stores.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, createPartner, createPilot, type TestApi } from './helpers/api-app.js';
import { registryStores } from './helpers/registry-stores.js';

const RFC3339_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe.each(registryStores())('$kind', ({ startApi }) => {
  let api: TestApi;
  beforeEach(async () => {
    api = await startApi();
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
      expect(res.body.apiKey).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
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
      const res = await call(api.app, 'POST', '/v1/pilots', a.apiKey, {
        name: 'x',
        partnerIds: ['prt_nope'],
      });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([
        { path: 'body.partnerIds.0', message: 'no such partner', code: 'no_such_partner' },
      ]);
      const missing = await call(api.app, 'POST', '/v1/pilots', a.apiKey, {});
      expect(missing.status).toBe(400);
      expect(missing.body.error.details.map((d: any) => [d.path, d.code])).toEqual([
        ['body.name', 'required'],
      ]);
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

      const noPilot = await call(api.app, 'POST', '/v1/pilots/plt_nope/members', a.apiKey, {
        partnerId: b.id,
      });
      expect(noPilot.status).toBe(404);
      expect(noPilot.body.error.code).toBe('not_found');
    });
  });
});
