// biome-ignore-all lint/suspicious/noExplicitAny: test bodies are parsed JSON, checked field by field
/**
 * Commands with standard clients configured as their users configure them (issue 15):
 * `mosquitto_sub` / `mosquitto_pub` with their default empty client id and clean session, and Python
 * paho 1.6.1 with its default id, each taking a pending command on subscribe and answering it.
 * Skipped with a message when the client is missing (platform.sh installs both for the tests).
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsApi } from './helpers/commands.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const hasMosquitto = !spawnSync('mosquitto_sub', ['--help']).error;
const hasPaho = spawnSync(PYTHON, ['-c', 'import paho.mqtt.client']).status === 0;
if (!hasMosquitto) console.warn('SKIPPED: mosquitto_sub not found (apt-get install -y mosquitto-clients)');
if (!hasPaho) console.warn(`SKIPPED: ${PYTHON} has no paho (apt-get install -y python3-paho-mqtt)`);

// Subscribes (default client id, clean session), answers the first command with status ok.
const PAHO = `
import sys, json, threading, paho.mqtt.client as mqtt
host, port, user, password, topic = sys.argv[1:6]
done = threading.Event()
def on_connect(c, u, f, rc):
    c.subscribe(topic, qos=1)
def on_message(c, u, msg):
    cmd = json.loads(msg.payload)
    c.publish(cmd["responseTopic"], json.dumps({"status": "ok", "result": {"by": "paho"}}), qos=1).wait_for_publish(5)
    done.set()
client = mqtt.Client()
client.username_pw_set(user, password)
client.on_connect = on_connect
client.on_message = on_message
client.connect(host, int(port))
client.loop_start()
ok = done.wait(10)
client.disconnect()
client.loop_stop()
sys.exit(0 if ok else 3)
`;

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.dispose();
});

describe('commands with standard clients', () => {
  it.skipIf(!hasMosquitto)(
    'mosquitto_sub takes a pending command on subscribe; mosquitto_pub answers',
    async () => {
      const { apiKey, devices } = await provision(platform, 1, 'Mosquitto cmd');
      const d = devices[0]!;
      const api = commandsApi(platform, apiKey, d.deviceId);
      const { commandId } = (await api.send({ name: 'reboot' })).body;
      const url = new URL(platform.mqttUrl);
      const auth = ['-h', url.hostname, '-p', url.port, '-u', d.deviceId, '-P', d.password];
      const sub = await run('mosquitto_sub', [
        ...auth,
        '-t',
        `devices/${d.deviceId}/commands`,
        '-q',
        '1',
        '-C',
        '1',
        '-W',
        '10',
      ]);
      const command = JSON.parse(sub.stdout) as any;
      expect(command).toMatchObject({ commandId, name: 'reboot' });
      await run('mosquitto_pub', [
        ...auth,
        '-t',
        command.responseTopic,
        '-q',
        '1',
        '-m',
        '{"status":"error","result":"no"}',
      ]);
      expect(await api.until(commandId, 'failed')).toMatchObject({ result: 'no' });
    },
  );

  it.skipIf(!hasPaho)('paho with its default client id takes a pending command and answers', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Paho cmd');
    const d = devices[0]!;
    const api = commandsApi(platform, apiKey, d.deviceId);
    const { commandId } = (await api.send({ name: 'setInterval', params: { ms: 100 } })).body;
    const url = new URL(platform.mqttUrl);
    await run(PYTHON, [
      '-c',
      PAHO,
      url.hostname,
      url.port,
      d.deviceId,
      d.password,
      `devices/${d.deviceId}/commands`,
    ]);
    expect(await api.until(commandId, 'succeeded')).toMatchObject({ result: { by: 'paho' } });
  });
});
