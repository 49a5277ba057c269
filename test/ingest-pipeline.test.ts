/**
 * The ingest worker end to end with real parts: devices publish through the real broker, ingest
 * spools, validates, type-checks and writes to a real InfluxDB, and we read the points back.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import type { InfluxConnection } from '../core/influx/client.js';
import { generateSecret, hashSecret } from '../core/secrets.js';
import {
  httpIngestTopic,
  liveInterestTopic,
  SERVICE_USERNAMES,
  STORED_TOPIC_FILTER,
  telemetryTopic,
} from '../core/topics.js';
import type { IngestHandle } from '../ingest/index.js';
import {
  connect,
  createTestRegistry,
  SERVICE_SECRET,
  startTestBroker,
  type TestRegistry,
} from './helpers/broker.js';
import { sharedInflux } from './helpers/influxd.js';
import { fieldTypes, pointsOf, publish1, startTestIngest, waitUntil } from './helpers/ingest.js';

let reg: TestRegistry;
let broker: RunningBroker;
let influx: InfluxConnection;
let ingest: IngestHandle;
const clients: MqttClient[] = [];

beforeEach(async () => {
  sent = 0;
  reg = await createTestRegistry();
  broker = await startTestBroker(reg);
  influx = await sharedInflux();
  ingest = await startTestIngest(reg, broker.address.url, influx);
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await ingest.close();
  await broker.close();
  await reg.close();
});

async function device(pilotId = reg.pilotId) {
  const secret = generateSecret();
  const d = await reg.registry.createDevice(pilotId, { name: 'd' }, hashSecret(secret));
  const client = await connect(broker.address.url, { username: d.id, password: secret, clientId: d.id });
  clients.push(client);
  return {
    id: d.id,
    send: (payload: unknown) =>
      counted(
        publish1(
          client,
          telemetryTopic(d.id),
          typeof payload === 'string' ? payload : JSON.stringify(payload),
        ),
      ),
    sendRaw: (payload: Buffer) => counted(publish1(client, telemetryTopic(d.id), payload)),
  };
}

async function serviceClient() {
  const client = await connect(broker.address.url, {
    username: SERVICE_USERNAMES.api,
    password: SERVICE_SECRET,
    clientId: `svc-api-test-${Math.random().toString(36).slice(2, 8)}`,
  });
  clients.push(client);
  return client;
}

async function newPilot() {
  const partner = await reg.registry.createPartner(
    { name: `p-${Math.random().toString(36).slice(2)}`, country: 'FR', kind: 'both' },
    hashSecret(generateSecret()),
  );
  return (await reg.registry.createPilot({ name: 'other', memberIds: [partner.id] })).id;
}

const errorsOf = async (deviceId: string) =>
  (await reg.registry.listDeviceErrors(deviceId, { limit: 100 })).items;
const pointsFor = async (pilotId: string, deviceId: string) =>
  (await pointsOf(influx, pilotId)).filter((p) => p.device === deviceId);
let sent = 0;
/** Counts a message the test got a PUBACK for. */
const counted = async (p: Promise<void>) => {
  await p;
  sent++;
};
/** Waits until ingest took every message the test sent and stored or refused each. */
async function drained() {
  const done = await waitUntil(async () => {
    const s = await ingest.status();
    return s.messagesReceived === sent && s.messagesDone === sent;
  }, 10_000);
  expect(done, `ingest handled ${(await ingest.status()).messagesDone} of ${sent} messages`).toBe(true);
}

describe('payload shapes', () => {
  it('stores {ts, values}, a batch and a flat object with the right times and field types', async () => {
    const d = await device();
    const before = Date.now();
    await d.send({ ts: 1_732_240_000_000, values: { temperature: 21.5, door: 'open', ok: true } });
    await d.send([
      { ts: '2024-11-22T01:00:00.000Z', values: { temperature: 21 } },
      { ts: 1_732_237_200_500, values: { temperature: 22.25 } },
    ]);
    await d.send({ temperature: 23 });
    const points = await waitUntil(async () => {
      const p = await pointsFor(reg.pilotId, d.id);
      return p.length === 4 ? p : undefined;
    });
    expect(points).toBeDefined();
    const byTime = new Map(points!.map((p) => [p.time as number, p]));
    expect(byTime.get(1_732_240_000_000)).toMatchObject({ temperature: 21.5, door: 'open', ok: true });
    expect(byTime.get(Date.parse('2024-11-22T01:00:00.000Z'))).toMatchObject({ temperature: 21 });
    expect(byTime.get(1_732_237_200_500)).toMatchObject({ temperature: 22.25 });
    const flat = points!.find((p) => p.temperature === 23);
    // Stamped with the broker's receive time.
    expect(flat?.time as number).toBeGreaterThanOrEqual(before);
    expect(flat?.time as number).toBeLessThanOrEqual(Date.now());
    // 21 after 21.5 is still a float: no type conflict.
    expect(await fieldTypes(influx, reg.pilotId)).toEqual({
      temperature: 'float',
      door: 'string',
      ok: 'boolean',
    });
    expect(await errorsOf(d.id)).toEqual([]);
  });

  it('stores the good readings of a batch and records the bad ones as device errors', async () => {
    const d = await device();
    await d.send([
      { ts: 1000, values: { a: 1 } },
      { ts: 2000, values: { a: 'NaN-as-string-is-fine-for-a-new-key', '1bad': 2 } },
      { ts: 3000, values: { time: 5 } },
      { ts: -5, values: { a: 3 } },
      { ts: 4000, values: { a: 4, nested: { x: 1 } } },
      { ts: 5000, values: { a: 5 } },
    ]);
    await drained();
    const points = await pointsFor(reg.pilotId, d.id);
    expect(points.map((p) => [p.time, p.a])).toEqual([
      [1000, 1],
      [5000, 5],
    ]);
    const reasons = (await errorsOf(d.id)).map((e) => e.reason);
    expect(reasons).toHaveLength(4);
    expect(reasons.join('\n')).toMatch(/reading 1: key "1bad"/);
    expect(reasons.join('\n')).toMatch(/reading 2: key "time" is reserved/);
    expect(reasons.join('\n')).toMatch(/reading 3: ts:/);
    expect(reasons.join('\n')).toMatch(/reading 4: key "nested"/);
    expect((await errorsOf(d.id))[0]?.payloadPrefix.startsWith('[{"ts":1000')).toBe(true);
  });
});

