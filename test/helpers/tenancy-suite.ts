// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * The tenancy suite, run on each registry store by test/tenancy.test.ts. Three partners. Every route
 * is tried with another partner's key and with no key; the answers are 404 (never 403, never the
 * data) and 401, no body carries anything of the other partner's pilots or devices, and nothing changes.
 * The state is the running suite's: each describeTenancy sets it afresh in its beforeAll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretMatches } from '../../core/secrets.js';
import { call, createDevice, createPartner, createPilot, type TestApi } from './api-app.js';

let api: TestApi;
let a: { id: string; apiKey: string };
let b: { id: string; apiKey: string };
let c: { id: string; apiKey: string };
/** A's private pilot and device; A and B share `shared`; C has its own. */
let privatePilot: { id: string };
let privateDevice: { id: string; credentials: { password: string } };
let shared: { id: string };
let sharedDevice: { id: string };
let cPilot: { id: string };
let cDevice: { id: string };
/** A command to A's private device (issue 15). */
let privateCommandId = 'cmd_doesnotexist';
/** Strings that must never appear in a foreign caller's response. */
let secretsOfA: string[];

// Unique markers, so a leak of any field is visible in the raw body.
const PRIVATE_PILOT_NAME = 'pilot-private-of-A-7d1e';
const PRIVATE_DEVICE_NAME = 'device-private-of-A-91ab';
const PRIVATE_META = 'meta-private-of-A-55c2';
const PRIVATE_ERROR = 'payload-private-of-A-0f3b';

export function describeTenancy(kind: string, startApi: () => Promise<TestApi>): void {
  describe(`tenancy: ${kind}`, () => {
    beforeAll(async () => {
      api = await startApi();
      a = await createPartner(api, 'Partner A');
      b = await createPartner(api, 'Partner B', 'software', 'FR');
      c = await createPartner(api, 'Partner C', 'both', 'IT');
      privatePilot = await createPilot(api, a.apiKey, PRIVATE_PILOT_NAME);
      const res = await call(api.app, 'POST', `/v1/pilots/${privatePilot.id}/devices`, a.apiKey, {
        name: PRIVATE_DEVICE_NAME,
        metadata: { note: PRIVATE_META },
      });
      privateDevice = res.body;
      shared = await createPilot(api, a.apiKey, 'shared-AB', [b.id]);
      sharedDevice = await createDevice(api, b.apiKey, shared.id, 'shared-device');
      cPilot = await createPilot(api, c.apiKey, 'pilot-of-C');
      cDevice = await createDevice(api, c.apiKey, cPilot.id, 'device-of-C');
      const command = await api.registry.createCommand({
        deviceId: privateDevice.id,
        pilotId: privatePilot.id,
        name: 'reboot',
        params: { note: PRIVATE_META },
        ttlMs: 3_600_000,
        sentBy: a.id,
        now: Date.now(),
      });
      privateCommandId = command.id;
      await api.registry.recordDeviceErrors([
        { deviceId: privateDevice.id, at: 1, reason: 'refused', payloadPrefix: PRIVATE_ERROR },
      ]);
      secretsOfA = [
        PRIVATE_ERROR,
        privatePilot.id,
        privateDevice.id,
        PRIVATE_PILOT_NAME,
        PRIVATE_DEVICE_NAME,
        PRIVATE_META,
        privateDevice.credentials.password,
        a.apiKey,
      ];
    });
    afterAll(async () => {
      await api.close();
    });
    describeForeignPrivateData();
    describeForeignSharedData();
    describeNoKeyBadKeyAdminKey();
    describeSharedAddressLogins();
  });
}

/** Every registry route that addresses one pilot or device. */
function routesFor(pilotId: string, deviceId: string, partnerId: string): [string, string, unknown?][] {
  return [
    ['GET', `/v1/pilots/${pilotId}`],
    ['POST', `/v1/pilots/${pilotId}/members`, { partnerId }],
    ['POST', `/v1/pilots/${pilotId}/devices`, { name: 'intruder' }],
    ['GET', `/v1/pilots/${pilotId}/devices`],
    ['GET', `/v1/devices/${deviceId}`],
    ['GET', `/v1/devices/${deviceId}/errors`],
    ['PATCH', `/v1/devices/${deviceId}`, { name: 'hijacked' }],
    ['POST', `/v1/devices/${deviceId}/credentials`],
    ['DELETE', `/v1/devices/${deviceId}`],
    // Added for the console (issue 14): members, error counts, stream tokens.
    ['GET', `/v1/pilots/${pilotId}/members`],
    ['GET', `/v1/pilots/${pilotId}/error-counts`],
    ['POST', '/v1/stream-tokens', { deviceId }],
    ['POST', '/v1/stream-tokens', { pilotId }],
    // Commands and the twin (issue 15).
    ['POST', `/v1/devices/${deviceId}/commands`, { name: 'reboot', ttlMs: 60_000 }],
    ['GET', `/v1/devices/${deviceId}/commands`],
    ['GET', `/v1/devices/${deviceId}/commands/${privateCommandId}`],
    ['POST', `/v1/devices/${deviceId}/commands/${privateCommandId}/cancel`],
    ['GET', `/v1/devices/${deviceId}/twin`],
    ['PATCH', `/v1/devices/${deviceId}/twin`, { desired: { hijacked: true } }],
  ];
}

