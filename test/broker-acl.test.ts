/** Topic ACL and the telemetry data path: devices, ThingsBoard topic, services, refused publishes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import { STORED_TOPIC_FILTER } from '../core/topics.js';
import {
  connect,
  createTestRegistry,
  deviceOptions,
  journalRows,
  serviceOptions,
  startTestBroker,
  subackCodes,
  type TestRegistry,
  waitFor,
} from './helpers/broker.js';

let reg: TestRegistry;
let broker: RunningBroker & { metrics: import('prom-client').Registry };
/** The same `$platform/telemetry/...` filter ingest subscribed to before it read the spool instead. */
const TELEMETRY_FILTER = '$platform/telemetry/+/+';

async function dropped(reason: string): Promise<number> {
  const m = await broker.metrics.getSingleMetric('broker_messages_dropped_total')!.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg, { persistence: 'level' });
});
afterAll(async () => {
  await broker?.close();
  reg?.close();
});

/** What the broker committed to the telemetry spool for this device (what ingest will drain). */
const fromDevice = (deviceId: string) => journalRows(reg.dir).filter((m) => m.deviceId === deviceId);

describe('device telemetry', () => {
  it('is in the spool before the PUBACK, payload untouched, stamped with the receive time', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    const payload = Buffer.from(
      '{"ts": 1732240000000, "values": {"temperature": 21.5}} \u00e9\u0000',
      'utf8',
    );
    const before = Date.now();
    await client.publishAsync(`devices/${device.id}/telemetry`, payload, { qos: 1 });
    const after = Date.now();
    // Committed before the PUBACK: no waiting.
    const [first] = fromDevice(device.id);
    expect(first!.payload.equals(payload)).toBe(true);
    expect(first!.receivedAt).toBeGreaterThanOrEqual(before);
    expect(first!.receivedAt).toBeLessThanOrEqual(after);
    // QoS 0 is spooled too (there is no PUBACK to wait for).
    await client.publishAsync(`devices/${device.id}/telemetry`, 'qos0', { qos: 0 });
    const got = await waitFor(() => (fromDevice(device.id).length === 2 ? fromDevice(device.id) : undefined));
    expect(got[1]!.payload.toString()).toBe('qos0');
    // Reading it does not change it: the stamp is stored with the row.
    expect(fromDevice(device.id)[0]!.receivedAt).toBe(first!.receivedAt);
    await client.endAsync();
  });

  it('treats ThingsBoard v1/devices/me/telemetry as the device’s own telemetry topic', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    // The device sees its message on its canonical topic, as if it had published there.
    const own: string[] = [];
    client.on('message', (topic) => own.push(topic));
    await client.subscribeAsync(`devices/${device.id}/#`, { qos: 1 });
    await client.publishAsync('v1/devices/me/telemetry', '{"temperature": 20}', { qos: 1 });
    expect(fromDevice(device.id).map((m) => m.payload.toString())).toEqual(['{"temperature": 20}']);
    await waitFor(() => own.length === 1);
    expect(own).toEqual([`devices/${device.id}/telemetry`]);
    await client.endAsync();
  });

  it('commits every message of concurrent devices before acknowledging it', async () => {
    const devices = await Promise.all(Array.from({ length: 10 }, () => reg.addDevice()));
    const clients = await Promise.all(devices.map((d) => connect(broker.address.url, deviceOptions(d))));
    await Promise.all(
      clients.map((c, i) =>
        Promise.all(
          Array.from({ length: 50 }, (_, n) =>
            c.publishAsync(`devices/${devices[i]!.id}/telemetry`, JSON.stringify({ n }), { qos: 1 }),
          ),
        ),
      ),
    );
    // Every PUBACK has arrived, so every message is committed (many per group commit).
    for (const d of devices) {
      const ns = fromDevice(d.id).map((m) => (JSON.parse(m.payload.toString()) as { n: number }).n);
      expect(new Set(ns).size).toBe(50);
    }
    await Promise.all(clients.map((c) => c.endAsync()));
  });
});

describe('refused publishes', () => {
  it('are acknowledged, dropped, counted and recorded as device errors; the connection stays up', async () => {
    const device = await reg.addDevice();
    const other = await reg.addDevice();
    const otherClient = await connect(broker.address.url, deviceOptions(other));
    const otherGot: string[] = [];
    otherClient.on('message', (topic) => otherGot.push(topic));
    await otherClient.subscribeAsync(`devices/${other.id}/#`, { qos: 1 });

    const client = await connect(broker.address.url, deviceOptions(device));
    const forbiddenBefore = await dropped('forbidden_topic');
    const targets = [
      `devices/${other.id}/telemetry`,
      `$platform/telemetry/${device.id}/1`,
      '$SYS/broker/fake',
      'somewhere/else',
    ];
    for (const topic of targets) await client.publishAsync(topic, `bad to ${topic}`, { qos: 1 });
    expect(client.connected).toBe(true);

    // Still usable afterwards.
    await client.publishAsync(`devices/${device.id}/telemetry`, '{"ok": true}', { qos: 1 });
    expect(fromDevice(device.id).map((m) => m.payload.toString())).toEqual(['{"ok": true}']);
    expect(fromDevice(other.id)).toEqual([]);
    expect(otherGot).toEqual([]);
    expect((await dropped('forbidden_topic')) - forbiddenBefore).toBe(targets.length);

    const errors = await waitFor(async () => {
      const page = await reg.registry.listDeviceErrors(device.id, { limit: 10 });
      return page.items.length === targets.length ? page.items : undefined;
    }, 3000);
    expect(errors.map((e) => e.payloadPrefix).sort()).toEqual(targets.map((t) => `bad to ${t}`).sort());
    expect(errors.every((e) => e.reason.includes('refused'))).toBe(true);
    await client.endAsync();
    await otherClient.endAsync();
  });
});

