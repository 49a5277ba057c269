/**
 * A PUBACK leaves the broker when aedes writes it, not with the device's next packet. With Nagle's
 * algorithm on the broker's socket, a device that subscribes and publishes in one write right after
 * CONNACK and then publishes more often than its kernel's delayed ACK (40 ms on Linux) got every
 * PUBACK one packet late, for the rest of the connection. docs/DESIGN.md, "PUBACKs leave when written".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import { expect, it, onTestFinished } from 'vitest';
import { listenMqtt } from '../broker/listener.js';
import { certificateHosts, loadTlsMaterial } from '../broker/tls-material.js';
import { silentLogger } from '../core/log.js';
import { type AckRun, publishAndTimeAcks } from './helpers/ack-timing.js';
import { createTestRegistry, startTestBroker } from './helpers/broker.js';

// Below any delayed-ACK timer, so a held PUBACK is released only by the device's next PUBLISH.
const INTERVAL_MS = 15;
const COUNT = 40;

/**
 * With Nagle on, only the first PUBACK (of the PUBLISH sent with the SUBSCRIBE) comes back before the
 * next PUBLISH; without it all of them do here. Half leaves room for a slow CI machine.
 */
function expectAcksBeforeNext(run: AckRun, over: string) {
  expect(run.published).toBe(COUNT);
  expect(
    run.ackedBeforeNext,
    `${over}: median PUBACK round trip ${run.medianMs.toFixed(1)} ms`,
  ).toBeGreaterThanOrEqual(COUNT / 2);
}

const reading = () => JSON.stringify({ ts: Date.now(), values: { temperature: 21.5 } });

it('our broker: a persistent session that subscribes and publishes on CONNACK gets each PUBACK before its next PUBLISH', async () => {
  const reg = await createTestRegistry();
  const broker = await startTestBroker(reg);
  const device = await reg.addDevice();
  const run = await publishAndTimeAcks({
    socket: () => net.connect(broker.address.port, '127.0.0.1'),
    clientId: device.id,
    username: device.id,
    password: device.secret,
    subscribe: [`devices/${device.id}/commands`, `devices/${device.id}/twin/desired`],
    topic: `devices/${device.id}/telemetry`,
    payload: reading,
    count: COUNT,
    intervalMs: INTERVAL_MS,
  });
  expectAcksBeforeNext(run, 'mqtt');
});

it('listenMqtt does the same for any aedes, over mqtt and mqtts', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nodelay-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const material = loadTlsMaterial({ mode: 'self-signed' }, dir, certificateHosts('127.0.0.1'));
  const aedes = await Aedes.createBroker({});
  const listener = await listenMqtt(aedes, { host: '127.0.0.1', port: 0 }, silentLogger(), {
    listeners: { tls: { mode: 'self-signed' }, tlsPort: 0, wsPort: undefined, wssPort: undefined },
    tls: material,
  });
  onTestFinished(() => listener.close());
  const ca = readFileSync(material.caFile as string);
  const sockets = {
    mqtt: () => net.connect(listener.port, '127.0.0.1'),
    mqtts: () => tls.connect({ host: '127.0.0.1', port: listener.ports.mqtts as number, ca }),
  };
  for (const [kind, socket] of Object.entries(sockets)) {
    const run = await publishAndTimeAcks({
      socket,
      clientId: `sensor-${kind}`,
      subscribe: [`plant/${kind}/commands`],
      topic: `plant/${kind}/telemetry`,
      payload: reading,
      count: COUNT,
      intervalMs: INTERVAL_MS,
    });
    expectAcksBeforeNext(run, kind);
  }
});
