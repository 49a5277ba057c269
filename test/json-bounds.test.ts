/**
 * Issue 19, items 3 (`__proto__`) and 5 (deep JSON), against the whole platform: a reading with a
 * key the contract's grammar refuses, `__proto__` included, is a device error and never silently
 * shortened; JSON nested deeper than 64 levels is a 400 naming the field in every API body, and a
 * device error in an MQTT or HTTP payload. Other devices and requests go on unaffected.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonDepthExceededAt, MAX_JSON_DEPTH, topLevelKeyAt } from '../core/json-depth.js';
import { parseTelemetryPayload, parseTelemetryPayloadWithSchemas } from '../core/telemetry.js';
import {
  type ProvisionedDevice,
  provision,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

let platform: TestPlatform;
let apiKey: string;
let pilotId: string;
let devices: ProvisionedDevice[];
const clients: MqttClient[] = [];
const T = Date.now() - 600_000;

beforeAll(async () => {
  platform = await startTestPlatform();
  ({ apiKey, pilotId, devices } = await provision(platform, 4, 'Json'));
});
afterAll(async () => {
  for (const c of clients) await c.endAsync(true);
  await platform?.dispose();
});

async function publisher(d: ProvisionedDevice) {
  const c = await mqtt.connectAsync(d.mqttUrl, {
    username: d.deviceId,
    password: d.password,
    clientId: d.deviceId,
    reconnectPeriod: 0,
  });
  clients.push(c);
  return (payload: string) => c.publishAsync(d.topic, payload, { qos: 1 });
}

async function errorsOf(deviceId: string, atLeast: number): Promise<string[]> {
  return waitFor(async () => {
    const res = await platform.api(`/v1/devices/${deviceId}/errors`, { key: apiKey });
    const items = ((await res.json()) as { items: { reason: string }[] }).items;
    return items.length >= atLeast ? items.map((e) => e.reason).reverse() : undefined;
  });
}

async function readings(deviceId: string, expected: number) {
  return waitFor(async () => {
    const res = await platform.api(`/v1/devices/${deviceId}/telemetry?from=${T - 1}`, { key: apiKey });
    const items = ((await res.json()) as { items: { ts: string; values: Record<string, unknown> }[] }).items;
    return items.length >= expected ? items : undefined;
  });
}

const httpIngest = (d: ProvisionedDevice, body: string) =>
  fetch(`${platform.apiUrl}/v1/devices/${d.deviceId}/telemetry`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${d.deviceId}:${d.password}`).toString('base64')}`,
    },
    body,
  });

/** `{"a":{"a":...{"a":1}...}}`, `levels` objects deep. */
const nestedObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe('__proto__ in a reading', () => {
  const bad = [
    `{"ts": ${T}, "values": {"__proto__": 1, "temperature": 2}}`,
    '{"__proto__": {"polluted": 1}, "temperature": 3}',
    `[{"ts": ${T + 1}, "values": {"temperature": 4}}, {"ts": ${T + 2}, "values": {"__proto__": 5}}]`,
  ];

  it('is refused the same way by the fast path and the schemas', () => {
    for (const payload of bad) {
      const fast = parseTelemetryPayload(Buffer.from(payload), T);
      expect(fast).toEqual(parseTelemetryPayloadWithSchemas(payload, T));
      expect(fast.errors).toEqual([expect.stringContaining('key "__proto__": expected a letter')]);
    }
  });

  it('is a device error over MQTT and HTTP; the rest of a batch and other devices are stored', async () => {
    const [device, neighbour] = devices as [ProvisionedDevice, ProvisionedDevice];
    const send = await publisher(device);
    for (const payload of bad) await send(payload);
    await (await publisher(neighbour))(JSON.stringify({ ts: T, values: { temperature: 9 } }));

    const reasons = await errorsOf(device.deviceId, 3);
    expect(reasons).toEqual([
      expect.stringMatching(/^key "__proto__": expected a letter/),
      expect.stringMatching(/^key "__proto__": expected a letter/),
      expect.stringMatching(/^reading 1: key "__proto__": expected a letter/),
    ]);
    expect((await readings(device.deviceId, 1)).map((r) => r.values)).toEqual([{ temperature: 4 }]);
    expect((await readings(neighbour.deviceId, 1)).map((r) => r.values)).toEqual([{ temperature: 9 }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const res = await httpIngest(device, bad[0]!);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/key "__proto__"/);
  });
});

describe('the depth scan', () => {
  it('counts brackets outside strings only, on bytes and text alike, and names the top-level field', () => {
    const cases: [string, number][] = [
      ['[[[]]]', 2],
      ['[[]]', -1],
      ['{"a": "[[[[", "b": [1]}', -1],
      [String.raw`{"a\\": "\\", "b": [[[]]]}`, 20],
      ['["\\"[[["]', -1],
      ['{"é€": [[["x"]]]}', 8],
    ];
    for (const [text, at] of cases) {
      expect(jsonDepthExceededAt(text, 2), text).toBe(at);
      // Byte offsets differ from string offsets after multi-byte characters; found or not agrees.
      expect(jsonDepthExceededAt(Buffer.from(text), 2) >= 0, text).toBe(at >= 0);
    }
    expect(topLevelKeyAt(String.raw`{"a\\": "\\", "b": [[[]]]}`, 20)).toBe('b');
    expect(topLevelKeyAt('[[[]]]', 2)).toBeUndefined();
  });
});

describe('deeply nested JSON', () => {
  const patchDevice = (deviceId: string, body: string) =>
    platform.api(`/v1/devices/${deviceId}`, {
      method: 'PATCH',
      key: apiKey,
      body,
      headers: { 'content-type': 'application/json' },
    });

  it('PATCH with metadata 5,000 levels deep is a 400 naming the field; the device is unchanged', async () => {
    const device = devices[2]!;
    expect((await patchDevice(device.deviceId, '{"metadata": {"rack": 7}}')).status).toBe(200);
    const res = await patchDevice(device.deviceId, `{"name": "x", "metadata": ${nestedObject(5000)}}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        code: 'validation_error',
        message: `body.metadata: nested more than ${MAX_JSON_DEPTH} levels deep`,
        details: [{ path: 'body.metadata', message: `nested more than ${MAX_JSON_DEPTH} levels deep` }],
      },
    });
    const now = (await (await platform.api(`/v1/devices/${device.deviceId}`, { key: apiKey })).json()) as {
      name: string;
      metadata: unknown;
    };
    expect(now).toEqual(expect.objectContaining({ name: 'device 3', metadata: { rack: 7 } }));
    // The limit counts the body itself: 64 levels in all pass, 65 do not.
    expect((await patchDevice(device.deviceId, `{"metadata": ${nestedObject(63)}}`)).status).toBe(200);
    expect((await patchDevice(device.deviceId, `{"metadata": ${nestedObject(64)}}`)).status).toBe(400);
  });

  it('every JSON body has the limit: a new device, a new pilot', async () => {
    const created = await platform.api(`/v1/pilots/${pilotId}/devices`, {
      method: 'POST',
      key: apiKey,
      body: `{"name": "deep", "metadata": ${nestedObject(100)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(created.status).toBe(400);
    expect(((await created.json()) as { error: { details: unknown } }).error.details).toEqual([
      { path: 'body.metadata', message: expect.stringContaining('levels deep') },
    ]);
    const pilot = await platform.api('/v1/pilots', {
      method: 'POST',
      key: apiKey,
      body: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(pilot.status).toBe(400);
    expect(((await pilot.json()) as { error: { details: unknown } }).error.details).toEqual([
      { path: 'body', message: expect.stringContaining('levels deep') },
    ]);
  });

  it('is a device error ("too deep") over MQTT and a 400 over HTTP; the next reading is stored', async () => {
    const device = devices[3]!;
    const send = await publisher(device);
    await send(`{"ts": ${T}, "values": {"a": ${'['.repeat(5000)}${']'.repeat(5000)}}}`);
    await send(`${'['.repeat(120_000)}${']'.repeat(120_000)}`);
    await send(JSON.stringify({ ts: T + 5, values: { temperature: 1 } }));
    expect(await errorsOf(device.deviceId, 2)).toEqual([
      `payload too deep: more than ${MAX_JSON_DEPTH} levels of nested arrays and objects`,
      `payload too deep: more than ${MAX_JSON_DEPTH} levels of nested arrays and objects`,
    ]);
    expect((await readings(device.deviceId, 1)).map((r) => r.values)).toEqual([{ temperature: 1 }]);
    const res = await httpIngest(device, nestedObject(1000));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/payload too deep/);
  });
});
