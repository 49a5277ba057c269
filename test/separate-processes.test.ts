/**
 * Each component alone, as its own process (`npm run broker`, `npm run ingest`, `npm run api`),
 * sharing DATA_DIR: a device provisioned through the API publishes over MQTT; its reading is stored
 * by the ingest process and arrives on the API's live stream, which crosses processes via the broker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../core/influx/managed.js';
import { uniqueDatabase } from './helpers/influxd.js';
import { waitFor } from './helpers/poll.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'separate-test-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
  );
  rmSync(dataDir, { recursive: true, force: true });
});

function run(entry: string, env: Record<string, string>, ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', `main/${entry}.ts`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} not ready:\n${out}`)), 30_000);
    const onData = (b: Buffer) => {
      out += b;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${entry} exited ${code}:\n${out}`)));
  });
}

describe('components as separate processes', () => {
  it('broker, ingest and API each run alone on one DATA_DIR and work together', async () => {
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const adminKey = `adm_${randomBytes(24).toString('base64url')}`;
    const env = {
      DATA_DIR: dataDir,
      MQTT_PORT: String(mqttPort),
      HTTP_PORT: String(httpPort),
      INFLUX_URL: inject('influxUrl'),
      INFLUX_DATABASE: uniqueDatabase('separate'),
      ADMIN_API_KEY: adminKey,
      LOG_LEVEL: 'warn',
    };
    // Each process serves its own /metrics (any free port here); npm run api serves its own on HTTP_PORT.
    const withMetrics = { ...env, BROKER_METRICS_PORT: '0', INGEST_METRICS_PORT: '0' };
    const brokerOut = await run('broker', withMetrics, /Metrics: http:\S+\n/);
    const [ingestOut] = await Promise.all([
      run('ingest', withMetrics, /Metrics: http:\S+\n[\s\S]*ingest running/),
      run('api', env, /API listening/),
    ]);
    const metricsUrl = (out: string) => /Metrics: (http:\S+)/.exec(out)?.[1] as string;
    const api = `http://127.0.0.1:${httpPort}`;
    const post = async (url: string, key: string, body: unknown) => {
      const res = await fetch(`${api}${url}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(201);
      // biome-ignore lint/suspicious/noExplicitAny: response bodies of several shapes, checked by the assertions below
      return (await res.json()) as Record<string, any>;
    };
    const partner = await post('/v1/partners', adminKey, { name: 'Pune Labs', country: 'IN', kind: 'both' });
    const pilot = await post('/v1/pilots', partner.apiKey, { name: 'separate' });
    const device = await post(`/v1/pilots/${pilot.id}/devices`, partner.apiKey, { name: 'd1' });

    // Live stream first, so the reading's arrival on it proves the cross-process hand-off.
    const live = await openStream(`${api}/v1/devices/${device.id}/telemetry/stream`, partner.apiKey);

    const client = await mqtt.connectAsync(device.credentials.mqttUrl, {
      username: device.credentials.username,
      password: device.credentials.password,
      clientId: device.id,
      reconnectPeriod: 0,
    });
    const ts = Date.now() - 1000;
    await client.publishAsync(device.credentials.topic, JSON.stringify({ ts, values: { humidity: 41.5 } }), {
      qos: 1,
    });
    await client.endAsync();

    await waitFor(() => live.text().includes('"humidity"'), 15_000, 'the live event');
    await live.close();
    expect(live.text()).toContain('41.5');

    const stored = await waitFor(async () => {
      const res = await fetch(`${api}/v1/devices/${device.id}/telemetry?from=${ts - 1}`, {
        headers: { authorization: `Bearer ${partner.apiKey}` },
      });
      const body = (await res.json()) as { items: unknown[] };
      return body.items.length > 0 ? body.items : undefined;
    });
    expect(stored).toEqual([{ ts: new Date(ts).toISOString(), values: { humidity: 41.5 } }]);

    // The API's /metrics also shows what the broker and ingest processes measure.
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`${api}/metrics`)).text();
        return /broker_telemetry_accepted_total\{[^}]*component="broker"[^}]*\} [1-9]/.test(text) &&
          /ingest_points_stored_total\{[^}]*component="ingest"[^}]*\} [1-9]/.test(text)
          ? text
          : undefined;
      },
      15_000,
      'broker and ingest metrics at the API',
    );
    expect(metrics).toMatch(/process_resident_memory_bytes\{component="api"\}/);
    expect(metrics).toMatch(/api_http_request_duration_seconds_count\{[^}]*route="\/v1\/pilots"[^}]*\} 1/);

    // Scraped one by one, each process answers for itself (Prometheus' up, job, instance).
    const brokerMetrics = await (await fetch(metricsUrl(brokerOut))).text();
    expect(brokerMetrics).toMatch(/broker_telemetry_accepted_total\{component="broker"\} [1-9]/);
    expect(brokerMetrics).not.toContain('ingest_points_stored_total');
    const ingestMetrics = await waitFor(async () => {
      const text = await (await fetch(metricsUrl(ingestOut))).text();
      return /ingest_points_stored_total\{component="ingest"\} [1-9]/.test(text) ? text : undefined;
    });
    expect(ingestMetrics).toMatch(/ingest_batch_points_count\{component="ingest"\} [1-9]/);
    expect(ingestMetrics).toMatch(/ingest_write_duration_seconds_count\{[^}]*outcome="stored"[^}]*\} [1-9]/);
    expect(ingestMetrics).toMatch(/ingest_journal_oldest_age_seconds\{component="ingest"\} 0\n/);
    expect(ingestMetrics).not.toContain('broker_telemetry_accepted_total');

    // A command and a desired state from the API process reach the device on the broker process.
    const control = await mqtt.connectAsync(device.credentials.mqttUrl, {
      username: device.credentials.username,
      password: device.credentials.password,
      reconnectPeriod: 0,
    });
    const received: { topic: string; body: Record<string, string> }[] = [];
    control.on('message', (topic, payload) => received.push({ topic, body: JSON.parse(payload.toString()) }));
    await control.subscribeAsync([`devices/${device.id}/commands`, `devices/${device.id}/twin/desired`], {
      qos: 1,
    });
    const sent = await fetch(`${api}/v1/devices/${device.id}/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${partner.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'reboot' }),
    });
    const { commandId } = (await sent.json()) as { commandId: string };
    const command = await waitFor(
      () => received.find((m) => m.topic.endsWith('/commands')),
      10_000,
      'the command',
    );
    await control.publishAsync(command.body.responseTopic!, JSON.stringify({ status: 'ok' }), { qos: 1 });
    await waitFor(async () => {
      const res = await fetch(`${api}/v1/devices/${device.id}/commands/${commandId}`, {
        headers: { authorization: `Bearer ${partner.apiKey}` },
      });
      return ((await res.json()) as { status: string }).status === 'succeeded';
    });
    await fetch(`${api}/v1/devices/${device.id}/twin`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${partner.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ desired: { intervalMs: 500 } }),
    });
    await waitFor(
      () => received.some((m) => m.topic.endsWith('/twin/desired') && m.body.version),
      10_000,
      'desired',
    );
    await control.endAsync();
  });
});

/** A live stream, read into a string until closed. */
async function openStream(url: string, key: string) {
  const abort = new AbortController();
  const stream = await fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
  expect(stream.status).toBe(200);
  const reader = stream.body!.getReader();
  let text = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
  })().catch(() => {});
  return {
    text: () => text,
    async close() {
      abort.abort();
      await reading;
    },
  };
}
