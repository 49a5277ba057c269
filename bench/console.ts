/**
 * Part: the console in a browser (issue 14). Its first load (page and assets, gzipped, as served),
 * and whether a pilot page charting 10 devices at 10 readings/s each keeps up: frames per second
 * and the lag from publish to point drawn, both measured inside Debian's chromium (the charts'
 * `console:drawn` events, a requestAnimationFrame counter), against the platform in a child process.
 */
import http from 'node:http';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../test/helpers/browser.js';
import { collected, recordDrawn, recordFrames, signIn } from '../test/helpers/console-page.js';
import { type BenchContext, type BenchPart, type Fleet, partDir, registerFleet } from './fixtures.js';
import { withPlatform } from './platform-run.js';
import { CpuMeter } from './procs.js';
import { fmt, lossCheck, type PartResult, resultHeader } from './report.js';

const TITLE = 'Console: first load, and a live pilot chart of 10 devices at 10 readings/s each';
const DEVICES = 10;
const PER_DEVICE_HZ = 10;

/** Bytes on the wire of one GET with gzip accepted. */
function gzippedBytes(url: string): Promise<{ bytes: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ bytes: raw.length, body: res.headers['content-encoding'] ? '' : raw.toString() });
        });
      })
      .on('error', reject);
  });
}

async function firstLoad(apiUrl: string): Promise<number> {
  const page = await gzippedBytes(`${apiUrl}/console/`);
  const html = await (await fetch(`${apiUrl}/console/`)).text();
  let total = page.bytes;
  for (const m of html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)) {
    total += (await gzippedBytes(`${apiUrl}/console/${m[1]}`)).bytes;
  }
  return total;
}

const percentile = (sorted: number[], q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

const topic = (deviceId: string) => `devices/${deviceId}/telemetry`;

/** Signs in, opens the pilot page live, connects the devices and waits until the chart draws. */
async function openLivePilot(
  page: Page,
  apiUrl: string,
  mqttUrl: string,
  fleet: Fleet,
  clients: MqttClient[],
) {
  await signIn(page, apiUrl, fleet.partnerApiKey);
  await page.goto(`${apiUrl}/console/#/pilots/${fleet.pilotId}`);
  await page.locator('.badge', { hasText: 'Live' }).first().waitFor({ timeout: 30_000 });
  for (const d of fleet.devices) {
    const opts = { clientId: `${d.id}-bench`, username: d.id, password: d.password };
    clients.push(await mqtt.connectAsync(mqttUrl, opts));
  }
  // Warm up: the first readings create the key and the chart.
  await Promise.all(
    clients.map((c, i) => c.publishAsync(topic(fleet.devices[i]!.id), '{"temperature": 1}', { qos: 1 })),
  );
  await page.locator('.chart canvas').first().waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1000);
}

/** Every device publishes PER_DEVICE_HZ readings a second, stamped with the publish time. */
async function publishFor(clients: MqttClient[], fleet: Fleet, durationMs: number) {
  const published: number[] = [];
  const start = Date.now();
  let n = 0;
  const timers = clients.map((c, i) =>
    setInterval(() => {
      const ts = Date.now();
      published.push(ts);
      const payload = JSON.stringify({ ts, values: { temperature: Math.sin(n++ / 50) } });
      void c.publishAsync(topic(fleet.devices[i]!.id), payload, { qos: 1 });
    }, 1000 / PER_DEVICE_HZ),
  );
  await new Promise((r) => setTimeout(r, durationMs));
  for (const t of timers) clearInterval(t);
  return { published, seconds: (Date.now() - start) / 1000 };
}

