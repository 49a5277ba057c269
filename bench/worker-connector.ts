/**
 * Child process: opens and holds MQTT connections for devices `from..to` of the devices file, with
 * their real credentials, `concurrency` CONNECTs in flight. Reports when all are answered; holds
 * them until told to stop.
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
const clients: MqttClient[] = [];

onParent('go', async () => {
  const startAt = Date.now();
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const queue = [...mine];
  const worker = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) {
      try {
        clients.push(
          await mqtt.connectAsync(p.mqttUrl, {
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
  await Promise.all(Array.from({ length: p.concurrency }, worker));
  tell({ type: 'connected', ok, failed, firstError, startAt, endAt: Date.now() });
});
stopOnParent(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
});
tell({ type: 'ready' });
