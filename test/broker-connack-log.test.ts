/**
 * Issue 16: every refused CONNECT is logged with its CONNACK code and a reason a partner can act on,
 * as devices and SDKs really send them (mqtt.js, and raw CONNECT packets for what SDKs send but
 * mqtt.js will not); secrets, and user names that are not ids, never reach the log.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../broker/index.js';
import { generateSecret, newApiKey } from '../core/secrets.js';
import {
  connackCode,
  createTestRegistry,
  deviceOptions,
  rawConnackCode,
  serviceOptions,
  startTestBroker,
  type TestRegistry,
} from './helpers/broker.js';
import { waitFor } from './helpers/poll.js';

let reg: TestRegistry;
let broker: RunningBroker;
const lines: string[] = [];

beforeAll(async () => {
  reg = await createTestRegistry();
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  // No connect slowdown: each case below is one refused CONNECT from the same address.
  broker = await startTestBroker(reg, { authFailureMaxDelayMs: 0 }, {}, { logger });
});
afterAll(async () => {
  await broker?.close();
  await reg?.close();
});

type Refusal = { connack: number; cause: string; username?: string; clientId: string; msg: string };

/** The refusal logged for `clientId`, once it is there. */
async function refusalFor(clientId: string): Promise<Refusal> {
  const find = () =>
    lines
      .map((l) => JSON.parse(l) as Refusal)
      .find((l) => l.clientId === clientId && l.msg.startsWith('CONNECT refused'));
  return (await waitFor(find, 2000, `the refusal of ${clientId}`)) as Refusal;
}

describe('refused CONNECTs in the log', () => {
  it('a wrong secret: CONNACK 4, the device id, and what to do', async () => {
    const device = await reg.addDevice();
    const wrong = generateSecret();
    const opts = deviceOptions({ id: device.id, secret: wrong }, { clientId: 'wrong-secret' });
    expect(await connackCode(broker.address.url, opts)).toBe(4);
    const r = await refusalFor('wrong-secret');
    expect(r).toMatchObject({ connack: 4, cause: 'wrong_secret', username: device.id });
    expect(r.msg).toContain('CONNACK 4 (bad user name or password)');
    expect(r.msg).toMatch(/secret from its registration or its last rotation/);
    expect(lines.join('')).not.toContain(wrong);
  });

  it('an unknown or deleted device: CONNACK 4, "no such device"', async () => {
    const device = await reg.addDevice();
    await reg.registry.deleteDevice(device.id);
    const opts = deviceOptions(device, { clientId: 'deleted' });
    expect(await connackCode(broker.address.url, opts)).toBe(4);
    const r = await refusalFor('deleted');
    expect(r).toMatchObject({ connack: 4, cause: 'unknown_device', username: device.id });
    expect(r.msg).toMatch(/no such device/);
  });

  it('an API key in the user name field: refused, and the key is not logged', async () => {
    const key = newApiKey('partner');
    expect(
      await connackCode(broker.address.url, { clientId: 'key-as-user', username: key, password: 'x' }),
    ).toBe(4);
    const r = await refusalFor('key-as-user');
    expect(r).toMatchObject({ connack: 4, cause: 'not_a_device_id' });
    expect(r.username).toBeUndefined();
    expect(lines.join('')).not.toContain(key);
  });

  it('no credentials: CONNACK 5 and how a device logs in', async () => {
    expect(await connackCode(broker.address.url, { clientId: 'anonymous-try' })).toBe(5);
    const r = await refusalFor('anonymous-try');
    expect(r).toMatchObject({ connack: 5, cause: 'no_credentials' });
    expect(r.msg).toMatch(/user name = its device id/);
  });

  it('an empty client id with clean session off: CONNACK 2 and the fix', async () => {
    const device = await reg.addDevice();
    const code = await rawConnackCode(broker.address.url, {
      clientId: '',
      clean: false,
      username: device.id,
      password: device.secret,
    });
    expect(code).toBe(2);
    const r = await refusalFor('');
    expect(r).toMatchObject({ connack: 2, cause: 'empty_client_id_persistent' });
    expect(r.msg).toMatch(/give the client an id, or connect with clean session/);
  });

  it('a platform service with another SERVICE_SECRET: CONNACK 4 naming the variable', async () => {
    const opts = { ...serviceOptions('ingest', { clientId: 'svc-wrong' }), password: 'not-the-secret' };
    expect(await connackCode(broker.address.url, opts)).toBe(4);
    const r = await refusalFor('svc-wrong');
    expect(r).toMatchObject({ connack: 4, cause: 'wrong_service_secret', username: 'svc:ingest' });
    expect(r.msg).toContain('SERVICE_SECRET');
  });
});