/** Mean and worst frames per second, in whole seconds of the measured interval. */
function frameRate(frames: number[], durationMs: number) {
  const buckets = new Map<number, number>();
  const t0 = frames[0] ?? 0;
  for (const f of frames) {
    const b = Math.floor((f - t0) / 1000);
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  const full = [...buckets.entries()].filter(([b]) => b < Math.floor(durationMs / 1000)).map(([, c]) => c);
  if (full.length === 0) return { mean: Number.NaN, worst: Number.NaN };
  return { mean: full.reduce((a, b) => a + b, 0) / full.length, worst: Math.min(...full) };
}

interface Measured {
  loadBytes: number;
  published: number[];
  seconds: number;
  lags: number[];
  fps: { mean: number; worst: number };
  longTasks: number;
  cpuShares: Record<string, string>;
  durationMs: number;
}

function toResult(ctx: BenchContext, m: Measured): PartResult {
  const p99 = percentile(m.lags, 0.99);
  return {
    ...resultHeader(ctx, 'console', TITLE),
    figures: {
      'first load, gzipped (KB)': Math.round((m.loadBytes / 1024) * 10) / 10,
      devices: DEVICES,
      'readings published per second': Math.round(m.published.length / m.seconds),
      'readings published': m.published.length,
      'readings drawn': m.lags.length,
      'frames per second, mean': Math.round(m.fps.mean * 10) / 10,
      'frames per second, worst second': m.fps.worst,
      'main-thread tasks over 50 ms': m.longTasks,
      'publish -> drawn p50 (ms)': percentile(m.lags, 0.5),
      'publish -> drawn p95 (ms)': percentile(m.lags, 0.95),
      'publish -> drawn p99 (ms)': p99,
      'publish -> drawn max (ms)': m.lags.at(-1) ?? Number.NaN,
      ...m.cpuShares,
    },
    goals: [
      {
        what: 'first load, gzipped',
        target: '< 300 KB',
        actual: `${fmt(m.loadBytes / 1024, 1)} KB`,
        met: m.loadBytes < 300 * 1024,
      },
      {
        what: 'frames per second while charting',
        target: '>= 30',
        actual: fmt(m.fps.mean, 1),
        met: m.fps.mean >= 30,
      },
      { what: 'publish -> drawn p99', target: '< 1000 ms', actual: `${fmt(p99)} ms`, met: p99 < 1000 },
    ],
    lossChecks: [
      lossCheck('readings drawn on the chart', m.lags.length, m.published.length, {
        storedWord: 'drawn',
        expectedWord: 'published',
      }),
    ],
    notes: [
      `${DEVICES} devices publish one reading each every ${1000 / PER_DEVICE_HZ} ms (QoS 1, mqtt.js, ts = publish time) for ` +
        `${m.durationMs / 1000} s to the platform; the pilot page (1280 px wide, live range, one series per device) ` +
        'is open in headless chromium (Debian, --disable-gpu). Lag = the time a chart drew a reading (its uPlot draw hook, ' +
        "in the page) - the publish time; both clocks are this machine's. It spans broker, spool, ingest (INGEST_FLUSH_MS " +
        "100), InfluxDB, the API's SSE stream, and the next animation frame. FPS counts requestAnimationFrame callbacks; " +
        'long tasks come from the browser\'s PerformanceObserver. The "device page" of the issue is the pilot page here: ' +
        'it is the page that charts 10 devices (one series each).',
      'First load = the page, its script, its stylesheet and icon, as served by the API with gzip.',
    ],
  };
}

export const consolePart: BenchPart = {
  id: 'console',
  title: TITLE,
  async run(ctx) {
    const durationMs = ctx.quick ? 5000 : 30_000;
    const dataDir = path.join(partDir(ctx, 'console'), 'data');
    const fleet = await registerFleet(dataDir, DEVICES);
    return withPlatform(ctx, { dataDir, database: 'console' }, async (p) => {
      const loadBytes = await firstLoad(p.apiUrl!);
      const browser = await launchBrowser({ viewport: { width: 1280, height: 900 } });
      const clients: MqttClient[] = [];
      try {
        const page = await browser.context.newPage();
        await openLivePilot(page, p.apiUrl!, p.mqttUrl, fleet, clients);
        await recordDrawn(page);
        await recordFrames(page);
        const cpu = new CpuMeter({ platform: p.child.pid, influxd: ctx.influx.pid });
        cpu.begin();
        const { published, seconds } = await publishFor(clients, fleet, durationMs);
        await page.waitForTimeout(2000); // the last readings reach the page
        const cpuShares = cpu.end();
        const { drawn, frames, longTasks } = await collected(page);
        const mine = new Set(published);
        const lags = drawn
          .filter((d) => mine.has(d.ts))
          .map((d) => d.at - d.ts)
          .sort((a, b) => a - b);
        const fps = frameRate(frames, durationMs);
        return toResult(ctx, { loadBytes, published, seconds, lags, fps, longTasks, cpuShares, durationMs });
      } finally {
        await Promise.all(clients.map((c) => c.endAsync(true)));
        await browser.close();
      }
    });
  },
};