async function callFrom(remoteAddress: string, method: string, url: string, key?: string, payload?: unknown) {
  const res = await api.app.inject({
    method: method as any,
    url,
    remoteAddress,
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: res.statusCode, body: res.json() as any, raw: res.body };
}

function expectNoLeak(raw: string, what: string) {
  for (const s of secretsOfA) expect(raw.includes(s), `${what} leaks ${s}`).toBe(false);
}

/** Another partner and A's private pilot and device. */
function describeForeignPrivateData(): void {
  describe('another partner, on private data', () => {
    it("gets 404 on every route of A's private pilot and device, with no trace of them", async () => {
      for (const intruder of [b, c]) {
        for (const [method, url, body] of routesFor(privatePilot.id, privateDevice.id, intruder.id)) {
          const res = await call(api.app, method as any, url, intruder.apiKey, body);
          expect(res.status, `${method} ${url}`).toBe(404);
          expect(res.body.error.code).toBe('not_found');
          expectNoLeak(res.raw, `${method} ${url}`);
        }
      }
    });

    it('gets the same 404 for a foreign id as for an id that does not exist', async () => {
      const foreign = await call(api.app, 'GET', `/v1/devices/${privateDevice.id}`, c.apiKey);
      const missing = await call(api.app, 'GET', '/v1/devices/dev_doesnotexist', c.apiKey);
      expect(foreign.status).toBe(missing.status);
      expect(foreign.body).toEqual(missing.body);
      const foreignPilot = await call(api.app, 'GET', `/v1/pilots/${privatePilot.id}`, c.apiKey);
      const missingPilot = await call(api.app, 'GET', '/v1/pilots/plt_doesnotexist', c.apiKey);
      expect(foreignPilot.body).toEqual(missingPilot.body);
    });

    it('changed nothing by trying', async () => {
      const device = await call(api.app, 'GET', `/v1/devices/${privateDevice.id}`, a.apiKey);
      expect(device.status).toBe(200);
      expect(device.body.name).toBe(PRIVATE_DEVICE_NAME);
      const pilot = await call(api.app, 'GET', `/v1/pilots/${privatePilot.id}`, a.apiKey);
      expect(pilot.body.memberIds).toEqual([a.id]);
      const devices = await call(api.app, 'GET', `/v1/pilots/${privatePilot.id}/devices`, a.apiKey);
      expect(devices.body.items.map((d: any) => d.id)).toEqual([privateDevice.id]);
      const errors = await call(api.app, 'GET', `/v1/devices/${privateDevice.id}/errors`, a.apiKey);
      expect(errors.body.items.map((e: any) => e.payloadPrefix)).toEqual([PRIVATE_ERROR]);
      const commands = await call(api.app, 'GET', `/v1/devices/${privateDevice.id}/commands`, a.apiKey);
      expect(commands.body.items.map((x: any) => [x.commandId, x.status])).toEqual([
        [privateCommandId, 'queued'],
      ]);
      const twin = await call(api.app, 'GET', `/v1/devices/${privateDevice.id}/twin`, a.apiKey);
      expect(twin.body).toMatchObject({ desired: {}, version: 0 });
      const stored = (await api.registry.getDeviceCredential(privateDevice.id))!;
      expect(secretMatches(privateDevice.credentials.password, stored.secretHash)).toBe(true);
    });
  });
}

/** Another partner, lists and the shared pilot. */
function describeForeignSharedData(): void {
  describe('another partner, on lists and shared data', () => {
    it('sees only its own pilots in lists and only itself in /partners/me', async () => {
      for (const [who, own, foreign] of [
        [b, [shared.id], [privatePilot.id, cPilot.id]],
        [c, [cPilot.id], [privatePilot.id, shared.id]],
      ] as const) {
        const list = await call(api.app, 'GET', '/v1/pilots', who.apiKey);
        expect(list.status).toBe(200);
        expect(list.body.items.map((p: any) => p.id)).toEqual(own);
        for (const id of foreign) expect(list.raw).not.toContain(id);
        const me = await call(api.app, 'GET', '/v1/partners/me', who.apiKey);
        expect(me.body.id).toBe(who.id);
        expectNoLeak(list.raw + me.raw, 'list');
      }
    });

    it('shares exactly the shared pilot: B reaches it, C gets 404 on every route', async () => {
      expect((await call(api.app, 'GET', `/v1/devices/${sharedDevice.id}`, a.apiKey)).status).toBe(200);
      expect((await call(api.app, 'GET', `/v1/pilots/${shared.id}/devices`, b.apiKey)).status).toBe(200);
      for (const [method, url, body] of routesFor(shared.id, sharedDevice.id, c.id)) {
        const res = await call(api.app, method as any, url, c.apiKey, body);
        expect(res.status, `${method} ${url}`).toBe(404);
        expect(res.raw).not.toContain('shared-AB');
        expect(res.raw).not.toContain('shared-device');
      }
    });

    it('cannot reach C from A or B either', async () => {
      for (const intruder of [a, b]) {
        for (const [method, url, body] of routesFor(cPilot.id, cDevice.id, intruder.id)) {
          const res = await call(api.app, method as any, url, intruder.apiKey, body);
          expect(res.status, `${method} ${url}`).toBe(404);
          expect(res.raw).not.toContain('pilot-of-C');
          expect(res.raw).not.toContain('device-of-C');
        }
      }
    });

    it('cannot create pilots nor partners with the admin route', async () => {
      const res = await call(api.app, 'POST', '/v1/partners', b.apiKey, {
        name: 'Evil',
        country: 'DE',
        kind: 'both',
      });
      expect(res.status).toBe(401);
    });
  });
}

function describeNoKeyBadKeyAdminKey(): void {
  describe('no key, a bad key, the admin key', () => {
    const allRoutes = () => [
      ...routesFor(privatePilot.id, privateDevice.id, a.id),
      ['GET', '/v1/pilots'],
      ['POST', '/v1/pilots', { name: 'x' }],
      ['GET', '/v1/partners/me'],
      ['POST', '/v1/partners', { name: 'x', country: 'DE', kind: 'both' }],
    ];

    it('401 on every /v1 route without a key or with a wrong key, with no data', async () => {
      // Each key from its own address: one address's 60 failures would earn a 429 (issue 19).
      for (const [i, key] of [undefined, 'not-a-key', `${a.apiKey}x`].entries()) {
        for (const [method, url, body] of allRoutes()) {
          const res = await callFrom(`10.9.0.${i + 1}`, method as string, url as string, key, body);
          expect(res.status, `${method} ${url} key=${key}`).toBe(401);
          expect(res.body.error.code).toBe('unauthorized');
          expectNoLeak(res.raw, `${method} ${url}`);
        }
      }
    });

    it('the admin key reaches no partner data (401 on partner routes)', async () => {
      for (const [method, url, body] of allRoutes().filter(([, url]) => url !== '/v1/partners')) {
        const res = await call(api.app, method as any, url as string, api.adminKey, body);
        expect(res.status, `${method} ${url}`).toBe(401);
        expectNoLeak(res.raw, `${method} ${url}`);
      }
    });
  });
}

function describeSharedAddressLogins(): void {
  describe('failed logins from an address partners share (issue 19)', () => {
    const from = (remoteAddress: string, method: 'GET' | 'POST', url: string, key?: string) =>
      api.app.inject({
        method,
        url,
        remoteAddress,
        headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      });

    it('a wrong-key storm gets 429 for its failures only; every partner behind that address works on', async () => {
      const office = '203.0.113.50';
      const answers = new Map<number, number>();
      for (let i = 0; i < 200; i++) {
        const res = await from(office, 'GET', '/v1/pilots', `${a.apiKey}x${i}`);
        answers.set(res.statusCode, (answers.get(res.statusCode) ?? 0) + 1);
        expect(res.json().error.code).toBe(res.statusCode === 401 ? 'unauthorized' : 'rate_limited');
      }
      expect([...answers.keys()].sort()).toEqual([401, 429]);
      for (const who of [a, b, c]) {
        const pilots = await from(office, 'GET', '/v1/pilots', who.apiKey);
        expect(pilots.statusCode).toBe(200);
        expect((await from(office, 'GET', '/v1/partners/me', who.apiKey)).json().id).toBe(who.id);
      }
      // Tenancy holds as before: another partner's pilot is a 404, not a 429 and not its data.
      const foreign = await from(office, 'GET', `/v1/pilots/${privatePilot.id}`, c.apiKey);
      expect(foreign.statusCode).toBe(404);
      expectNoLeak(foreign.body, 'foreign pilot during a storm');
      expect((await from(office, 'GET', '/v1/pilots', 'still-wrong')).statusCode).toBe(429);
    });

    it("another partner's 404s are not failed logins: they never slow its key", async () => {
      const lab = '203.0.113.77';
      for (let i = 0; i < 100; i++) {
        expect((await from(lab, 'GET', `/v1/devices/${privateDevice.id}`, c.apiKey)).statusCode).toBe(404);
      }
      // The address has no failures on record: a wrong key is a plain 401, at once.
      expect((await from(lab, 'GET', '/v1/pilots', 'wrong')).statusCode).toBe(401);
      expect((await from(lab, 'GET', '/v1/pilots', c.apiKey)).statusCode).toBe(200);
    });
  });
}
