/**
 * Part: the console in a browser (issue 14). Its first load (page and assets, gzipped, as served),
 * and whether a pilot page charting 10 devices at 10 readings/s each keeps up: frames per second
 * and the lag from publish to point drawn, both measured inside Debian's chromium (the charts'
 * `console:drawn` events, a requestAnimationFrame counter), against the platform in a child process.
 */
import http from 'node:http';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { launchBrowser } from '../test/helpers/browser.js';
import { collected, recordDrawn, recordFrames, signIn } from '../test/helpers/console-page.js';
import { type BenchPart, partDir, registerFleet } from './fixtures.js';
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

export const consolePart: BenchPart = {
  id: 'console',
  title: TITLE,
  async run(ctx) {
    const durationMs = ctx.quick ? 5000 : 30_000;
    const dir = partDir(ctx, 'console');
    const dataDir = path.join(dir, 'data');
    const fleet = registerFleet(dataDir, DEVICES);
    return withPlatform(ctx, { dataDir, database: 'console' }, async (p) => {
      const apiUrl = p.apiUrl!;
      const loadBytes = await firstLoad(apiUrl);
      const browser = await launchBrowser({ viewport: { width: 1280, height: 900 } });
      const clients: MqttClient[] = [];
      try {
        const page = await browser.context.newPage();
        await signIn(page, apiUrl, fleet.partnerApiKey);
        await page.goto(`${apiUrl}/console/#/pilots/${fleet.pilotId}`);
        await page.locator('.badge', { hasText: 'Live' }).first().waitFor({ timeout: 30_000 });
        for (const d of fleet.devices) {
          clients.push(
            await mqtt.connectAsync(p.mqttUrl, {
              clientId: `${d.id}-bench`,
              username: d.id,
              password: d.password,
            }),
          );
        }
        // Warm up: the first readings create the key and the chart.
        await Promise.all(
          clients.map((c, i) =>
            c.publishAsync(`devices/${fleet.devices[i]!.id}/telemetry`, JSON.stringify({ temperature: 1 }), {
              qos: 1,
            }),
          ),
        );
        await page.locator('.chart canvas').first().waitFor({ timeout: 30_000 });
        await page.waitForTimeout(1000);
        await recordDrawn(page);
        await recordFrames(page);

        const browserCpu = new CpuMeter({ platform: p.child.pid, influxd: ctx.influx.pid });
        browserCpu.begin();
        const published: number[] = [];
        const start = Date.now();
        let n = 0;
        const timers = clients.map((c, i) =>
          setInterval(() => {
            const ts = Date.now();
            published.push(ts);
            void c.publishAsync(
              `devices/${fleet.devices[i]!.id}/telemetry`,
              JSON.stringify({ ts, values: { temperature: Math.sin(n++ / 50) } }),
              { qos: 1 },
            );
          }, 1000 / PER_DEVICE_HZ),
        );
        await new Promise((r) => setTimeout(r, durationMs));
        for (const t of timers) clearInterval(t);
        const publishedFor = (Date.now() - start) / 1000;
        await page.waitForTimeout(2000); // the last readings reach the page
        const cpuShares = browserCpu.end();
        const { drawn, frames, longTasks } = await collected(page);
        const mine = new Set(published);
        const lags = drawn
          .filter((d) => mine.has(d.ts))
          .map((d) => d.at - d.ts)
          .sort((a, b) => a - b);
        // Frames per second in 1-s buckets while readings came in.
        const buckets = new Map<number, number>();
        const t0 = frames[0] ?? 0;
        for (const f of frames)
          buckets.set(Math.floor((f - t0) / 1000), (buckets.get(Math.floor((f - t0) / 1000)) ?? 0) + 1);
        const full = [...buckets.entries()]
          .filter(([b]) => b < Math.floor(durationMs / 1000))
          .map(([, c]) => c);
        const fps = full.length ? full.reduce((a, b) => a + b, 0) / full.length : Number.NaN;
        const minFps = full.length ? Math.min(...full) : Number.NaN;
        const p99 = percentile(lags, 0.99);
        const result: PartResult = {
          ...resultHeader(ctx, 'console', TITLE),
          figures: {
            'first load, gzipped (KB)': Math.round((loadBytes / 1024) * 10) / 10,
            devices: DEVICES,
            'readings published per second': Math.round(published.length / publishedFor),
            'readings published': published.length,
            'readings drawn': lags.length,
            'frames per second, mean': Math.round(fps * 10) / 10,
            'frames per second, worst second': minFps,
            'main-thread tasks over 50 ms': longTasks,
            'publish -> drawn p50 (ms)': percentile(lags, 0.5),
            'publish -> drawn p95 (ms)': percentile(lags, 0.95),
            'publish -> drawn p99 (ms)': p99,
            'publish -> drawn max (ms)': lags.at(-1) ?? Number.NaN,
            ...cpuShares,
          },
          goals: [
            {
              what: 'first load, gzipped',
              target: '< 300 KB',
              actual: `${fmt(loadBytes / 1024, 1)} KB`,
              met: loadBytes < 300 * 1024,
            },
            {
              what: 'frames per second while charting',
              target: '>= 30',
              actual: fmt(fps, 1),
              met: fps >= 30,
            },
            { what: 'publish -> drawn p99', target: '< 1000 ms', actual: `${fmt(p99)} ms`, met: p99 < 1000 },
          ],
          lossChecks: [
            lossCheck('readings drawn on the chart', lags.length, published.length, {
              storedWord: 'drawn',
              expectedWord: 'published',
            }),
          ],
          notes: [
            `${DEVICES} devices publish one reading each every ${1000 / PER_DEVICE_HZ} ms (QoS 1, mqtt.js, ts = publish time) for ` +
              `${durationMs / 1000} s to the platform; the pilot page (1280 px wide, live range, one series per device) ` +
              'is open in headless chromium (Debian, --disable-gpu). Lag = the time a chart drew a reading (its uPlot draw hook, ' +
              "in the page) - the publish time; both clocks are this machine's. It spans broker, spool, ingest (INGEST_FLUSH_MS " +
              "100), InfluxDB, the API's SSE stream, and the next animation frame. FPS counts requestAnimationFrame callbacks.",
            'First load = the page, its script, its stylesheet and icon, as served by the API with gzip.',
          ],
        };
        return result;
      } finally {
        await Promise.all(clients.map((c) => c.endAsync(true)));
        await browser.close();
      }
    });
  },
};
