/** Broker authentication: device and service credentials, CONNACK codes, anonymous access, storms. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import { generateSecret } from '../core/secrets.js';
import {
  connackCode,
  connect,
  createTestRegistry,
  deviceOptions,
  rawConnackCode,
  SERVICE_SECRET,
  serviceOptions,
  startTestBroker,
  subackCodes,
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

describe('device authentication', () => {
  it('accepts a device with its id and secret', async () => {
    const device = await reg.addDevice();
    const client = await connect(broker.address.url, deviceOptions(device));
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it('refuses a wrong secret with CONNACK 4', async () => {
    const device = await reg.addDevice();
    expect(
      await connackCode(broker.address.url, deviceOptions({ id: device.id, secret: generateSecret() })),
    ).toBe(4);
  });

  it('refuses an unknown device id with CONNACK 4', async () => {
    const unknown = { id: 'dev_aaaaaaaaaaaaaaaaaaaa', secret: generateSecret() };
    expect(await connackCode(broker.address.url, deviceOptions(unknown))).toBe(4);
  });

  it('refuses a deleted device, also after it was cached by a successful connect', async () => {
    const device = await reg.addDevice();
    expect(await connackCode(broker.address.url, deviceOptions(device))).toBe(0);
    await reg.registry.deleteDevice(device.id);
    // The revocation poller evicts the cached credential within its 250 ms period.
    await new Promise((r) => setTimeout(r, 600));
    expect([4, 5]).toContain(await connackCode(broker.address.url, deviceOptions(device)));
  });

  it('refuses the old secret after a rotation and accepts the new one', async () => {
    const device = await reg.addDevice();
    expect(await connackCode(broker.address.url, deviceOptions(device))).toBe(0);
    const fresh = generateSecret();
    const { hashSecret } = await import('../core/secrets.js');
    await reg.registry.rotateDeviceSecret(device.id, hashSecret(fresh));
    await new Promise((r) => setTimeout(r, 600));
    expect(await connackCode(broker.address.url, deviceOptions(device))).toBe(4);
    expect(await connackCode(broker.address.url, deviceOptions({ id: device.id, secret: fresh }))).toBe(0);
  });

  it('refuses a CONNECT without credentials with CONNACK 5 (anonymous access is off)', async () => {
    expect(await connackCode(broker.address.url, { clientId: 'anon-x' })).toBe(5);
    expect(await connackCode(broker.address.url, { clientId: 'x', username: 'someone' })).toBe(5);
  });

  it('refuses an empty client id with clean session off with CONNACK 2 (MQTT-3.1.3-8)', async () => {
    const device = await reg.addDevice();
    const creds = { username: device.id, password: device.secret };
    expect(await rawConnackCode(broker.address.url, { clientId: '', clean: false, ...creds })).toBe(2);
    // With clean session on, an empty id is fine: the broker assigns one.
    expect(await rawConnackCode(broker.address.url, { clientId: '', clean: true, ...creds })).toBe(0);
  });

  it('accepts any client id from an authenticated device (sessions: broker-client-ids.test.ts)', async () => {
    const a = await reg.addDevice();
    const b = await reg.addDevice();
    const ids = [
      a.id,
      b.id,
      'fridge-1',
      'mqttjs_1a2b3c4d',
      'svc:ingest',
      'anon-1',
      `${a.id}-tb`,
      'ü/+#x'.repeat(40),
    ];
    for (const clientId of ids) {
      expect(await connackCode(broker.address.url, deviceOptions(a, { clientId })), clientId).toBe(0);
    }
  });

  it('interleaves 500 connects with wrong and right secrets; each gets the right CONNACK', async () => {
    const devices = await Promise.all(Array.from({ length: 25 }, () => reg.addDevice()));
    const attempts = Array.from({ length: 500 }, (_, i) => {
      const device = devices[i % devices.length]!;
      const right = i % 3 !== 0;
      return {
        expected: right ? 0 : 4,
        // Distinct client ids so the right ones do not take each other's sessions over.
        opts: deviceOptions(right ? device : { id: device.id, secret: generateSecret() }, {
          clientId: `${device.id}-${i}`,
        }),
      };
    });
    const before = await broker.metrics.getSingleMetric('broker_auth_failures_total')!.get();
    const failuresBefore = before.values.find((v) => v.labels.reason === 'bad_credentials')?.value ?? 0;
    const codes = await Promise.all(attempts.map((a) => connackCode(broker.address.url, a.opts)));
    expect(codes).toEqual(attempts.map((a) => a.expected));
    const after = await broker.metrics.getSingleMetric('broker_auth_failures_total')!.get();
    const failuresAfter = after.values.find((v) => v.labels.reason === 'bad_credentials')?.value ?? 0;
    expect(failuresAfter - failuresBefore).toBe(attempts.filter((a) => a.expected === 4).length);
  });
});

describe('service logins', () => {
  it('accepts svc:ingest and svc:api with the service secret and refuses a wrong one', async () => {
    expect(await connackCode(broker.address.url, serviceOptions('ingest', { clientId: 'ingest-1' }))).toBe(0);
    expect(await connackCode(broker.address.url, serviceOptions('api', { clientId: 'api-1' }))).toBe(0);
    expect(
      await connackCode(broker.address.url, {
        clientId: 'ingest-2',
        username: 'svc:ingest',
        password: `${SERVICE_SECRET}x`,
      }),
    ).toBe(4);
  });
});

describe('anonymous access', () => {
  it('is possible only when enabled, in its own client id namespace and off device topics', async () => {
    const open = await startTestBroker(reg, { allowAnonymous: true });
    try {
      const device = await reg.addDevice();
      expect(await connackCode(open.address.url, { clientId: 'anon-1' })).toBe(0);
      expect(await connackCode(open.address.url, { clientId: device.id })).toBe(2);
      const client = await connect(open.address.url, { clientId: 'anon-2' });
      const granted = await subackCodes(client, {
        'lab/#': { qos: 0 },
        [`devices/${device.id}/#`]: { qos: 0 },
        '$platform/telemetry/+/+': { qos: 1 },
      });
      expect(granted).toEqual([0, 128, 128]);
      await client.endAsync();
    } finally {
      await open.close();
    }
  });
});
