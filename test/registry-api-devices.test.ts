// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * The registry API: devices, credentials and device errors, through app.inject() on each real registry
 * store (SQLite, PostgreSQL: test/helpers/registry-stores.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secretMatches } from '../core/secrets.js';
import { call, createDevice, createPartner, createPilot, MQTT_URL, type TestApi } from './helpers/api-app.js';
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
        // Every URL the device is served at; HTTP ingest at the origin the caller used.
        urls: { mqtt: MQTT_URL, http: `http://localhost:80/v1/devices/${d.id}/telemetry` },
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
      const cleared = await call(api.app, 'PATCH', `/v1/devices/${d.id}`, a.apiKey, {
        firmwareVersion: null,
      });
      expect(cleared.body.firmwareVersion).toBeNull();
      expect(cleared.body.name).toBe('renamed');
      expect((await call(api.app, 'PATCH', `/v1/devices/${d.id}`, a.apiKey, {})).status).toBe(400);
      const unknown = await call(api.app, 'PATCH', `/v1/devices/${d.id}`, a.apiKey, { pilotId: 'plt_x' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.details[0].path).toBe('body.pilotId');
      expect((await call(api.app, 'PATCH', '/v1/devices/dev_nope', a.apiKey, { name: 'x' })).status).toBe(
        404,
      );
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

    it('keeps what a device sent in its errors, NUL bytes included, without costing another device its errors', async () => {
      const { a, pilot } = await setup();
      const [d, other] = [
        await createDevice(api, a.apiKey, pilot.id, 'd'),
        await createDevice(api, a.apiKey, pilot.id, 'other'),
      ];
      // One batch, as the broker and ingest record them: a payload with NUL and control bytes (and
      // a reason quoting it), next to another device's ordinary error.
      const quoted = '{"t\u0000": 1\u0001\u001b[31m\uFFFD';
      await api.registry.recordDeviceErrors([
        { deviceId: d.id, at: Date.UTC(2026, 0, 1), reason: `not JSON: ${quoted}`, payloadPrefix: quoted },
        { deviceId: other.id, at: Date.UTC(2026, 0, 1), reason: 'r', payloadPrefix: 'Grüße 🌡' },
      ]);
      const mine = await call(api.app, 'GET', `/v1/devices/${d.id}/errors`, a.apiKey);
      expect(mine.body.items).toEqual([
        { at: '2026-01-01T00:00:00.000Z', reason: `not JSON: ${quoted}`, payloadPrefix: quoted },
      ]);
      const theirs = await call(api.app, 'GET', `/v1/devices/${other.id}/errors`, a.apiKey);
      expect(theirs.body.items).toEqual([
        { at: '2026-01-01T00:00:00.000Z', reason: 'r', payloadPrefix: 'Grüße 🌡' },
      ]);
    });

    it('404 for devices of an unknown pilot', async () => {
      const { a } = await setup();
      expect(
        (await call(api.app, 'POST', '/v1/pilots/plt_nope/devices', a.apiKey, { name: 'x' })).status,
      ).toBe(404);
      expect((await call(api.app, 'GET', '/v1/pilots/plt_nope/devices', a.apiKey)).status).toBe(404);
    });
  });
});
