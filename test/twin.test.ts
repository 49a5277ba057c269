// biome-ignore-all lint/suspicious/noExplicitAny: test bodies are parsed JSON, checked field by field
/**
 * The device twin with the real platform (issue 15): ETag and If-Match (412 when stale), desired and
 * delta to the device at subscribe and on every change, reports merged, the delta right while both
 * sides change, twin/get, and the limits (API 400 naming the field, MQTT device errors).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsApi, connectDevice } from './helpers/commands.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.dispose();
});

describe('device twin', () => {
  it('versions the desired state: ETag, If-Match, 412 on a stale version', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Twin versions');
    const api = commandsApi(platform, apiKey, devices[0]!.deviceId);
    const empty = await api.twin();
    expect(empty.body).toMatchObject({ desired: {}, reported: {}, delta: {}, version: 0, updatedAt: null });
    expect(empty.headers.get('etag')).toBe('"0"');
    const first = await api.patchTwin({ interval: 5000, led: { color: 'red' } }, '"0"');
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBe('"1"');
    expect(first.body.metadata.desired.led.color).toMatch(/Z$/);
    // Someone else changed it meanwhile: the stale version is refused, nothing changes.
    const stale = await api.patchTwin({ interval: 1000 }, '"0"');
    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({
      code: 'precondition_failed',
      details: { reason: 'twin_version_stale', version: 1 },
    });
    const merged = await api.patchTwin({ led: { color: null, on: true }, mode: 'eco' }, 'W/"1"');
    expect(merged.body).toMatchObject({
      desired: { interval: 5000, led: { on: true }, mode: 'eco' },
      version: 2,
    });
    // Without If-Match the change applies to whatever is current.
    expect((await api.patchTwin({ mode: null })).body.version).toBe(3);
  });

  it('sends desired and delta to the device, merges its reports, keeps the delta right while both change', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Twin device');
    const device = devices[0]!;
    const api = commandsApi(platform, apiKey, device.deviceId);
    await api.patchTwin({ interval: 5000 });
    const base = `devices/${device.deviceId}/twin`;
    const d = await connectDevice(device, { clientId: 'twin-board', clean: false });
    await d.client.subscribeAsync([`${base}/desired`, `${base}/delta`, `${base}/get/response`], { qos: 1 });
    // At subscribe: the current desired state and delta.
    expect((await d.next('/twin/desired')).body).toEqual({ version: 1, desired: { interval: 5000 } });
    expect((await d.next('/twin/delta')).body).toEqual({ version: 1, delta: { interval: 5000 } });
    // The device reports while the partner changes the desired state.
    const mark = d.received.length;
    await Promise.all([
      d.client.publishAsync(`${base}/reported`, JSON.stringify({ interval: 5000, firmware: '1.2.0' }), {
        qos: 1,
      }),
      api.patchTwin({ threshold: 30 }),
    ]);
    const twin = await waitFor(async () => {
      const t = (await api.twin()).body;
      return t.reported.interval === 5000 && t.version === 2 ? t : undefined;
    });
    expect(twin).toMatchObject({
      desired: { interval: 5000, threshold: 30 },
      reported: { interval: 5000, firmware: '1.2.0' },
      delta: { threshold: 30 },
      reportedVersion: 1,
    });
    const delta = await waitFor(() =>
      d.received.slice(mark).find((m) => m.topic.endsWith('/twin/delta') && m.body.version === 2),
    );
    expect(delta.body.delta).toHaveProperty('threshold', 30);
    // twin/get answers on twin/get/response with the whole twin and the request id.
    await d.client.publishAsync(`${base}/get`, JSON.stringify({ requestId: 'r1' }), { qos: 1 });
    const got = await waitFor(() => d.received.find((m) => m.topic.endsWith('/get/response')));
    expect(got.body).toMatchObject({ requestId: 'r1', version: 2, reported: { firmware: '1.2.0' } });
    await d.client.publishAsync(`${base}/reported`, JSON.stringify({ threshold: 30 }), { qos: 1 });
    await waitFor(async () => Object.keys((await api.twin()).body.delta).length === 0);
    await d.client.endAsync();
  });

  it('refuses documents past the limits: a 400 naming the field, device errors over MQTT', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Twin limits');
    const device = devices[0]!;
    const api = commandsApi(platform, apiKey, device.deviceId);
    const badKey = await api.patchTwin({ ok: 1, 'bad key': 1 });
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.details[0]).toMatchObject({ path: 'body.desired.bad key', code: 'invalid_key' });
    const deep = await api.patchTwin({ a: { b: { c: { d: { e: { f: { g: 1 } } } } } } });
    expect(deep.body.error.details[0]).toMatchObject({
      path: 'body.desired.a.b.c.d.e.f',
      code: 'too_deep',
      limit: 6,
    });
    const big = await api.patchTwin({ blob: 'x'.repeat(9000) });
    expect(big.body.error.details[0]).toMatchObject({ path: 'desired', code: 'too_big', limit: 8192 });
    expect((await api.twin()).body.version).toBe(0);

    const d = await connectDevice(device);
    const reported = `devices/${device.deviceId}/twin/reported`;
    await d.client.publishAsync(reported, '[1,2]', { qos: 1 });
    await d.client.publishAsync(reported, JSON.stringify({ __proto__x: 1 }), { qos: 1 });
    await d.client.publishAsync(reported, JSON.stringify({ big: 'y'.repeat(9000) }), { qos: 1 });
    await d.client.publishAsync(reported, `${'{"a":'.repeat(20)}1${'}'.repeat(20)}`, { qos: 1 });
    const reasons = await waitFor(async () => {
      const e = await api.errors();
      return e.body.items.length >= 4 ? e.body.items.map((i: any) => i.reason as string) : undefined;
    });
    expect(reasons.join('\n')).toMatch(/expected a JSON object/);
    expect(reasons.join('\n')).toMatch(/reported\.__proto__x: a key is a letter/);
    expect(reasons.join('\n')).toMatch(/more than 8192/);
    expect(reasons.join('\n')).toMatch(/nested deeper than 6 levels/);
    expect((await api.twin()).body.reportedVersion).toBe(0);
    expect(d.client.connected).toBe(true);
    await d.client.endAsync();
  });
});
