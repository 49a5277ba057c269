/** Revocation: rotating a device's secret or deleting the device drops its live connection within 1 s. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import { DeviceSessions, startRevocationPoller } from '../broker/revocation.js';
import { silentLogger } from '../core/log.js';
import { generateSecret, hashSecret } from '../core/secrets.js';
import {
  closed,
  connect,
  createTestRegistry,
  deviceOptions,
  startTestBroker,
  type TestRegistry,
} from './helpers/broker.js';

let reg: TestRegistry;
let broker: RunningBroker & { metrics: import('prom-client').Registry };

beforeAll(async () => {
  reg = await createTestRegistry();
  broker = await startTestBroker(reg);
});
afterAll(async () => {
  await broker?.close();
  reg?.close();
});

/** Milliseconds from `change()` until the client's connection closes (rejects after 3 s). */
async function dropDelay(client: import('mqtt').MqttClient, change: () => void): Promise<number> {
  const gone = closed(client);
  const start = performance.now();
  change();
  await Promise.race([
    gone,
    new Promise((_, reject) => setTimeout(() => reject(new Error('not dropped within 3 s')), 3000)),
  ]);
  return performance.now() - start;
}

describe('revocation', () => {
  it('a rotation drops the live connection within 1 s; the new secret works, other devices stay', async () => {
    const device = await reg.addDevice();
    const bystander = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    const other = await connect(broker.address.url, deviceOptions(bystander));
    const fresh = generateSecret();
    const ms = await dropDelay(client, () => reg.registry.rotateDeviceSecret(device.id, hashSecret(fresh)));
    console.log(`rotation -> connection dropped after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1000);
    expect(other.connected).toBe(true);
    const renewed = await connect(broker.address.url, deviceOptions({ id: device.id, secret: fresh }));
    expect(renewed.connected).toBe(true);
    await renewed.endAsync();
    await other.endAsync();
  });

  it('a deletion drops the live connection within 1 s', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    const ms = await dropDelay(client, () => reg.registry.deleteDevice(device.id));
    console.log(`deletion -> connection dropped after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1000);
  });

  it('keeps a connection that already uses the new secret (reconnected before the poll saw the change)', async () => {
    const device = await reg.addDevice();
    const old = await connect(broker.address.url, deviceOptions(device, { clientId: `${device.id}-old` }));
    const fresh = generateSecret();
    await reg.registry.rotateDeviceSecret(device.id, hashSecret(fresh));
    const renewed = await connect(
      broker.address.url,
      deviceOptions({ id: device.id, secret: fresh }, { clientId: `${device.id}-new` }),
    );
    await closed(old);
    await new Promise((r) => setTimeout(r, 600));
    expect(renewed.connected).toBe(true);
    await renewed.endAsync();
  });

  it('credentials preloaded at a restart follow changes made while the broker was down', async () => {
    const own = await createTestRegistry();
    const device = await own.addDevice();
    const first = await startTestBroker(own);
    await (await connect(first.address.url, deviceOptions(device))).endAsync();
    await first.close(); // flushes presence: the device was seen
    expect((await own.registry.recentDeviceCredentials(10)).map((c) => c.deviceId)).toEqual([device.id]);
    const fresh = generateSecret();
    await own.registry.rotateDeviceSecret(device.id, hashSecret(fresh));
    const restarted = await startTestBroker(own);
    try {
      await expect(connect(restarted.address.url, deviceOptions(device))).rejects.toThrow(
        /Bad username or password/,
      );
      await (
        await connect(restarted.address.url, deviceOptions({ id: device.id, secret: fresh }))
      ).endAsync();
    } finally {
      await restarted.close();
    }
  });

  it('a change made while the preload reads is replayed by the first poll and evicts what it loaded', async () => {
    const device = await reg.addDevice();
    await reg.registry.recordPresence([{ deviceId: device.id, online: false, lastSeenAt: Date.now() }]);
    const evicted: string[] = [];
    const poller = await startRevocationPoller({
      registry: reg.registry,
      sessions: new DeviceSessions(),
      invalidate: (ids) => evicted.push(...ids),
      // The preload reads the old credential, then the secret changes before it is cached.
      preload: async () => {
        const loaded = await reg.registry.recentDeviceCredentials(10);
        expect(loaded.map((c) => c.deviceId)).toContain(device.id);
        await reg.registry.rotateDeviceSecret(device.id, hashSecret(generateSecret()));
      },
      onRevoked: () => {},
      logger: silentLogger(),
      intervalMs: 60_000,
    });
    try {
      await poller.pollNow();
      expect(evicted).toContain(device.id);
    } finally {
      poller.stop();
    }
  });
});
