// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * HTTP ingest and the key caps (issues 11 and 19): a body past TELEMETRY_MAX_KEYS_PER_READING, or with
 * keys past the device's or pilot's cap, is a 400 naming the cap, and stores nothing; keys accepted
 * with a 202 are claimed for the device before the answer, so ingest stores all of them.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpIngestRoutes } from '../api/routes/http-ingest.js';
import { createMqttIngestPublisher } from '../api/telemetry/ingest-publisher.js';
import { connectServiceMqtt } from '../api/telemetry/live.js';
import type { RunningBroker } from '../broker/index.js';
import {
  createTestRegistry,
  journalRows,
  SERVICE_SECRET,
  startTestBroker,
  type TestRegistry,
} from './helpers/broker.js';
import { startTelemetryFixture, type TelemetryFixture } from './helpers/telemetry.js';

let reg: TestRegistry;
let broker: RunningBroker;
let apiMqtt: MqttClient;
let f: TelemetryFixture;

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg);
  apiMqtt = connectServiceMqtt({ url: broker.address.url, serviceSecret: SERVICE_SECRET });
  await new Promise<void>((resolve) => apiMqtt.once('connect', () => resolve()));
  const publisher = createMqttIngestPublisher(apiMqtt, { timeoutMs: 5000 });
  f = await startTelemetryFixture({
    plugins: [httpIngestRoutes({ publisher, keyLimits: { perReading: 3, perDevice: 4, perPilot: 5 } })],
  });
});
afterAll(async () => {
  await f?.close();
  await apiMqtt?.endAsync(true);
  await broker?.close();
  reg?.close();
});

const post = (device: { id: string; password: string }, values: Record<string, number>) =>
  f.api.app.inject({
    method: 'POST',
    url: `/v1/devices/${device.id}/telemetry`,
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${device.id}:${device.password}`).toString('base64')}`,
    },
    payload: JSON.stringify({ ts: 1_732_240_000_000, values }),
  });

describe('HTTP ingest key caps', () => {
  it('refuses a reading past the per-reading cap with a 400 naming the variable', async () => {
    const res = await post(f.d1, { a: 1, b: 2, c: 3, d: 4 });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/TELEMETRY_MAX_KEYS_PER_READING \(3\)/);
    expect((await f.api.registry.getDeviceKeys(f.d1.id)).keys.size).toBe(0);
  });

  it("claims accepted keys for the device before the 202, then refuses keys past the device's cap", async () => {
    expect((await post(f.d1, { a: 1, b: 2, c: 3 })).statusCode).toBe(202);
    expect([...(await f.api.registry.getDeviceKeys(f.d1.id)).keys.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect((await post(f.d1, { d: 4 })).statusCode).toBe(202);
    const over = await post(f.d1, { e: 5 });
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toMatch(/"e" refused: .*TELEMETRY_MAX_KEYS_PER_DEVICE/);
  });

  it("refuses a new key past the pilot's cap for another device of the pilot", async () => {
    expect((await post(f.d2, { a: 1, x: 2 })).statusCode).toBe(202); // a known, x the pilot's 5th
    const over = await post(f.d2, { y: 3 });
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toMatch(/"y" refused: .*TELEMETRY_MAX_KEYS_PER_PILOT/);
    // Only the accepted bodies reached the spool.
    expect(journalRows(reg.dir).map((r) => Object.keys(JSON.parse(r.payload.toString()).values))).toEqual([
      ['a', 'b', 'c'],
      ['d'],
      ['a', 'x'],
    ]);
  });
});
