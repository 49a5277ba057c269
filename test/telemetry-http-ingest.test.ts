// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * HTTP ingest: `POST /v1/devices/{id}/telemetry` with the device's own id and secret (HTTP Basic).
 * A valid body is published unchanged, QoS 1, to `$platform/telemetry/{deviceId}/{receivedAt}` on a
 * real aedes broker (a subscriber stands in for our broker's spool hand-off); a wrong secret publishes nothing; a bad
 * body (also a key with another type in the pilot) is a 400 listing the problems and a device error; a broker that is
 * gone is a 503. Rate and spool limits with our own broker: http-ingest-limits.test.ts.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpIngestRoutes } from '../api/routes/http-ingest.js';
import { createMqttIngestPublisher } from '../api/telemetry/ingest-publisher.js';
import { connectServiceMqtt } from '../api/telemetry/live.js';
import { parseHttpIngestTopic } from '../core/topics.js';
import { type PlainBroker, startPlainBroker } from './helpers/plain-broker.js';
import { startTelemetryFixture, type TelemetryFixture } from './helpers/telemetry.js';

const SECRET = randomBytes(16).toString('hex');
const NOW = Date.UTC(2026, 0, 1, 12);
let broker: PlainBroker;
let apiMqtt: MqttClient;
let ingest: MqttClient;
let f: TelemetryFixture;
let received: { topic: string; payload: Buffer }[] = [];

