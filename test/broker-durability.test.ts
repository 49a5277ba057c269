/**
 * Nothing acknowledged is lost: a device's QoS 1 PUBACK for telemetry comes only after the message is
 * committed to the telemetry journal (see broker/publish.ts), so it survives a broker restart, also a
 * SIGKILL right after the last PUBACK, with the broker's receive stamps unchanged. A persistent
 * session's queued QoS 1 messages (aedes-persistence-level) and retained messages survive a restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  connect,
  createTestRegistry,
  deviceOptions,
  journalRows,
  SERVICE_SECRET,
  startTestBroker,
  subackCodes,
  type TestRegistry,
} from './helpers/broker.js';
import { waitFor } from './helpers/poll.js';

/** The `n` of every journal entry of this device, with its receive stamp. */
const inJournal = (reg: TestRegistry, deviceId: string) =>
  journalRows(reg.dir)
    .filter((r) => r.deviceId === deviceId)
    .map((r) => ({ receivedAt: r.receivedAt, n: (JSON.parse(r.payload.toString()) as { n: number }).n }));

describe('durability across broker restarts', () => {
  it('keeps a persistent session’s queued QoS 1 messages, retained messages and telemetry in the journal', async () => {
    const reg = await createTestRegistry();
    const device = await reg.addDevice();
    let broker = await startTestBroker(reg, { persistence: 'level' });

    // The device's persistent session subscribes to a topic of its own, then goes offline.
    const commands = `devices/${device.id}/inbox`; // a topic of its own (commands/ is the platform's)
    const subscriber = await connect(broker.address.url, deviceOptions(device, { clean: false }));
    expect(await subackCodes(subscriber, { [commands]: { qos: 1 } })).toEqual([1]);
    await subscriber.endAsync();

    // A second connection of the same device publishes there (queued) and telemetry (journal).
    const N = 100;
    const sender = await connect(broker.address.url, deviceOptions(device, { clientId: `${device.id}-b` }));
    const sentFrom = Date.now();
    for (let n = 0; n < N; n++) {
      await sender.publishAsync(commands, JSON.stringify({ n }), { qos: 1 }); // resolves on PUBACK
      await sender.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ n }), { qos: 1 });
    }
    const sentUntil = Date.now();
    await sender.publishAsync(`devices/${device.id}/status`, 'online', { qos: 1, retain: true });
    await sender.endAsync();

    await broker.close();
    await new Promise((r) => setTimeout(r, 20)); // a re-stamp after the restart would be later than sentUntil
    broker = await startTestBroker(reg, { persistence: 'level' });

    const telemetry = inJournal(reg, device.id);
    expect(telemetry.map((t) => t.n)).toEqual(Array.from({ length: N }, (_, n) => n));
    for (const t of telemetry) {
      expect(t.receivedAt).toBeGreaterThanOrEqual(sentFrom);
      expect(t.receivedAt).toBeLessThanOrEqual(sentUntil);
    }

    // Handlers attached before CONNECT: the queued messages may arrive right behind the CONNACK.
    const received: number[] = [];
    let retained: string | undefined;
    const again = mqtt.connect(broker.address.url, {
      ...deviceOptions(device, { clean: false }),
      reconnectPeriod: 0,
    });
    onTestFinished(() => again.endAsync(true));
    again.on('message', (topic, payload) => {
      if (topic === commands) received.push((JSON.parse(payload.toString()) as { n: number }).n);
      else if (topic.endsWith('/status')) retained = payload.toString();
    });
    await waitFor(() => new Set(received).size >= N, 15_000).catch(() => undefined);
    expect(new Set(received)).toEqual(new Set(Array.from({ length: N }, (_, n) => n)));

    // Its subscription came back from LevelDB too: a new message reaches it without a SUBSCRIBE.
    const late = await connect(broker.address.url, deviceOptions(device, { clientId: `${device.id}-c` }));
    await late.publishAsync(commands, JSON.stringify({ n: N }), { qos: 1 });
    await late.endAsync();
    expect(await waitFor(() => received.includes(N), 5000)).toBe(true);

    await again.subscribeAsync(`devices/${device.id}/status`, { qos: 1 });
    expect(await waitFor(() => retained, 5000)).toBe('online');
  });

  it('loses no acknowledged message when the broker process is SIGKILLed right after the last PUBACK', async () => {
    const reg = await createTestRegistry();
    const device = await reg.addDevice();

    const child = await spawnBroker(reg);
    onTestFinished(() => void child.process.kill('SIGKILL'));

    const N = 300;
    const client = await connect(child.url, deviceOptions(device));
    client.on('error', () => {});
    const sentFrom = Date.now();
    // All in flight at once: the broker's group commits overlap with new arrivals, as under load.
    await Promise.all(
      Array.from({ length: N }, (_, n) =>
        client.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ n }), { qos: 1 }),
      ),
    );
    const sentUntil = Date.now();
    child.process.kill('SIGKILL');
    await child.exited;
    client.end(true);

    // The journal file as the killed broker left it: every acknowledged message, once.
    const telemetry = inJournal(reg, device.id);
    expect(telemetry.map((t) => t.n).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, n) => n));
    for (const t of telemetry) {
      expect(t.receivedAt).toBeGreaterThanOrEqual(sentFrom);
      expect(t.receivedAt).toBeLessThanOrEqual(sentUntil);
    }
  });
});

/** `npm run broker` as a child process on DATA_DIR = the registry's dir, on a free port. */
async function spawnBroker(
  reg: TestRegistry,
): Promise<{ process: ChildProcess; url: string; exited: Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join('main', 'broker.ts')], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      ...process.env,
      DATA_DIR: reg.dir,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: '0',
      SERVICE_SECRET,
      LOG_LEVEL: 'warn',
      // The default (200/s) would rightly drop part of this test's burst of 300.
      DEVICE_MAX_MESSAGES_PER_SECOND: '100000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (mqtt:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`broker did not start: ${stderr}`)), 20_000).unref();
  });
  return { process: proc, url, exited };
}
