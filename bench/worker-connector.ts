/**
 * Child process: opens and holds MQTT connections for devices `from..to` of the devices file, with
 * their real credentials, `concurrency` CONNECTs in flight. Reports when all are answered; holds
 * them until told to stop. `storm`: drops every connection (the broker went away) and connects all
 * of them again to `mqttUrl` at once, as devices do after a broker restart.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { childParams, onParent, stopOnParent, tell } from './procs.js';

interface Params {
  mqttUrl: string;
  devicesFile: string;
  from: number;
  to: number;
  concurrency: number;
}

const p = childParams<Params>();
const mine = (JSON.parse(readFileSync(p.devicesFile, 'utf8')) as { id: string; password: string }[]).slice(
  p.from,
  p.to,
);
let clients: MqttClient[] = [];

async function connectAll(mqttUrl: string, concurrency: number, type: string) {
  const startAt = Date.now();
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const queue = [...mine];
  const worker = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) {
      try {
        clients.push(
          await mqtt.connectAsync(mqttUrl, {
            clientId: d.id,
            username: d.id,
            password: d.password,
            clean: false,
            reconnectPeriod: 0,
            // Long keepalive: the held connections should cost the broker memory, not ping traffic.
            keepalive: 600,
            connectTimeout: 60_000,
          }),
        );
        ok++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, mine.length) }, worker));
  tell({ type, ok, failed, firstError, startAt, endAt: Date.now() });
}

onParent('go', () => connectAll(p.mqttUrl, p.concurrency, 'connected'));
onParent('drop', async () => {
  const old = clients;
  clients = [];
  await Promise.all(old.map((c) => c.endAsync(true)));
  tell({ type: 'dropped' });
});
onParent('storm', (msg) => connectAll(msg.mqttUrl as string, mine.length, 'stormed'));
stopOnParent(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
});
tell({ type: 'ready' });