beforeAll(async () => {
  broker = await startPlainBroker(SECRET);
  apiMqtt = connectServiceMqtt({ url: broker.url, serviceSecret: SECRET, reconnectPeriodMs: 100 });
  await new Promise<void>((resolve) => apiMqtt.once('connect', () => resolve()));
  const publisher = createMqttIngestPublisher(apiMqtt, { timeoutMs: 2000 });
  f = await startTelemetryFixture({
    plugins: [httpIngestRoutes({ publisher, now: () => NOW, maxPayloadBytes: 4096 })],
  });
  ingest = await mqtt.connectAsync(broker.url, {
    username: 'svc:ingest',
    password: SECRET,
    clientId: 'ingest-test',
  });
  ingest.on('message', (topic, payload) => received.push({ topic, payload }));
  await ingest.subscribeAsync('$platform/telemetry/+/+', { qos: 1 });
});
afterAll(async () => {
  await ingest?.endAsync();
  await f?.close();
  await apiMqtt?.endAsync(true);
  await broker?.close();
});
beforeEach(async () => {
  received = [];
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function post(deviceId: string, body: string, authorization?: string, contentType = 'application/json') {
  return f.api.app.inject({
    method: 'POST',
    url: `/v1/devices/${deviceId}/telemetry`,
    headers: { 'content-type': contentType, ...(authorization ? { authorization } : {}) },
    payload: body,
  });
}

async function waitForMessages(n: number) {
  const deadline = Date.now() + 2000;
  while (received.length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} messages, got ${received.length}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('HTTP ingest', () => {
  it('hands a valid body to ingest unchanged, after the PUBACK', async () => {
    const bodies = [
      '{"ts": 1732240000000, "values": {"temperature": 21.5, "door": "open", "ok": true}}',
      '[{"ts": "2024-11-22T01:02:03.123Z", "values": {"a": 1}}, {"ts": 1732240000001, "values": {"a": 2}}]',
      '{"temperature": 21.5}',
    ];
    for (const body of bodies) {
      const res = await post(f.d1.id, body, basic(f.d1.id, f.d1.password));
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json()).toEqual({
        accepted: JSON.parse(body).length ?? 1,
        receivedAt: new Date(NOW).toISOString(),
      });
    }
    await waitForMessages(3);
    expect(received.map((m) => m.payload.toString())).toEqual(bodies);
    for (const m of received)
      expect(parseHttpIngestTopic(m.topic)).toEqual({ deviceId: f.d1.id, receivedAt: NOW });
  });

  it('accepts a body without a JSON content type (curl -d)', async () => {
    const res = await post(
      f.d1.id,
      '{"t": 1}',
      basic(f.d1.id, f.d1.password),
      'application/x-www-form-urlencoded',
    );
    expect(res.statusCode).toBe(202);
    await waitForMessages(1);
  });

  it('refuses wrong, missing, or another device`s credentials with 401 and publishes nothing', async () => {
    const attempts = [
      undefined,
      basic(f.d1.id, 'wrong'),
      basic(f.d1.id, f.d2.password),
      basic(f.d2.id, f.d2.password),
      `Bearer ${f.key}`,
      'Basic !!!',
      basic(f.d1.id, ''),
    ];
    for (const auth of attempts) {
      const res = await post(f.d1.id, '{"temperature": 1}', auth);
      expect(res.statusCode, String(auth)).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Basic/);
    }
    const unknown = await post('dev_doesnotexist', '{"t": 1}', basic('dev_doesnotexist', 'x'));
    expect(unknown.statusCode).toBe(401);
    // Deleted device: its secret stops working.
    await f.api.app.inject({
      method: 'DELETE',
      url: `/v1/devices/${f.d2.id}`,
      headers: { authorization: `Bearer ${f.key}` },
    });
    expect((await post(f.d2.id, '{"t": 1}', basic(f.d2.id, f.d2.password))).statusCode).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual([]);
  });

  it('refuses a bad body with 400 listing the problems, records device errors, publishes nothing', async () => {
    const cases = [
      ['not json', 'not valid JSON'],
      ['[]', 'empty batch'],
      ['{"ts": 5, "temp": 1}', 'flat object may not contain "ts"'],
      ['[{"ts": 1, "values": {"a": 1}}, {"ts": 2, "values": {"time": 1}}]', 'reading 1'],
      ['', 'not valid JSON'],
    ] as const;
    for (const [body, expected] of cases) {
      const res = await post(f.d1.id, body, basic(f.d1.id, f.d1.password));
      expect(res.statusCode, body).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
      expect(
        res
          .json()
          .error.details.map((d: any) => d.message)
          .join('\n'),
      ).toContain(expected);
    }
    const errors = await f.api.registry.listDeviceErrors(f.d1.id, { limit: 100 });
    expect(errors.items.length).toBeGreaterThanOrEqual(cases.length);
    expect(
      errors.items.some((e) => e.reason.includes('reading 1') && e.payloadPrefix.startsWith('[{"ts": 1')),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual([]);
  });

  it('refuses a key that has another type in this pilot with 400 naming it, stores and claims nothing', async () => {
    await f.api.registry.claimKeyTypes(f.pilotId, new Map([['humidity', 'number' as const]]));
    const cases = [
      ['{"humidity": "wet"}', 'key "humidity" is a number in this pilot, got a string'],
      [
        '[{"ts": 1, "values": {"fresh": 1}}, {"ts": 2, "values": {"fresh": true}}]',
        'reading at ts 2: key "fresh" is a number in this pilot, got a boolean',
      ],
    ] as const;
    for (const [body, expected] of cases) {
      const res = await post(f.d1.id, body, basic(f.d1.id, f.d1.password));
      expect(res.statusCode, body).toBe(400);
      expect(res.json().error.details.map((d: any) => d.message)).toContain(expected);
    }
    // Every problem at once: a bad reading and a type conflict in the same batch.
    const both = await post(
      f.d1.id,
      '[{"ts": 1, "values": {"time": 1}}, {"ts": 2, "values": {"humidity": false, "novel": 1}}]',
      basic(f.d1.id, f.d1.password),
    );
    expect(both.statusCode).toBe(400);
    const messages = both.json().error.details.map((d: any) => d.message);
    expect(messages).toHaveLength(2);
    expect(messages.join('\n')).toContain('reading 0');
    expect(messages).toContain('key "humidity" is a number in this pilot, got a boolean');
    // Nothing was stored, and the refused requests claimed no type for their new keys.
    const types = await f.api.registry.getKeyTypes(f.pilotId);
    expect(types.has('fresh') || types.has('novel')).toBe(false);
    expect(
      (await f.api.registry.listDeviceErrors(f.d1.id, { limit: 100 })).items.some(
        (e) => e.reason === 'HTTP: key "humidity" is a number in this pilot, got a string',
      ),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual([]);
    // The same key with its own type goes through, and a new key is typed before the 202.
    const ok = await post(f.d1.id, '{"humidity": 40, "novel": "yes"}', basic(f.d1.id, f.d1.password));
    expect(ok.statusCode).toBe(202);
    expect((await f.api.registry.getKeyTypes(f.pilotId)).get('novel')).toBe('string');
    await waitForMessages(1);
  });

  it('refuses a body above the size limit with 413', async () => {
    const res = await post(f.d1.id, JSON.stringify({ s: 'x'.repeat(5000) }), basic(f.d1.id, f.d1.password));
    expect(res.statusCode).toBe(413);
  });

  it('is documented in OpenAPI with the payload shapes and Basic auth', async () => {
    const res = await f.api.app.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const op = res.json().paths['/v1/devices/{deviceId}/telemetry'].post;
    expect(op.security).toEqual([{ deviceBasic: [] }]);
    expect(JSON.stringify(op.requestBody)).toContain('anyOf');
  });

  it('answers 503 when the broker is unreachable', async () => {
    await broker.close();
    const deadline = Date.now() + 2000;
    while (apiMqtt.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const res = await post(f.d1.id, '{"temperature": 1}', basic(f.d1.id, f.d1.password));
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('unavailable');
  });
});