describe('hostile payloads never crash or stall the worker', () => {
  it('refuses each as a device error and keeps storing the next valid message', async () => {
    const d = await device();
    const hostile: Buffer[] = [
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x7d]), // invalid UTF-8
      Buffer.from('not json at all'),
      Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), // deeply nested
      Buffer.from(JSON.stringify({ s: 'x'.repeat(70 * 1024) })), // string over InfluxDB's limit
      Buffer.from('{"a": 1e999}'), // Infinity
      Buffer.from('{"ts": 5, "a": 1}'), // flat with ts
      Buffer.from('[]'),
      Buffer.from('null'),
      Buffer.from('"NaN"'),
      Buffer.from(JSON.stringify({ ['k'.repeat(65)]: 1 })),
      Buffer.from(JSON.stringify({ device: 'spoof' })),
      Buffer.from(JSON.stringify({ ts: 1, values: { a: 1 }, extra: true })),
      Buffer.from(''),
    ];
    for (const payload of hostile) await d.sendRaw(payload);
    await d.send({ ts: 42, values: { fine: 1 } });
    const points = await waitUntil(async () => {
      const p = await pointsFor(reg.pilotId, d.id);
      return p.length > 0 ? p : undefined;
    });
    expect(points?.map((p) => [p.time, p.fine])).toEqual([[42, 1]]);
    await drained();
    const reasons = (await errorsOf(d.id)).map((e) => e.reason);
    expect(reasons).toHaveLength(hostile.length);
    expect(reasons).toContain('payload is not valid UTF-8');
    expect(reasons.some((r) => /at most 65536 bytes/.test(r))).toBe(true);
    expect(reasons.some((r) => /key "device" is reserved/.test(r))).toBe(true);
    for (const e of await errorsOf(d.id))
      expect(Buffer.byteLength(e.payloadPrefix)).toBeLessThanOrEqual(200 * 3);
    expect((await ingest.status()).influxHealthy).toBe(true);
  });
});

describe('key types', () => {
  it('refuses a value of another type from the same device, naming the key and both types', async () => {
    const d = await device();
    await d.send({ ts: 1, values: { temperature: 20 } });
    await drained();
    await d.send({ ts: 2, values: { temperature: 'hot', other: 1 } });
    await d.send({ ts: 3, values: { temperature: 21 } });
    await drained();
    expect((await pointsFor(reg.pilotId, d.id)).map((p) => p.time)).toEqual([1, 3]);
    const [error] = await errorsOf(d.id);
    expect(error?.reason).toBe('key "temperature" is a number in this pilot, got a string');
    expect(error?.payloadPrefix).toContain('"hot"');
  });

  it('applies between devices of one pilot, also inside one batch', async () => {
    const a = await device();
    const b = await device();
    await a.send({ ts: 10, values: { mode: 'eco' } });
    await drained();
    await b.send({ ts: 11, values: { mode: 3 } });
    await b.send({ ts: 12, values: { mode: 'boost' } });
    // A new key whose first value in the batch decides its type.
    await b.send([
      { ts: 13, values: { level: 1 } },
      { ts: 14, values: { level: 'high' } },
    ]);
    await drained();
    expect((await pointsFor(reg.pilotId, b.id)).map((p) => [p.time, p.mode ?? p.level])).toEqual([
      [12, 'boost'],
      [13, 1],
    ]);
    expect((await errorsOf(b.id)).map((e) => e.reason)).toEqual([
      'reading at ts 14: key "level" is a number in this pilot, got a string',
      'key "mode" is a string in this pilot, got a number',
    ]);
    expect(await errorsOf(a.id)).toEqual([]);
  });

  it('never lets one pilot block another: a string in pilot A, numbers in pilot B', async () => {
    const pilotB = await newPilot();
    const a = await device();
    const b = await device(pilotB);
    await a.send({ ts: 100, values: { temperature: 'hot' } });
    await drained();
    await b.send({ ts: 100, values: { temperature: 21.5 } });
    await b.send({ ts: 200, values: { temperature: 22 } });
    await drained();
    expect((await pointsFor(pilotB, b.id)).map((p) => p.temperature)).toEqual([21.5, 22]);
    expect((await pointsFor(reg.pilotId, a.id)).map((p) => p.temperature)).toEqual(['hot']);
    expect(await fieldTypes(influx, reg.pilotId)).toEqual({ temperature: 'string' });
    expect(await fieldTypes(influx, pilotB)).toEqual({ temperature: 'float' });
    expect(await errorsOf(b.id)).toEqual([]);
  });
});

