/**
 * Part: a command's round trip (issue 15), API -> device -> answer visible in the API, at 100
 * commands/s spread over 100 devices (mqtt.js, persistent sessions, answering at once). The platform
 * runs in its own process; the devices, the sender and one SSE stream of the pilot run here.
 * Round trip = `POST .../commands` sent -> the `command` event with status succeeded on the stream
 * (the broker announces it after the answer is stored, so a GET sees it from then on).
 */
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { commandsTopic } from '../core/command-topics.js';
import { type BenchPart, type Fleet, partDir, registerFleet } from './fixtures.js';
import { withPlatform } from './platform-run.js';
import { fmt, lossCheck, type PartResult, resultHeader } from './report.js';

const TITLE = 'Command round trip, API -> device -> answer in the API, at 100 commands/s over 100 devices';
const RATE = 100;
const DEVICES = 100;

const percentile = (sorted: number[], q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

/** Devices that answer every command at once with status ok. */
async function connectDevices(mqttUrl: string, fleet: Fleet): Promise<MqttClient[]> {
  return Promise.all(
    fleet.devices.map(async (d) => {
      const client = await mqtt.connectAsync(mqttUrl, {
        clientId: d.id,
        username: d.id,
        password: d.password,
        clean: false,
        reconnectPeriod: 1000,
      });
      client.on('message', (_topic, payload) => {
        const { responseTopic } = JSON.parse(payload.toString()) as { responseTopic: string };
        client.publish(responseTopic, '{"status":"ok","result":{"done":true}}', { qos: 1 });
      });
      await client.subscribeAsync(commandsTopic(d.id), { qos: 1 });
      return client;
    }),
  );
}

/** The pilot's live stream: calls `onSucceeded(commandId, at)` for each succeeded command event. */
async function watchCommands(apiUrl: string, fleet: Fleet, onSucceeded: (id: string, at: number) => void) {
  const controller = new AbortController();
  const res = await fetch(`${apiUrl}/v1/pilots/${fleet.pilotId}/telemetry/stream`, {
    headers: { authorization: `Bearer ${fleet.partnerApiKey}` },
    signal: controller.signal,
  });
  if (!res.ok || !res.body) throw new Error(`stream: ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  void (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return;
      const at = performance.now();
      text += decoder.decode(chunk.value, { stream: true });
      let end = text.indexOf('\n\n');
      while (end >= 0) {
        const event = text.slice(0, end);
        text = text.slice(end + 2);
        end = text.indexOf('\n\n');
        if (!event.startsWith('event: command\n')) continue;
        const data = JSON.parse(event.slice(event.indexOf('data: ') + 6)) as {
          commandId: string;
          status: string;
        };
        if (data.status === 'succeeded') onSucceeded(data.commandId, at);
      }
    }
  })();
  return () => controller.abort();
}

export const commandsPart: BenchPart = {
  id: 'commands',
  title: TITLE,
  async run(ctx) {
    const durationMs = ctx.quick ? 3000 : 30_000;
    const dir = partDir(ctx, 'commands');
    const dataDir = path.join(dir, 'data');
    const fleet = await registerFleet(dataDir, DEVICES);
    return withPlatform(ctx, { dataDir, database: 'commands' }, async (p) => {
      const apiUrl = p.apiUrl!;
      const clients = await connectDevices(p.mqttUrl, fleet);
      const sentAt = new Map<string, number>();
      const roundTrips: number[] = [];
      const early = new Map<string, number>();
      const stop = await watchCommands(apiUrl, fleet, (id, at) => {
        const t = sentAt.get(id);
        if (t === undefined) early.set(id, at);
        else roundTrips.push(at - t);
      });
      const loadAtStart = os.loadavg()[0]!;
      const total = Math.round((durationMs / 1000) * RATE);
      let failedPosts = 0;
      const start = performance.now();
      const posts: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        posts.push(
          send(apiUrl, fleet, fleet.devices[i % DEVICES]!.id, i, sentAt, early, roundTrips).catch(() => {
            failedPosts++;
          }),
        );
      }
      await Promise.all(posts);
      const sendSeconds = (performance.now() - start) / 1000;
      const deadline = Date.now() + 15_000;
      while (roundTrips.length < sentAt.size && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      stop();
      const succeeded = await countSucceeded(apiUrl, fleet);
      await Promise.all(clients.map((c) => c.endAsync()));
      return commandsResult(ctx, {
        total,
        sent: sentAt.size,
        failedPosts,
        sendSeconds,
        roundTrips,
        succeeded: succeeded.n,
        steps: succeeded,
        load: `${loadAtStart.toFixed(1)} / ${os.loadavg()[0]!.toFixed(1)}`,
      });
    });
  },
};

async function send(
  apiUrl: string,
  fleet: Fleet,
  deviceId: string,
  i: number,
  sentAt: Map<string, number>,
  early: Map<string, number>,
  roundTrips: number[],
): Promise<void> {
  const t = performance.now();
  const res = await fetch(`${apiUrl}/v1/devices/${deviceId}/commands`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fleet.partnerApiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'setInterval', params: { ms: 1000 + i }, ttlMs: 60_000 }),
  });
  if (res.status !== 202) throw new Error(`POST: ${res.status}`);
  const { commandId } = (await res.json()) as { commandId: string };
  sentAt.set(commandId, t);
  // The answer can be seen before the 202 is read.
  const seen = early.get(commandId);
  if (seen !== undefined) roundTrips.push(seen - t);
}

type Listed = { status: string; queuedAt: string; deliveredAt: string | null; succeededAt: string | null };

/**
 * Commands with status succeeded, read back through the API (every device's list), and the stored
 * steps of each: queued -> delivered (API, broker, registry) and delivered -> answered (the device).
 */
async function countSucceeded(apiUrl: string, fleet: Fleet) {
  let n = 0;
  const toDelivered: number[] = [];
  const toAnswered: number[] = [];
  for (const d of fleet.devices) {
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await fetch(`${apiUrl}/v1/devices/${d.id}/commands?limit=1000${q}`, {
        headers: { authorization: `Bearer ${fleet.partnerApiKey}` },
      });
      const page = (await res.json()) as { items: Listed[]; nextCursor: string | null };
      for (const c of page.items) {
        if (c.status !== 'succeeded' || !c.deliveredAt || !c.succeededAt) continue;
        n++;
        toDelivered.push(Date.parse(c.deliveredAt) - Date.parse(c.queuedAt));
        toAnswered.push(Date.parse(c.succeededAt) - Date.parse(c.deliveredAt));
      }
      cursor = page.nextCursor;
    } while (cursor);
  }
  const sort = (a: number[]) => a.sort((x, y) => x - y);
  return { n, toDelivered: sort(toDelivered), toAnswered: sort(toAnswered) };
}

function commandsResult(
  ctx: Parameters<BenchPart['run']>[0],
  m: {
    total: number;
    sent: number;
    failedPosts: number;
    sendSeconds: number;
    roundTrips: number[];
    succeeded: number;
    steps: { toDelivered: number[]; toAnswered: number[] };
    load: string;
  },
): PartResult {
  const sorted = [...m.roundTrips].sort((a, b) => a - b);
  const p99 = percentile(sorted, 0.99);
  const rate = m.sent / m.sendSeconds;
  return {
    ...resultHeader(ctx, 'commands', TITLE),
    figures: {
      'commands sent (202)': m.sent,
      'POSTs failed': m.failedPosts,
      'send rate achieved (commands/s)': Math.round(rate),
      'round trips observed': sorted.length,
      'round trip p50 (ms)': percentile(sorted, 0.5),
      'round trip p95 (ms)': percentile(sorted, 0.95),
      'round trip p99 (ms)': p99,
      'round trip max (ms)': sorted.at(-1) ?? Number.NaN,
      'stored steps: queued -> delivered p50 / p99 (ms)': `${percentile(m.steps.toDelivered, 0.5)} / ${percentile(m.steps.toDelivered, 0.99)}`,
      'stored steps: delivered -> answered p50 / p99 (ms)': `${percentile(m.steps.toAnswered, 0.5)} / ${percentile(m.steps.toAnswered, 0.99)}`,
      // The machine may be shared: a load above its 2 cores shows in the tail first.
      'load average (1 min) at start / end': m.load,
    },
    goals: [
      {
        what: 'send rate',
        target: `>= 95% of ${RATE}/s`,
        actual: `${fmt(rate)}/s`,
        met: rate >= RATE * 0.95,
      },
      { what: 'p99 round trip', target: '< 500 ms', actual: `${fmt(p99)} ms`, met: p99 < 500 },
    ],
    lossChecks: [
      lossCheck('commands answered (status succeeded in the API)', m.succeeded, m.total, {
        storedWord: 'succeeded',
        expectedWord: 'sent',
      }),
    ],
    notes: [
      `${DEVICES} mqtt.js devices (persistent sessions, QoS 1) answer each command at once; commands are sent ` +
        `round-robin at ${RATE}/s for ${m.sendSeconds.toFixed(0)} s by one HTTP client. Round trip: POST sent -> ` +
        "the `command` event with status succeeded on the pilot's live stream (announced after the answer is " +
        'stored; a GET sees the same from then on). Platform: one process (broker, ingest, API; SQLite registry).',
    ],
  };
}
