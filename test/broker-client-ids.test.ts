/**
 * Any client id, sessions owned by the device (issue 11; broker/client-ids.ts): two devices using the
 * same client id with persistent sessions each get only their own queued messages and never disconnect
 * each other; the same device with the same id takes its session over [MQTT-3.1.4-2]; no device can
 * take over a service's or an anonymous client's session. On the durable default persistence (LevelDB).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import {
  closed,
  connect,
  createTestRegistry,
  deviceOptions,
  serviceOptions,
  startTestBroker,
  type TestRegistry,
} from './helpers/broker.js';

let reg: TestRegistry;
let broker: RunningBroker;
const open: MqttClient[] = [];

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg, { persistence: 'level', allowAnonymous: true });
});
afterAll(async () => {
  for (const c of open) c.end(true);
  await broker?.close();
  reg?.close();
});

/** Connects with a 'message' listener in place before CONNACK (queued messages follow it at once). */
function session(
  opts: IClientOptions,
): Promise<{ client: MqttClient; got: string[]; sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(broker.address.url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    open.push(client);
    const got: string[] = [];
    client.on('message', (topic, payload) => got.push(`${topic} ${payload}`));
    client.once('connect', (connack) => resolve({ client, got, sessionPresent: connack.sessionPresent }));
    client.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('client ids', () => {
  it('two devices with the same client id and clean session off: each gets only its own queued message', async () => {
    const a = await reg.addDevice();
    const b = await reg.addDevice();
    const shared = { clientId: 'sensor-1', clean: false };
    const a1 = await session(deviceOptions(a, shared));
    const b1 = await session(deviceOptions(b, shared));
    await a1.client.subscribeAsync(`devices/${a.id}/inbox`, { qos: 1 });
    await b1.client.subscribeAsync(`devices/${b.id}/inbox`, { qos: 1 });
    await sleep(200);
    // Neither connection disconnected the other.
    expect(a1.client.connected && b1.client.connected).toBe(true);
    await a1.client.endAsync();
    await b1.client.endAsync();

    // While both are offline, each device's tool (again one client id for both) queues a message.
    for (const [device, text] of [
      [a, 'for A'],
      [b, 'for B'],
    ] as const) {
      const tool = await connect(broker.address.url, deviceOptions(device, { clientId: 'tool' }));
      await tool.publishAsync(`devices/${device.id}/inbox`, text, { qos: 1 });
      await tool.endAsync();
    }

    const a2 = await session(deviceOptions(a, shared));
    const b2 = await session(deviceOptions(b, shared));
    expect(a2.sessionPresent && b2.sessionPresent).toBe(true);
    await sleep(500);
    expect(a2.got).toEqual([`devices/${a.id}/inbox for A`]);
    expect(b2.got).toEqual([`devices/${b.id}/inbox for B`]);
    expect(a2.client.connected && b2.client.connected).toBe(true);
    await a2.client.endAsync();
    await b2.client.endAsync();
  });

  it("a device using another device's id as its client id touches neither that device nor its session", async () => {
    const a = await reg.addDevice();
    const b = await reg.addDevice();
    const bOwn = await session(deviceOptions(b, { clean: false })); // client id = b's device id
    await bOwn.client.subscribeAsync(`devices/${b.id}/inbox`, { qos: 1 });
    const aAsB = await session(deviceOptions(a, { clientId: b.id, clean: false }));
    expect(aAsB.sessionPresent).toBe(false); // a session of its own, not b's
    await sleep(200);
    expect(bOwn.client.connected && aAsB.client.connected).toBe(true);
    await aAsB.client.endAsync();
    await bOwn.client.endAsync();
  });

  it('the same device with the same client id takes its own session over [MQTT-3.1.4-2]', async () => {
    const a = await reg.addDevice();
    const first = await session(deviceOptions(a, { clientId: 'fridge-1', clean: false }));
    await first.client.subscribeAsync(`devices/${a.id}/inbox`, { qos: 1 });
    const gone = closed(first.client);
    const second = await session(deviceOptions(a, { clientId: 'fridge-1', clean: false }));
    await gone;
    expect(second.sessionPresent).toBe(true);
    expect(second.client.connected).toBe(true);
    await second.client.endAsync();
  });

  it("no device can take over a service's or an anonymous client's session", async () => {
    const a = await reg.addDevice();
    const services = [
      await connect(broker.address.url, serviceOptions('ingest', { clientId: 'svc:ingest' })),
      await connect(broker.address.url, serviceOptions('api', { clientId: 'svc-api-1a2b3c' })),
      await connect(broker.address.url, { clientId: 'anon-lab' }),
    ];
    const ids = ['svc:ingest', 'svc-api-1a2b3c', 'anon-lab'];
    const devices = await Promise.all(
      ids.map((clientId) => connect(broker.address.url, deviceOptions(a, { clientId }))),
    );
    await sleep(200);
    for (const c of [...services, ...devices]) expect(c.connected).toBe(true);
    for (const c of [...services, ...devices]) await c.endAsync();
  });
});
