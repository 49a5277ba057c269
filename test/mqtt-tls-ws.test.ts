/**
 * Issue 16: MQTT over TLS (mqtts), WebSocket (ws) and WebSocket with TLS (wss) on the whole platform,
 * with the quick start's self-signed development CA. Credentials list every URL; mosquitto_pub with
 * --cafile and mqtt.js over ws and wss (trusting the CA) publish readings that are stored; a plain MQTT
 * client on the TLS port is closed without harm; a wrong secret over wss is refused and logged with
 * the peer's address; a restart reuses the certificate.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUICK_START_LISTENERS } from '../core/config-listeners.js';
import { createLogger } from '../core/log.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

const run = promisify(execFile);
const hasMosquitto = !spawnSync('mosquitto_pub', ['--help']).error;
if (!hasMosquitto) console.warn('SKIPPED: mosquitto_pub not found (apt-get install -y mosquitto-clients)');

type Urls = { mqtt: string; mqtts?: string; ws?: string; wss?: string; http: string };
interface Device {
  id: string;
  credentials: { username: string; password: string; topic: string; urls: Urls };
}

const logLines: string[] = [];
let platform: TestPlatform;
let key: string;
let pilotId: string;
const TS = 1_732_240_000_000;

beforeAll(async () => {
  const sink = { write: (line: string) => logLines.push(line) };
  platform = await startTestPlatform(
    { ...QUICK_START_LISTENERS, LOG_LEVEL: 'info' },
    {
      logger: createLogger('info', sink as never),
    },
  );
  const p = await provision(platform, 0, 'Tls');
  key = p.apiKey;
  pilotId = p.pilotId;
});
afterAll(async () => {
  await platform?.dispose();
});

async function newDevice(name: string): Promise<Device> {
  const res = await platform.api(`/v1/pilots/${pilotId}/devices`, { method: 'POST', key, json: { name } });
  expect(res.status).toBe(201);
  return (await res.json()) as Device;
}

async function expectStored(device: Device, n: number) {
  const items = await waitFor(
    async () => {
      const res = await platform.api(`/v1/devices/${device.id}/telemetry?from=${TS}`, { key });
      const body = (await res.json()) as { items: { ts: string }[] };
      return body.items.length > 0 ? body.items : undefined;
    },
    10_000,
    `reading of ${device.id}`,
  );
  expect(items).toEqual([{ ts: new Date(TS + n).toISOString(), values: { n } }]);
}

const payload = (n: number) => JSON.stringify({ ts: TS + n, values: { n } });
const ca = () => readFileSync(platform.caFile as string);

describe('MQTT over TLS and WebSocket', () => {
  it('credentials list every URL the platform serves, and the CA is private to the user', async () => {
    const d = await newDevice('urls');
    const { urls } = d.credentials;
    expect(urls.mqtt).toBe(platform.brokerUrls.mqtt);
    expect(urls.mqtts).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(urls.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    expect(urls.wss).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    expect(urls.http).toBe(`${platform.apiUrl}/v1/devices/${d.id}/telemetry`);
    expect(platform.caFile).toBe(path.join(platform.dataDir, 'tls', 'ca.pem'));
    expect(statSync(path.join(platform.dataDir, 'tls', 'server.key')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(platform.dataDir, 'tls', 'ca.key')).mode & 0o777).toBe(0o600);
  });

  it.skipIf(!hasMosquitto)('mosquitto_pub --cafile on the mqtts port', async () => {
    const d = await newDevice('mosquitto');
    const { hostname, port } = new URL(d.credentials.urls.mqtts as string);
    await run('mosquitto_pub', [
      ...['-h', hostname, '-p', port, '--cafile', platform.caFile as string],
      ...['-u', d.id, '-P', d.credentials.password, '-q', '1', '-t', d.credentials.topic, '-m', payload(1)],
    ]);
    await expectStored(d, 1);
  });

  it.skipIf(!hasMosquitto)('mosquitto_pub without the CA is refused by the TLS handshake', async () => {
    const d = await newDevice('untrusting');
    const { hostname, port } = new URL(d.credentials.urls.mqtts as string);
    const args = ['-h', hostname, '-p', port, '-u', d.id, '-P', d.credentials.password, '-t', 't', '-m', '1'];
    // The server certificate as the only trusted one: it is no CA, so the chain does not verify.
    const notTheCa = path.join(platform.dataDir, 'tls', 'server.pem');
    const err = await run('mosquitto_pub', [...args, '--cafile', notTheCa], { timeout: 10_000 }).catch(
      (e: { stderr: string }) => e,
    );
    expect((err as { stderr?: string }).stderr).toMatch(/certificate verify failed|TLS|SSL/i);
  });

  for (const scheme of ['wss', 'ws'] as const) {
    it(`mqtt.js over ${scheme}${scheme === 'wss' ? ' with the CA' : ''}`, async () => {
      const d = await newDevice(scheme);
      const n = scheme === 'wss' ? 2 : 3;
      const client = await mqtt.connectAsync(d.credentials.urls[scheme] as string, {
        username: d.id,
        password: d.credentials.password,
        reconnectPeriod: 0,
        ...(scheme === 'wss' ? { ca: ca() } : {}),
      });
      await client.publishAsync(d.credentials.topic, payload(n), { qos: 1 });
      await client.endAsync();
      await expectStored(d, n);
    });
  }

  it('a wrong secret over wss gets CONNACK 4, logged with the peer address', async () => {
    const d = await newDevice('wrong');
    await expect(
      mqtt.connectAsync(d.credentials.urls.wss as string, {
        username: d.id,
        password: 'not-the-secret',
        reconnectPeriod: 0,
        ca: ca(),
      }),
    ).rejects.toThrow(/Bad username or password/);
    const line = await waitFor(
      () => logLines.find((l) => l.includes('CONNECT refused') && l.includes(d.id)),
      5000,
      'the refusal log line',
    );
    expect(JSON.parse(line)).toMatchObject({ connack: 4, address: '127.0.0.1' });
  });

  it('a plain MQTT client on the TLS port is closed cleanly; the broker keeps serving', async () => {
    const { hostname, port } = new URL(platform.brokerUrls.mqtts as string);
    const socket = net.connect(Number(port), hostname);
    // A CONNECT packet (MQTT 3.1.1, client id "plain") where a TLS ClientHello is expected.
    const connect = Buffer.from('101100044d5154540402003c0005706c61696e', 'hex');
    socket.on('connect', () => socket.write(connect));
    const received: Buffer[] = [];
    socket.on('data', (b) => received.push(b));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // No CONNACK (0x20) came back: whatever came is a TLS alert, if anything.
    expect(Buffer.concat(received)[0]).not.toBe(0x20);
    const d = await newDevice('after');
    const client = await mqtt.connectAsync(d.credentials.urls.mqtts as string, {
      username: d.id,
      password: d.credentials.password,
      reconnectPeriod: 0,
      ca: ca(),
    });
    await client.publishAsync(d.credentials.topic, payload(4), { qos: 1 });
    await client.endAsync();
    await expectStored(d, 4);
  });
});
