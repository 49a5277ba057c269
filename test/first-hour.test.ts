// biome-ignore-all lint/suspicious/noExplicitAny: parsed JSON bodies, checked field by field
/**
 * Issue 16, the first hour: API keys that cannot be mistaken for ids (and old keys that keep
 * working), a 401 that says when the value presented is an id, an OpenAPI document with a server
 * and one component per schema, and a README that matches what the API answers.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAdminKey } from '../api/admin-key.js';
import { generateSecret, hashSecret, idKindOf, newApiKey, newId } from '../core/secrets.js';
import { bearer, call, createPartner, startTestApi, type TestApi } from './helpers/api-app.js';
import { startTestPlatform } from './helpers/platform.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

describe('API keys', () => {
  it('partner keys start with pk_, a generated admin key with ak_', async () => {
    const partner = await createPartner(api, 'Prefixed');
    expect(partner.apiKey).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
    const stored: { hash?: string } = {};
    const admin = await resolveAdminKey(
      {
        getAdminKeyHash: async () => stored.hash,
        setAdminKeyHash: async (h) => {
          stored.hash = h;
        },
      },
      undefined,
    );
    expect(admin.generated).toMatch(/^ak_[A-Za-z0-9_-]{43}$/);
    expect(hashSecret(admin.generated!)).toBe(stored.hash);
  });

  it('keys issued before the prefixes keep working (only hashes are stored)', async () => {
    const oldKey = generateSecret();
    await api.registry.createPartner(
      { name: 'Old Key Ltd', country: 'FR', kind: 'hardware' },
      hashSecret(oldKey),
    );
    const me = await call(api.app, 'GET', '/v1/partners/me', oldKey);
    expect(me.status).toBe(200);
    expect(me.body.name).toBe('Old Key Ltd');
    // The admin key of an older data dir (adm_...) likewise: the stored hash is all that counts.
    const oldAdmin = `adm_${generateSecret()}`;
    const again = await resolveAdminKey(
      { getAdminKeyHash: async () => hashSecret(oldAdmin), setAdminKeyHash: async () => {} },
      undefined,
    );
    expect(again).toEqual({ hash: hashSecret(oldAdmin) });
  });

  it.each([
    ['prt', 'a partner id', 'partner_id'],
    ['plt', 'a pilot id', 'pilot_id'],
    ['dev', 'a device id', 'device_id'],
  ])('a %s_ id presented as a key gets a 401 that says so', async (prefix, words, kind) => {
    const id = newId(prefix);
    expect(idKindOf(id)).toBe(kind);
    const res = await api.app.inject({ method: 'GET', url: '/v1/pilots', headers: bearer(id) });
    expect(res.statusCode).toBe(401);
    const error = res.json().error;
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain(`this looks like ${words}, not an API key`);
    expect(error.message).toContain('pk_');
    expect(error.details).toEqual({ reason: 'api_key_invalid', looksLike: kind });
  });

  it('any other wrong key gets the plain 401, with no hint', async () => {
    for (const wrong of [newApiKey('partner'), 'prt_short', `${newId('prt')}x`]) {
      const res = await call(api.app, 'GET', '/v1/pilots', wrong);
      expect(res.status).toBe(401);
      expect(res.body.error.message).toBe('invalid API key');
      expect(res.body.error.details).toEqual({ reason: 'api_key_invalid' });
    }
  });
});

describe('the OpenAPI document', () => {
  let doc: any;
  beforeAll(async () => {
    doc = (await call(api.app, 'GET', '/openapi.json')).body;
  });

  it('has servers: the one serving it, and one to fill in', () => {
    expect(doc.servers[0]).toMatchObject({ url: '/' });
    expect(doc.servers[1].url).toBe('http://{host}:{port}');
    expect(doc.servers[1].variables.port.default).toBe('8080');
  });

  it('names each schema once: no XInput twin equal to X, every reference resolves, none unused', () => {
    const schemas = doc.components.schemas as Record<string, unknown>;
    const text = JSON.stringify(doc);
    const refs = [...text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) expect(schemas, ref).toHaveProperty([ref]);
    for (const name of Object.keys(schemas)) {
      expect(refs, `${name} is referenced`).toContain(name);
      if (name.endsWith('Input')) {
        const base = name.slice(0, -'Input'.length);
        expect(JSON.stringify(schemas[name]), `${name} differs from ${base}`).not.toBe(
          JSON.stringify(schemas[base]),
        );
      }
    }
    // What the provider would have repeated: bodies are named like their responses now.
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining(['NewPartner', 'NewDevice', 'Device', 'Error']),
    );
    expect(Object.keys(schemas).filter((n) => n.endsWith('Input'))).toEqual([]);
  });
});

describe('the README', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('uses a partner key, never an id, as KEY', () => {
    expect(readme).not.toMatch(/KEY=prt_/);
    expect(readme).toMatch(/export KEY=pk_/);
  });

  it("lists the pilot stream, and /readyz's checks as the quick start's endpoint names them", async () => {
    expect(readme).toMatch(/\| `GET \/v1\/pilots\/\{pilotId\}\/telemetry\/stream`/);
    const row = readme.split('\n').find((l) => l.includes('`GET /readyz`'))!;
    const documented = JSON.parse(/`(\{"status":"ok","checks":\[[^\]]*\]\})`/.exec(row)![1]!);
    const platform = await startTestPlatform();
    try {
      const ready = await platform.api('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual(documented);
    } finally {
      await platform.dispose();
    }
  });
});
