/**
 * The walking skeleton, end to end with real parts: mqtt.js device -> broker -> ingest -> InfluxDB ->
 * API, all in this process but talking over loopback sockets.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

type Items = { items: { ts: string; values: Record<string, unknown> }[]; nextCursor: string | null };

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.dispose();
});

describe('a reading, end to end', () => {
  it('published over MQTT in each contract shape comes back from the telemetry API', async () => {
    const { apiKey, devices } = await provision(platform, 1);
    const device = devices[0]!;
    const client = await mqtt.connectAsync(device.mqttUrl, {
      username: device.deviceId,
      password: device.password,
      clientId: device.deviceId,
      clean: false,
      reconnectPeriod: 0,
    });
    const t0 = Date.now() - 60_000;
    await client.publishAsync(
      device.topic,
      JSON.stringify({ ts: t0, values: { temperature: 21.5, door: 'open', ok: true } }),
      { qos: 1 },
    );
    await client.publishAsync(
      device.topic,
      JSON.stringify([
        { ts: new Date(t0 + 1000).toISOString(), values: { temperature: 21 } },
        { ts: t0 + 2000, values: { temperature: 22.25 } },
      ]),
      { qos: 1 },
    );
    const before = Date.now();
    await client.publishAsync(device.topic, JSON.stringify({ temperature: 23 }), { qos: 1 });
    await client.endAsync();

    const body = await waitFor(
      async () => {
        const res = await platform.api(`/v1/devices/${device.deviceId}/telemetry?from=${t0 - 1}&limit=100`, {
          key: apiKey,
        });
        const json = (await res.json()) as Items;
        return json.items.length >= 4 ? json : undefined;
      },
      15_000,
      'four readings',
    );

    expect(body.items.slice(0, 3)).toEqual([
      { ts: new Date(t0).toISOString(), values: { temperature: 21.5, door: 'open', ok: true } },
      { ts: new Date(t0 + 1000).toISOString(), values: { temperature: 21 } },
      { ts: new Date(t0 + 2000).toISOString(), values: { temperature: 22.25 } },
    ]);
    // The flat payload was stamped with the time the platform received it.
    const stamped = Date.parse(body.items[3]!.ts);
    expect(stamped).toBeGreaterThanOrEqual(before - 5);
    expect(stamped).toBeLessThanOrEqual(Date.now());
    expect(body.items[3]!.values).toEqual({ temperature: 23 });
  });

  it('a device whose firmware speaks ThingsBoard publishes to v1/devices/me/telemetry', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Shenzhen HW');
    const device = devices[0]!;
    const client = await mqtt.connectAsync(device.mqttUrl, {
      username: device.deviceId,
      password: device.password,
      // The broker accepts a client id equal to the device id or starting with `{deviceId}-`.
      clientId: `${device.deviceId}-tb`,
      reconnectPeriod: 0,
    });
    const ts = Date.now() - 5000;
    await client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ ts, values: { rssi: -67 } }), {
      qos: 1,
    });
    await client.endAsync();
    const latest = await waitFor(
      async () => {
        const res = await platform.api(`/v1/devices/${device.deviceId}/telemetry/latest`, { key: apiKey });
        const json = (await res.json()) as Record<string, unknown>;
        return JSON.stringify(json).includes('-67') ? json : undefined;
      },
      15_000,
      'latest rssi',
    );
    expect(JSON.stringify(latest)).toContain(new Date(ts).toISOString());
  });

  it('/healthz and /readyz answer, and readiness covers InfluxDB and the registry', async () => {
    expect((await platform.api('/healthz')).status).toBe(200);
    const ready = await platform.api('/readyz');
    expect(ready.status).toBe(200);
    const text = await ready.text();
    expect(text).toContain('influxdb');
  });
});
