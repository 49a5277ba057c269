/** The ingest worker on a real broker, journal and InfluxDB: refused writes, exactly once, the live fan-out. */
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
import { pointsOf, publish1, startTestIngest } from './helpers/ingest.js';
import { waitFor } from './helpers/poll.js';

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

async function _newPilot() {
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
  const done = await waitFor(async () => {
    const s = await ingest.status();
    return s.messagesReceived === sent && s.messagesDone === sent;
  }, 10_000);
  expect(done, `ingest handled ${(await ingest.status()).messagesDone} of ${sent} messages`).toBe(true);
}

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
    await waitFor(async () => {
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
    await waitFor(() => notProbes().length > 0);
    await drained();
    expect(notProbes()).toEqual([
      { topic: `$platform/stored/${reg.pilotId}/${watched.id}`, body: [{ ts: 1, values: { a: 1 } }] },
    ]);
    await svc.publishAsync(liveInterestTopic('test'), '', { qos: 1, retain: true });
  });
});
