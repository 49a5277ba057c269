/**
 * Standard MQTT clients, configured the way their users configure them, against the whole platform:
 * `mosquitto_pub` with its default (empty) client id and with `-i fridge-1`, Python paho 1.6.1 (Debian's
 * python3-paho-mqtt) with its default id and with its own, and mqtt.js with its default `mqttjs_...`
 * id. Each connects, publishes a reading, and the reading is read back through the API (issue 11).
 * The binaries come from Debian's mosquitto-clients and python3-paho-mqtt (platform.sh installs them
 * for `./platform.sh test`); a test whose client is missing is skipped with a message saying so.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ProvisionedDevice,
  provision,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const hasMosquitto = !spawnSync('mosquitto_pub', ['--help']).error;
const hasPaho = spawnSync(PYTHON, ['-c', 'import paho.mqtt.client']).status === 0;
if (!hasMosquitto) console.warn('SKIPPED: mosquitto_pub not found (apt-get install -y mosquitto-clients)');
if (!hasPaho) console.warn(`SKIPPED: ${PYTHON} has no paho (apt-get install -y python3-paho-mqtt)`);

const PAHO = `
import sys, paho.mqtt.client as mqtt
host, port, user, password, topic, payload, client_id = sys.argv[1:8]
client = mqtt.Client(client_id=client_id) if client_id else mqtt.Client()
client.username_pw_set(user, password)
client.connect(host, int(port))
client.loop_start()
info = client.publish(topic, payload, qos=1)
info.wait_for_publish(timeout=10)
client.disconnect()
client.loop_stop()
sys.exit(0 if info.is_published() else 3)
`;

let platform: TestPlatform;
let key: string;
let devices: ProvisionedDevice[];
const TS = 1_732_240_000_000;

beforeAll(async () => {
  platform = await startTestPlatform();
  const p = await provision(platform, 5, 'Clients');
  key = p.apiKey;
  devices = p.devices;
});
afterAll(async () => {
  await platform?.dispose();
});

const payload = (n: number) => JSON.stringify({ ts: TS + n, values: { temperature: 4 + n / 10 } });

/** Waits until the device's reading at TS + n is readable through the API. */
async function expectStored(device: ProvisionedDevice, n: number) {
  const items = await waitFor(
    async () => {
      const res = await platform.api(`/v1/devices/${device.deviceId}/telemetry?from=${TS}`, { key });
      const body = (await res.json()) as { items: { ts: string; values: Record<string, unknown> }[] };
      return body.items.length > 0 ? body.items : undefined;
    },
    10_000,
    `reading of ${device.deviceId}`,
  );
  expect(items).toEqual([{ ts: new Date(TS + n).toISOString(), values: { temperature: 4 + n / 10 } }]);
}

function mosquittoPub(device: ProvisionedDevice, n: number, extra: string[] = []) {
  const { hostname, port } = new URL(platform.mqttUrl);
  return run('mosquitto_pub', [
    ...['-h', hostname, '-p', port, '-u', device.deviceId, '-P', device.password],
    ...['-q', '1', '-t', device.topic, '-m', payload(n), ...extra],
  ]);
}

function paho(device: ProvisionedDevice, n: number, clientId = '') {
  const { hostname, port } = new URL(platform.mqttUrl);
  return run(PYTHON, [
    '-c',
    PAHO,
    ...[hostname, port, device.deviceId, device.password, device.topic, payload(n), clientId],
  ]);
}

describe('standard clients with their own client ids', () => {
  it.skipIf(!hasMosquitto)('mosquitto_pub with its default client id', async () => {
    await mosquittoPub(devices[0]!, 0);
    await expectStored(devices[0]!, 0);
  });

  it.skipIf(!hasMosquitto)('mosquitto_pub -i fridge-1', async () => {
    await mosquittoPub(devices[1]!, 1, ['-i', 'fridge-1']);
    await expectStored(devices[1]!, 1);
  });

  it.skipIf(!hasPaho)('Python paho with its default client id', async () => {
    await paho(devices[2]!, 2);
    await expectStored(devices[2]!, 2);
  });

  it.skipIf(!hasPaho)('Python paho with a client id of its own', async () => {
    await paho(devices[3]!, 3, 'paho-sensor-7');
    await expectStored(devices[3]!, 3);
  });

  it('mqtt.js with its default client id', async () => {
    const d = devices[4]!;
    const client = await mqtt.connectAsync(d.mqttUrl, { username: d.deviceId, password: d.password });
    expect(client.options.clientId).toMatch(/^mqttjs_/);
    await client.publishAsync(d.topic, payload(4), { qos: 1 });
    await client.endAsync();
    await expectStored(d, 4);
  });
});
