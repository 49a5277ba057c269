/**
 * Issue 16: docs/METRICS.md lists every metric the platform serves, with its type and labels, and
 * nothing else: the one-process platform's /metrics (every component's metrics) against the table,
 * and the label names each metric is declared with. Also: the API's request-duration histogram counts
 * by route pattern and status class, and the journal's oldest-entry age grows while nothing is stored.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installHttpMetrics } from '../api/http-metrics.js';
import { createBrokerMetrics } from '../broker/metrics.js';
import { createIngestMetrics } from '../ingest/metrics.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';

interface Documented {
  type: string;
  labels: string[];
}

/** The table rows of docs/METRICS.md: | `name` | type | `label`, ... | what | */
function documented(): Map<string, Documented> {
  const rows = new Map<string, Documented>();
  for (const line of readFileSync('docs/METRICS.md', 'utf8').split('\n')) {
    const m = /^\| `([a-z_]+)` \| (\w+) \|([^|]*)\|/.exec(line);
    if (!m) continue;
    const labels = [...(m[3] ?? '').matchAll(/`(\w+)`/g)].map((l) => l[1] as string);
    rows.set(m[1] as string, { type: m[2] as string, labels: labels.sort() });
  }
  return rows;
}

const DEFAULT_METRICS = /^(process_|nodejs_)/;

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.dispose();
});

describe('docs/METRICS.md', () => {
  it('names every metric /metrics serves, with its type, and no other', async () => {
    await provision(platform, 1, 'Metrics'); // some traffic, so every kind of series exists
    const text = await (await fetch(`${platform.apiUrl}/metrics`)).text();
    const served = new Map(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)]
        .filter((m) => !DEFAULT_METRICS.test(m[1] as string))
        .map((m) => [m[1] as string, m[2] as string]),
    );
    const docs = documented();
    expect(docs.size).toBeGreaterThan(20);
    expect(Object.fromEntries(served)).toEqual(
      Object.fromEntries([...docs].map(([name, d]) => [name, d.type])),
    );
    expect(text).toMatch(/^process_cpu_seconds_total /m); // the default metrics the page mentions
  });

  it('gives each metric the labels it is declared with', () => {
    const registry = new Registry();
    createBrokerMetrics(registry);
    createIngestMetrics(registry, {
      backlog: async () => 0,
      oldestReceivedAt: async () => undefined,
      now: Date.now,
    });
    installHttpMetrics(Fastify(), registry);
    const declared = registry
      .getMetricsAsArray()
      .map((m) => [m.name, [...((m as unknown as { labelNames?: string[] }).labelNames ?? [])].sort()]);
    const docs = documented();
    expect(Object.fromEntries(declared)).toEqual(
      Object.fromEntries([...docs].map(([name, d]) => [name, d.labels])),
    );
  });
});

describe('the new measurements', () => {
  it('API request durations by route pattern and status class; streams left out', async () => {
    const { apiKey, devices } = await provision(platform, 1, 'Durations');
    const deviceId = devices[0]!.deviceId;
    await platform.api(`/v1/devices/${deviceId}`, { key: apiKey });
    await platform.api('/v1/devices/dev_nope', { key: apiKey });
    await platform.api('/no/such/path');
    const text = await (await fetch(`${platform.apiUrl}/metrics`)).text();
    const count = (labels: string) =>
      Number(
        new RegExp(`^api_http_request_duration_seconds_count\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1],
      );
    expect(count('method="GET",route="/v1/devices/:deviceId",status_class="2xx"')).toBeGreaterThanOrEqual(1);
    expect(count('method="GET",route="/v1/devices/:deviceId",status_class="4xx"')).toBeGreaterThanOrEqual(1);
    expect(count('method="GET",route="unmatched",status_class="4xx"')).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(deviceId); // a pattern, never an id
    expect(text).not.toMatch(/route="[^"]*stream"/);
  });

  it('the age of the oldest journal entry not yet stored', async () => {
    const registry = new Registry();
    let oldest: number | undefined;
    const now = 1_700_000_100_000;
    createIngestMetrics(registry, {
      backlog: async () => 1,
      oldestReceivedAt: async () => oldest,
      now: () => now,
    });
    const age = async () =>
      (await registry.getSingleMetric('ingest_journal_oldest_age_seconds')!.get()).values[0]?.value;
    expect(await age()).toBe(0);
    oldest = now - 42_500;
    expect(await age()).toBe(42.5);
  });
});
