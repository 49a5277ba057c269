/**
 * Child process: a load generator. Connects devices `from..to` of the devices file like devices do
 * (client id = device id, clean: false), waits for `go`, then publishes QoS 1 telemetry: `max` keeps
 * `window` publishes in flight per device until `messagesPerDevice`; `rate` sends `rate` messages a
 * second for `durationMs`, skipping (and counting) one that finds every device at its window.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { PublisherParams } from './load.js';
import { childParams, onParent, stopOnParent, tell } from './procs.js';
import { payload } from './readings.js';

interface Dev {
  id: string;
  client: MqttClient;
  topic: string;
  seq: number;
  sent: number;
  inFlight: number;
}

const p = childParams<PublisherParams>();
const all = JSON.parse(readFileSync(p.devicesFile, 'utf8')) as { id: string; password: string }[];
const mine = all.slice(p.from, p.to);

let sent = 0;
let acked = 0;
let failed = 0;
let skipped = 0;
let firstAt = 0;
let lastAckAt = 0;
let finished = false;

/** Device `index` of the file connects to broker node `index mod n` when several are given (cluster). */
const urlOf = (index: number) => (p.mqttUrls?.length ? p.mqttUrls[index % p.mqttUrls.length]! : p.mqttUrl);

async function connectAll(): Promise<Dev[]> {
  const devs: Dev[] = [];
  const queue = mine.map((d, i) => ({ ...d, url: urlOf(p.from + i) }));
  const worker = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) {
      const client = await mqtt.connectAsync(d.url, {
        clientId: d.id,
        username: d.id,
        password: d.password,
        clean: false,
        reconnectPeriod: 0,
        keepalive: 60,
      });
      devs.push({ id: d.id, client, topic: `devices/${d.id}/telemetry`, seq: 0, sent: 0, inFlight: 0 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(50, queue.length) }, worker));
  return devs;
}

const devs = await connectAll();
const total = p.mode === 'max' ? devs.length * (p.messagesPerDevice ?? 0) : Number.POSITIVE_INFINITY;

function maybeDone(): void {
  if (finished && acked + failed === sent) {
    finished = false; // report once
    tell({
      type: 'done',
      sent,
      acked,
      failed,
      skipped,
      firstAt,
      lastAckAt,
      readingsAcked: acked * p.batchSize,
    });
  }
}

function publish(dev: Dev, onAck: () => void): void {
  const body = payload(p.t0, dev.seq, p.batchSize);
  dev.seq += p.batchSize;
  dev.sent++;
  dev.inFlight++;
  sent++;
  dev.client.publish(dev.topic, body, { qos: 1 }, (err) => {
    dev.inFlight--;
    if (err) failed++;
    else {
      acked++;
      lastAckAt = Date.now();
    }
    onAck();
    maybeDone();
  });
}

function runMax(): void {
  const perDevice = p.messagesPerDevice ?? 0;
  const pump = (dev: Dev) => {
    while (dev.inFlight < p.window && dev.sent < perDevice) publish(dev, () => pump(dev));
  };
  finished = true; // every message is issued from the start; done when all are answered
  for (const dev of devs) pump(dev);
  if (total === 0) maybeDone();
}

function runRate(): void {
  const rate = p.rate ?? 0;
  const started = performance.now();
  let issued = 0;
  let next = 0;
  const timer = setInterval(() => {
    const elapsed = performance.now() - started;
    if (elapsed >= (p.durationMs ?? 0)) {
      clearInterval(timer);
      finished = true;
      maybeDone();
      return;
    }
    const due = Math.floor((rate * elapsed) / 1000) - issued;
    for (let i = 0; i < due; i++) {
      issued++;
      let placed = false;
      for (let tries = 0; tries < devs.length && !placed; tries++) {
        const dev = devs[next]!;
        next = (next + 1) % devs.length;
        if (dev.inFlight < p.window) {
          publish(dev, () => {});
          placed = true;
        }
      }
      if (!placed) skipped++;
    }
  }, 5);
}

const progress = setInterval(() => tell({ type: 'progress', sent, acked, failed, skipped }), 1000);
stopOnParent(async () => {
  clearInterval(progress);
  await Promise.all(devs.map((d) => d.client.endAsync(true)));
});
onParent('go', () => {
  firstAt = Date.now();
  if (p.mode === 'max') runMax();
  else runRate();
});
tell({ type: 'connected', devices: devs.length });
