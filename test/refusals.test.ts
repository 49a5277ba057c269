/**
 * Every reason the platform does not simply store a device's message, and what the device sees
 * (issue 11; README "Devices: rules worth knowing"):
 * - permanent refusals (a foreign or reserved topic, a payload over the size limit, a topic too deep,
 *   a payload that cannot be parsed, a reading that breaks the rules) are acknowledged at once,
 *   recorded as device errors, and store nothing;
 * - transient conditions (over the rate, InfluxDB unavailable, spool full, registry unavailable)
 *   never drop: the PUBACK waits (or the CONNECT is refused) and the message is stored afterwards.
 * Real broker, real ingest, real influxd (and one pointing at an InfluxDB that is not there).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import { connectInflux, type InfluxConnection } from '../core/influx/client.js';
import { freePort } from '../core/influx/managed.js';
import type { IngestHandle } from '../ingest/index.js';
import {
  connackCode,
  connect,
  createTestRegistry,
  deviceOptions,
  journalRows,
  startTestBroker,
  type TestRegistry,
  waitFor,
} from './helpers/broker.js';
import { sharedInflux, uniqueDatabase } from './helpers/influxd.js';
import { influxQuery, startTestIngest, waitUntil } from './helpers/ingest.js';

let reg: TestRegistry;
let broker: RunningBroker & { metrics: import('prom-client').Registry };
let influx: InfluxConnection;
let ingest: IngestHandle;
const TS = 1_732_240_000_000;

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg, {
    deviceMaxMessagesPerSecond: 10,
    maxPayloadBytes: 1024,
    maxTopicLevels: 4,
  });
  influx = await sharedInflux();
  ingest = await startTestIngest(reg, broker.address.url, influx);
});
afterAll(async () => {
  await ingest?.close();
  await broker?.close();
  reg?.close();
});

const errorsOf = async (r: TestRegistry, id: string) =>
  (await r.registry.listDeviceErrors(id, { limit: 100 })).items;
const reading = (n: number, values: Record<string, unknown> = { n }) =>
  JSON.stringify({ ts: TS + n, values });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function storedNs(conn: InfluxConnection, pilotId: string, deviceId: string): Promise<number[]> {
  const series = await influxQuery(conn, `SELECT "n" FROM "${pilotId}" WHERE "device" = '${deviceId}'`);
  return (series[0]?.values ?? []).map((row) => Number(row[1])).sort((a, b) => a - b);
}

/** Publishes QoS 1 and resolves with the ms until its PUBACK. */
async function timedPublish(client: import('mqtt').MqttClient, topic: string, payload: string | Buffer) {
  const t = Date.now();
  await client.publishAsync(topic, payload, { qos: 1 });
  return Date.now() - t;
}

describe('permanent refusals: acknowledged at once, recorded as device errors, nothing stored', () => {
  it.each([
    [
      "another device's topic",
      (_: string, other: string) => `devices/${other}/telemetry`,
      reading(1),
      /refused: a device publishes only under/,
    ],
    [
      'a reserved $platform topic',
      (id: string) => `$platform/telemetry/${id}/1`,
      reading(2),
      /refused: a device publishes only under/,
    ],
    ['a reserved $SYS topic', () => '$SYS/broker/x', reading(3), /refused: a device publishes only under/],
    [
      'a payload over MQTT_MAX_PAYLOAD_BYTES',
      (id: string) => `devices/${id}/telemetry`,
      'x'.repeat(1025),
      /1025 bytes exceeds the limit of 1024/,
    ],
    [
      'a topic deeper than MQTT_MAX_TOPIC_LEVELS',
      (id: string) => `devices/${id}/a/b/c`,
      reading(4),
      /more than 4 levels/,
    ],
    [
      'a payload that cannot be parsed',
      (id: string) => `devices/${id}/telemetry`,
      '{"n": 1',
      /not valid JSON/,
    ],
    [
      'a reading with a key of another type',
      (id: string) => `devices/${id}/telemetry`,
      reading(5, { n: 'five' }),
      /key "n" is a number in this pilot, got a string/,
    ],
  ] as const)('%s', async (_what, topicOf, payload, reason) => {
    await reg.registry.claimKeyTypes(reg.pilotId, new Map([['n', 'number' as const]]));
    const device = await reg.addDevice();
    const other = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    expect(await timedPublish(client, topicOf(device.id, other.id), payload)).toBeLessThan(1000);
    const errors = await waitFor(async () =>
      (await errorsOf(reg, device.id)).length > 0 ? await errorsOf(reg, device.id) : undefined,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]!.reason).toMatch(reason);
    // A valid reading right after it is stored, and nothing of the refused one.
    await client.publishAsync(`devices/${device.id}/telemetry`, reading(10), { qos: 1 });
    await waitUntil(async () => (await storedNs(influx, reg.pilotId, device.id)).length > 0);
    expect(await storedNs(influx, reg.pilotId, device.id)).toEqual([10]);
    expect(await storedNs(influx, reg.pilotId, other.id)).toEqual([]);
    expect(client.connected).toBe(true);
    await client.endAsync();
  });
});

