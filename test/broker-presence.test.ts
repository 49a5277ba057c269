/** Presence: online/offline and lastSeenAt in the registry, written in batches. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '../broker/index.js';
import type { RegistryStore } from '../core/registry/types.js';
import {
  brokerConfig,
  connect,
  createTestRegistry,
  deviceOptions,
  SERVICE_SECRET,
  type TestRegistry,
  waitFor,
} from './helpers/broker.js';

let reg: TestRegistry;
let broker: RunningBroker;
const presenceWrites: number[] = [];

beforeAll(async () => {
  reg = await createTestRegistry();
  // The real store, with its presence writes counted.
  const counted: RegistryStore = {
    ...reg.registry,
    async recordPresence(updates) {
      presenceWrites.push(updates.length);
      await reg.registry.recordPresence(updates);
    },
  };
  broker = await startBroker(
    {
      common: { dataDir: reg.dir, logLevel: 'silent', serviceSecret: SERVICE_SECRET },
      mqtt: { host: '127.0.0.1', port: 0, publicUrl: undefined },
      broker: brokerConfig(),
      journal: { maxMessages: 1_000_000 },
    },
    { registry: counted, serviceSecret: SERVICE_SECRET, flushMs: 200 },
  );
});
afterAll(async () => {
  await broker?.close();
  reg?.close();
});

const statusOf = async (deviceId: string) =>
  (await reg.registry.listDevices(reg.pilotId, { limit: 1000 })).items.find((d) => d.id === deviceId)!.status;

describe('presence', () => {
  it('marks a device online on connect and offline on disconnect', async () => {
    const device = await reg.addDevice();
    expect(await statusOf(device.id)).toEqual({ online: false, lastSeenAt: null });
    const before = Date.now();
    const client = await connect(broker.address.url, deviceOptions(device));
    const online = await waitFor(async () =>
      (await statusOf(device.id)).online ? await statusOf(device.id) : undefined,
    );
    expect(online.lastSeenAt).toBeGreaterThanOrEqual(before);
    await client.endAsync();
    await waitFor(async () => !(await statusOf(device.id)).online);
  });

  it('stays online while a second connection of the device is up', async () => {
    const device = await reg.addDevice();
    const a = await connect(broker.address.url, deviceOptions(device, { clientId: `${device.id}-a` }));
    const b = await connect(broker.address.url, deviceOptions(device, { clientId: `${device.id}-b` }));
    await waitFor(async () => (await statusOf(device.id)).online);
    await a.endAsync();
    await new Promise((r) => setTimeout(r, 500));
    expect((await statusOf(device.id)).online).toBe(true);
    await b.endAsync();
    await waitFor(async () => !(await statusOf(device.id)).online);
  });

  it('moves lastSeenAt with publishes, in a few batched writes rather than one per message', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    await waitFor(async () => (await statusOf(device.id)).online);
    const seenAtConnect = (await statusOf(device.id)).lastSeenAt!;
    const writesBefore = presenceWrites.length;
    await new Promise((r) => setTimeout(r, 20));
    for (let n = 0; n < 300; n++) {
      await client.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ n }), {
        qos: n % 2 === 0 ? 0 : 1,
      });
    }
    await waitFor(async () => (await statusOf(device.id)).lastSeenAt! > seenAtConnect);
    await new Promise((r) => setTimeout(r, 300));
    const writes = presenceWrites.length - writesBefore;
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(30);
    await client.endAsync();
  });
});