describe('refused writes', () => {
  it('isolates a point InfluxDB refuses, stores the rest of the batch and records the refused one', async () => {
    const d = await device();
    // Data the registry does not know about (e.g. written before, or by another tool) makes
    // InfluxDB refuse a number for `legacy`, although the registry accepts it.
    const res = await fetch(`${influx.url}/write?db=${influx.database}&precision=ms`, {
      method: 'POST',
      body: `${reg.pilotId},device=old legacy="text" 1`,
    });
    expect(res.status).toBe(204);
    await d.send([
      { ts: 1000, values: { good: 1 } },
      { ts: 2000, values: { good: 2, legacy: 5 } },
      { ts: 3000, values: { good: 3 } },
    ]);
    await drained();
    expect((await pointsFor(reg.pilotId, d.id)).map((p) => [p.time, p.good])).toEqual([
      [1000, 1],
      [3000, 3],
    ]);
    const [error] = await errorsOf(d.id);
    expect(error?.reason).toMatch(/InfluxDB refused the reading at ts 2000: .*field type conflict/);
    expect((await ingest.status()).influxHealthy).toBe(true);
  });
});

describe('exactly once', () => {
  it('stores a message delivered three times once', async () => {
    const d = await device();
    const svc = await serviceClient();
    // A redelivery reaches ingest on the same topic (same broker receive stamp) with the same payload.
    const topic = httpIngestTopic(d.id, 1_732_240_000_123);
    for (let i = 0; i < 3; i++) await counted(publish1(svc, topic, JSON.stringify({ temperature: 20.5 })));
    // And a device re-sending its own {ts, values} batch three times.
    for (let i = 0; i < 3; i++)
      await d.send([
        { ts: 5, values: { x: 1 } },
        { ts: 6, values: { x: 2 } },
      ]);
    await drained();
    const points = await pointsFor(reg.pilotId, d.id);
    expect(points.map((p) => p.time)).toEqual([5, 6, 1_732_240_000_123]);
    expect(points.find((p) => p.time === 1_732_240_000_123)?.temperature).toBe(20.5);
  });

  it('records a message for an unknown device as a device error', async () => {
    const svc = await serviceClient();
    await counted(publish1(svc, httpIngestTopic('dev_unknown', 1), '{"a":1}'));
    await drained();
    expect((await errorsOf('dev_unknown')).map((e) => e.reason)).toEqual([
      'unknown device: it is not in the registry',
    ]);
  });
});

describe('live fan-out', () => {
  it('publishes the stored readings someone watches on $platform/stored/{pilotId}/{deviceId}', async () => {
    const watched = await device();
    const unwatched = await device();
    const svc = await serviceClient();
    await svc.subscribeAsync(STORED_TOPIC_FILTER, { qos: 0 });
    const got: { topic: string; body: unknown }[] = [];
    svc.on('message', (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) }));

    // Nobody watches yet: stored, but not fanned out.
    await unwatched.send([{ ts: 1, values: { a: 1 } }]);
    await drained();
    // An API process's streams watch one device (a retained live interest, as api/telemetry/live.ts sends).
    await svc.publishAsync(liveInterestTopic('test'), JSON.stringify({ pilots: [], devices: [watched.id] }), {
      qos: 1,
      retain: true,
    });
    await waitUntil(async () => {
      await watched.send([{ ts: 100 + got.length, values: { probe: 1 } }]);
      return got.length > 0;
    });
    await unwatched.send([{ ts: 2, values: { a: 2 } }]);
    await watched.send([
      { ts: 1, values: { a: 1 } },
      { ts: 2, values: { a: 'wrong type' } },
    ]);
    // A fan-out message carries a device's readings of one write batch: leave the probes out of it.
    const notProbes = () =>
      got
        .map((g) => ({
          topic: g.topic,
          body: (g.body as { values: object }[]).filter((r) => !('probe' in r.values)),
        }))
        .filter((g) => g.body.length > 0);
    await waitUntil(() => notProbes().length > 0);
    await drained();
    expect(notProbes()).toEqual([
      { topic: `$platform/stored/${reg.pilotId}/${watched.id}`, body: [{ ts: 1, values: { a: 1 } }] },
    ]);
    await svc.publishAsync(liveInterestTopic('test'), '', { qos: 1, retain: true });
  });
});