describe('subscriptions', () => {
  it('a device subscribes only under its own devices/{id}/ (others get SUBACK 0x80)', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    const codes = await subackCodes(client, {
      [`devices/${device.id}/#`]: { qos: 1 },
      [`devices/${device.id}/commands`]: { qos: 0 },
      'devices/+/telemetry': { qos: 1 },
      '#': { qos: 0 },
      '$SYS/#': { qos: 0 },
      [TELEMETRY_FILTER]: { qos: 1 },
      'v1/devices/me/attributes': { qos: 1 },
    });
    expect(codes).toEqual([1, 0, 128, 128, 128, 128, 128]);
    await client.endAsync();
  });

  it('a refused filter in a persistent session does not queue other clients’ messages', async () => {
    const spy = await reg.addDevice();
    const victim = await reg.addDevice();
    const opts = deviceOptions(spy, { clean: false });
    let client = await connect(broker.address.url, opts);
    expect(
      await subackCodes(client, { [`devices/${spy.id}/x`]: { qos: 1 }, [TELEMETRY_FILTER]: { qos: 1 } }),
    ).toEqual([1, 128]);
    await client.endAsync();
    const v = await connect(broker.address.url, deviceOptions(victim));
    await v.publishAsync(`devices/${victim.id}/telemetry`, 'secret reading', { qos: 1 });
    await v.endAsync();
    // biome-ignore lint/suspicious/noExplicitAny: reading aedes' persistence, which its types omit
    const persistence = (broker.aedes as any).persistence;
    const subs: { clientId: string }[] = await persistence.subscriptionsByTopic(
      `$platform/telemetry/${victim.id}/1`,
    );
    expect(subs.map((s) => s.clientId)).not.toContain(spy.id);

    const got: string[] = [];
    client = await connect(broker.address.url, { ...opts });
    client.on('message', (topic) => got.push(topic));
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]);
    await client.endAsync();
  });

  it('$SYS is closed to services too', async () => {
    const api = await connect(broker.address.url, serviceOptions('api', { clientId: 'api-sys' }));
    expect(await subackCodes(api, { '$SYS/#': { qos: 0 }, '#': { qos: 0 } })).toEqual([128, 128]);
    await api.endAsync();
  });
});

describe('services', () => {
  it('svc:api publishes HTTP telemetry to $platform/telemetry/...: spooled once, with its stamp', async () => {
    const device = await reg.addDevice();
    const api = await connect(broker.address.url, serviceOptions('api', { clientId: 'api-http' }));
    const topic = `$platform/telemetry/${device.id}/1732240000123`;
    await api.publishAsync(topic, '{"via": "http"}', { qos: 1 });
    await api.publishAsync(`$platform/telemetry/${device.id}/not-a-time`, '{"bad": 1}', { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(fromDevice(device.id).map((m) => [m.receivedAt, m.payload.toString()])).toEqual([
      [1732240000123, '{"via": "http"}'],
    ]);
    await api.endAsync();
  });

  it('ingest publishes $platform/stored/...; svc:api subscribes to it; devices cannot', async () => {
    const ingest = await connect(broker.address.url, serviceOptions('ingest', { clientId: 'ingest-acl' }));
    // Ingest reads telemetry from the spool: it may not subscribe to anything.
    expect(await subackCodes(ingest, { [TELEMETRY_FILTER]: { qos: 1 } })).toEqual([128]);
    const api = await connect(broker.address.url, serviceOptions('api', { clientId: 'api-sse' }));
    const seen: string[] = [];
    api.on('message', (topic) => seen.push(topic));
    expect(
      await subackCodes(api, { [STORED_TOPIC_FILTER]: { qos: 0 }, [TELEMETRY_FILTER]: { qos: 1 } }),
    ).toEqual([0, 128]);
    expect(await subackCodes(ingest, { [STORED_TOPIC_FILTER]: { qos: 0 } })).toEqual([128]);
    await ingest.publishAsync(`$platform/stored/${reg.pilotId}/dev_x`, '[]', { qos: 0 });
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([`$platform/stored/${reg.pilotId}/dev_x`]);
    await api.endAsync();
    await ingest.endAsync();
  });
});