describe('transient conditions: held, never dropped', () => {
  it('over the rate, QoS 1 and QoS 0 messages wait their turn and are all stored', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    const droppedBefore = await broker.metrics.getSingleMetric('broker_messages_dropped_total')!.get();
    // 10 per second after a burst of 10: 15 QoS 1 take about half a second more.
    const times = await Promise.all(
      Array.from({ length: 15 }, (_, n) =>
        timedPublish(client, `devices/${device.id}/telemetry`, reading(n)),
      ),
    );
    expect(Math.max(...times)).toBeGreaterThanOrEqual(400);
    // QoS 0 has no PUBACK to hold: the connection is not read meanwhile, so the QoS 1 after them waits.
    for (let n = 15; n < 25; n++) client.publish(`devices/${device.id}/telemetry`, reading(n), { qos: 0 });
    expect(await timedPublish(client, `devices/${device.id}/telemetry`, reading(25))).toBeGreaterThanOrEqual(
      800,
    );
    const all = Array.from({ length: 26 }, (_, n) => n);
    await waitUntil(async () => (await storedNs(influx, reg.pilotId, device.id)).length === all.length);
    expect(await storedNs(influx, reg.pilotId, device.id)).toEqual(all);
    expect((await errorsOf(reg, device.id)).map((e) => e.reason)).toEqual([
      expect.stringMatching(/^slowed down/),
    ]);
    expect(await broker.metrics.getSingleMetric('broker_messages_dropped_total')!.get()).toEqual(
      droppedBefore,
    );
    await client.endAsync();
  });

  it('InfluxDB unavailable, then the spool full: PUBACK after the commit, then held; all stored later', async () => {
    const reg2 = await createTestRegistry();
    const broker2 = await startTestBroker(reg2, {}, { spoolMaxMessages: 3 });
    // An InfluxDB that is not there: ingest retries, the spool keeps the messages.
    const nowhere = connectInflux(`http://127.0.0.1:${await freePort()}`, uniqueDatabase());
    let ingest2 = await startTestIngest(reg2, broker2.address.url, nowhere);
    try {
      const device = await reg2.addDevice();
      const client = await connect(broker2.address.url, deviceOptions(device));
      for (let n = 0; n < 4; n++)
        await client.publishAsync(`devices/${device.id}/telemetry`, reading(n), { qos: 1 });
      expect(journalRows(reg2.dir)).toHaveLength(4); // acknowledged = committed, waiting for InfluxDB
      // Past the bound: the next PUBACK is held, the message is not dropped.
      let acked = false;
      const held = client.publishAsync(`devices/${device.id}/telemetry`, reading(4), { qos: 1 }).then(() => {
        acked = true;
      });
      await sleep(700);
      expect(acked).toBe(false);
      expect(await errorsOf(reg2, device.id)).toEqual([]);
      // InfluxDB is back (ingest restarted against a live one): the spool drains, the held one goes on.
      await ingest2.close();
      const live = await sharedInflux();
      ingest2 = await startTestIngest(reg2, broker2.address.url, live);
      await held;
      await waitUntil(async () => (await storedNs(live, reg2.pilotId, device.id)).length === 5, 20_000);
      expect(await storedNs(live, reg2.pilotId, device.id)).toEqual([0, 1, 2, 3, 4]);
      expect(await errorsOf(reg2, device.id)).toEqual([]);
      await client.endAsync();
    } finally {
      await ingest2.close();
      await broker2.close();
      await reg2.close();
    }
  });

  it('registry unavailable at CONNECT: CONNACK 3 (server unavailable), nothing accepted to drop', async () => {
    const reg3 = await createTestRegistry();
    const broker3 = await startTestBroker(reg3);
    const device = await reg3.addDevice();
    await reg3.registry.close();
    try {
      expect(await connackCode(broker3.address.url, deviceOptions(device))).toBe(3);
    } finally {
      await broker3.close();
      await reg3.close();
    }
  });
});
