/**
 * Live streams over real HTTP: the API (listening on a free port) subscribes through a real aedes
 * broker as `svc:api`; the test publishes stored batches to `$platform/stored/{pilot}/{device}` as
 * ingest does (another MQTT client, `svc:ingest`) and reads the server-sent events with fetch.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveHub } from '../api/live/hub.js';
import { createMqttLiveFeed, type MqttLiveFeed } from '../api/live/mqtt-feed.js';
import { connectServiceMqtt } from '../api/live/service-mqtt.js';
import { storedTopic } from '../core/topics.js';
import { type PlainBroker, startPlainBroker } from './helpers/plain-broker.js';
import { waitFor } from './helpers/poll.js';
import { startTelemetryFixture, type TelemetryFixture } from './helpers/telemetry.js';

const SECRET = randomBytes(16).toString('hex');
let broker: PlainBroker;
let apiMqtt: MqttClient;
let feed: MqttLiveFeed;
let ingest: MqttClient;
let f: TelemetryFixture;
let base: string;

beforeAll(async () => {
  broker = await startPlainBroker(SECRET);
  apiMqtt = connectServiceMqtt({ url: broker.url, serviceSecret: SECRET });
  feed = createMqttLiveFeed(apiMqtt);
  await feed.ready;
  f = await startTelemetryFixture({ feed, routes: { heartbeatMs: 100 } });
  base = await f.api.app.listen({ port: 0, host: '127.0.0.1' });
  ingest = await mqtt.connectAsync(broker.url, {
    username: 'svc:ingest',
    password: SECRET,
    clientId: 'ingest-test',
  });
});
afterAll(async () => {
  await ingest?.endAsync();
  await f?.close();
  await feed?.close();
  await apiMqtt?.endAsync();
  await broker?.close();
});

/** Opens a stream and collects its text until `until` sees what it wants (or 5 s pass). */
async function openStream(path: string, key = f.key) {
  const abort = new AbortController();
  const res = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${key}` },
    signal: abort.signal,
  });
  let text = '';
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  const pump = (async () => {
    try {
      for (;;) {
        const r = await reader!.read();
        if (r.done) return;
        text += decoder.decode(r.value, { stream: true });
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    text: () => text,
    waitFor: (pred: (t: string) => boolean, ms = 5000) =>
      waitFor(() => pred(text), ms, 'the stream to deliver'),
    async close() {
      abort.abort();
      await pump;
    },
  };
}

const events = (text: string) =>
  text
    .split('\n\n')
    .filter((block) => block.startsWith('event: reading'))
    .map((block) => JSON.parse(block.split('\ndata: ')[1]!));

const waitForListeners = (n: number) => waitFor(() => feed.listenerCount() === n, 2000, `${n} listeners`);

describe('device stream', () => {
  it('sends one event per stored reading of this device only, and heartbeats', async () => {
    const s = await openStream(`/v1/devices/${f.d1.id}/telemetry/stream`);
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await waitForListeners(1);
    const t = Date.UTC(2026, 0, 1);
    await ingest.publishAsync(
      storedTopic(f.pilotId, f.d2.id),
      JSON.stringify([{ ts: t, values: { temp: 99 } }]),
    );
    await ingest.publishAsync(
      storedTopic(f.pilotId, f.d1.id),
      JSON.stringify([
        { ts: t, values: { temp: 1.5, door: 'open' } },
        { ts: t + 1000, values: { ok: true } },
      ]),
    );
    await s.waitFor((text) => events(text).length >= 2);
    await s.waitFor((text) => text.includes(': heartbeat\n\n'));
    expect(events(s.text())).toEqual([
      { deviceId: f.d1.id, ts: '2026-01-01T00:00:00.000Z', values: { temp: 1.5, door: 'open' } },
      { deviceId: f.d1.id, ts: '2026-01-01T00:00:01.000Z', values: { ok: true } },
    ]);
    await s.close();
    // The server notices the disconnect and drops the listener.
    await waitForListeners(0);
  });
});

describe('pilot stream', () => {
  it('sends readings of every device of the pilot, none of other pilots', async () => {
    const s = await openStream(`/v1/pilots/${f.pilotId}/telemetry/stream`);
    await waitForListeners(1);
    await ingest.publishAsync(
      storedTopic(f.outsiderPilotId, f.outsiderDeviceId),
      JSON.stringify([{ ts: 5, values: { x: 1 } }]),
    );
    await ingest.publishAsync(storedTopic(f.pilotId, f.d1.id), JSON.stringify([{ ts: 1, values: { a: 1 } }]));
    await ingest.publishAsync(storedTopic(f.pilotId, f.d2.id), JSON.stringify([{ ts: 2, values: { a: 2 } }]));
    await s.waitFor((text) => events(text).length >= 2);
    const got = events(s.text());
    expect(got.map((e) => e.deviceId).sort()).toEqual([f.d1.id, f.d2.id].sort());
    expect(got.some((e) => e.deviceId === f.outsiderDeviceId)).toBe(false);
    await s.close();
    await waitForListeners(0);
  });

  it('ignores malformed stored messages without breaking the stream', async () => {
    const s = await openStream(`/v1/pilots/${f.pilotId}/telemetry/stream`);
    await waitForListeners(1);
    await ingest.publishAsync(storedTopic(f.pilotId, f.d1.id), 'not json');
    await ingest.publishAsync(storedTopic(f.pilotId, f.d1.id), JSON.stringify({ ts: 1 }));
    await ingest.publishAsync(
      storedTopic(f.pilotId, f.d1.id),
      JSON.stringify([{ ts: 3, values: { ok: 1 } }]),
    );
    await s.waitFor((text) => events(text).length >= 1);
    expect(events(s.text())).toEqual([
      { deviceId: f.d1.id, ts: '1970-01-01T00:00:00.003Z', values: { ok: 1 } },
    ]);
    await s.close();
    await waitForListeners(0);
  });

  it('is 404 for a non-member and never subscribes', async () => {
    const res = await fetch(`${base}/v1/pilots/${f.pilotId}/telemetry/stream`, {
      headers: { authorization: `Bearer ${f.outsiderKey}` },
    });
    expect(res.status).toBe(404);
    expect(feed.listenerCount()).toBe(0);
  });

  it('closing the app ends open streams', async () => {
    const s = await openStream(`/v1/devices/${f.d1.id}/telemetry/stream`);
    await waitForListeners(1);
    await f.api.app.close();
    await waitForListeners(0);
    await s.close();
  });
});

describe('live hub', () => {
  // The feed skips parsing a stored batch that no listener wants; `wants` must match `publish`.
  it('wants a batch exactly when a pilot or device listener would receive it', () => {
    const hub = new LiveHub();
    const got: string[] = [];
    const batch = (pilotId: string, deviceId: string) => ({
      pilotId,
      deviceId,
      readings: [{ ts: 1, values: {} }],
    });
    expect(hub.wants('p1', 'd1')).toBe(false);
    const offDevice = hub.subscribe({ pilotId: 'p1', deviceId: 'd1' }, (b) =>
      got.push(`device:${b.deviceId}`),
    );
    expect([hub.wants('p1', 'd1'), hub.wants('p1', 'd2'), hub.wants('p2', 'd1')]).toEqual([
      true,
      false,
      false,
    ]);
    const offPilot = hub.subscribe({ pilotId: 'p1' }, (b) => got.push(`pilot:${b.deviceId}`));
    expect([hub.wants('p1', 'd2'), hub.wants('p2', 'd2')]).toEqual([true, false]);
    hub.publish(batch('p1', 'd2'));
    offPilot();
    expect(hub.wants('p1', 'd2')).toBe(false);
    hub.publish(batch('p1', 'd1'));
    offDevice();
    expect(hub.wants('p1', 'd1')).toBe(false);
    expect(got).toEqual(['pilot:d2', 'device:d1']);
  });
});
