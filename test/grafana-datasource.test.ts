// biome-ignore-all lint/suspicious/noExplicitAny: parsed JSON and YAML, checked field by field
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Grafana's ${...} macros, as the files hold them
/**
 * Issue 16, Grafana: the files in docs/grafana/ work against a real platform.
 * - The per-partner way: the Infinity data source and panel query of docs/grafana, turned into the
 *   HTTP request the plug-in's backend sends (its pkg/infinity/request.go and headers.go: base URL +
 *   query URL, query parameters encoded by Go's url.Values, `Accept: application/json;q=0.9,text/plain`,
 *   `Authorization: Bearer <key>`; macros as in grafana/infinity-libs: `${__from}` epoch ms,
 *   `${__from:date:iso}` RFC 3339), answered with the right windows; the health check URL and the
 *   variable queries; CORS preflight for browser dashboards (API_CORS_ORIGINS).
 * - The direct way: the dashboard's InfluxQL (variables and panels) on the platform's InfluxDB.
 * No Grafana runs here: the requests are built from the provisioning files as the plug-in builds them.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { connectInflux } from '../core/influx/client.js';
import { provision, startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/poll.js';

const GRAFANA_ORIGIN = 'http://grafana.example:3000';
const datasources = parseYaml(
  readFileSync('docs/grafana/provisioning/datasources/pilot-platform.yaml', 'utf8'),
).datasources as any[];
const apiDashboard = JSON.parse(readFileSync('docs/grafana/dashboards/device-api.json', 'utf8'));
const influxDashboard = JSON.parse(readFileSync('docs/grafana/dashboards/pilot-influxdb.json', 'utf8'));

let platform: TestPlatform;
let fixture: Awaited<ReturnType<typeof provision>>;
let deviceId: string;
const MINUTE = 60_000;
/** Two readings a minute for 30 minutes: the mean of window i is 2i + 1. */
const base = Math.floor((Date.now() - 50 * MINUTE) / MINUTE) * MINUTE;

beforeAll(async () => {
  platform = await startTestPlatform({ API_CORS_ORIGINS: GRAFANA_ORIGIN });
  fixture = await provision(platform, 1, 'Grafana Labs Partner');
  const device = fixture.devices[0]!;
  deviceId = device.deviceId;
  const readings = Array.from({ length: 30 }, (_, i) => [
    { ts: base + i * MINUTE + 5000, values: { temperature: 2 * i } },
    { ts: base + i * MINUTE + 35_000, values: { temperature: 2 * i + 2 } },
  ]).flat();
  const basic = Buffer.from(`${device.deviceId}:${device.password}`).toString('base64');
  const res = await platform.api(`/v1/devices/${deviceId}/telemetry`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}` },
    json: readings,
  });
  expect(res.status).toBe(202);
  await waitFor(
    async () => {
      const r = await platform.api(`/v1/devices/${deviceId}/telemetry?from=${base}&limit=100`, {
        key: fixture.apiKey,
      });
      const items = ((await r.json()) as { items: unknown[] }).items;
      return items.length === 60;
    },
    15_000,
    'the readings in InfluxDB',
  );
});
afterAll(async () => {
  await platform?.dispose();
});

/** Grafana expands ${VAR} in provisioning files from its environment. */
function infinitySettings() {
  const ds = datasources.find((d) => d.type === 'yesoreyeram-infinity-datasource');
  const env: Record<string, string> = {
    PLATFORM_API_URL: platform.apiUrl,
    PLATFORM_PARTNER_KEY: fixture.apiKey,
  };
  const expand = (v: string) => v.replace(/\$\{(\w+)\}/g, (_, name) => env[name] ?? '');
  return {
    url: expand(ds.url),
    authMethod: ds.jsonData.auth_method,
    token: expand(ds.secureJsonData.bearerToken),
    healthUrl: expand(ds.jsonData.customHealthCheckUrl),
  };
}

/** Infinity's macros (grafana/infinity-libs lib/go/macros) and the dashboard's variables. */
function interpolate(text: string, vars: Record<string, string>, from: number, to: number): string {
  return text
    .replace(/\$\{__from:date:iso\}/g, new Date(from).toISOString())
    .replace(/\$\{__to:date:iso\}/g, new Date(to).toISOString())
    .replace(/\$\{__from\}/g, String(from))
    .replace(/\$\{__to\}/g, String(to))
    .replace(/\$\{(\w+)\}/g, (whole, name) => vars[name] ?? whole);
}

/** The request Infinity's backend sends for a JSON query (pkg/infinity/request.go, GetQueryURL). */
function infinityRequest(query: any, vars: Record<string, string>, from: number, to: number) {
  const s = infinitySettings();
  expect(s.authMethod).toBe('bearerToken');
  const path = interpolate(query.url, vars, from, to);
  const url = new URL(path.startsWith(s.url) ? path : s.url + path);
  // Go's url.Values.Encode: keys sorted, form encoding (":" -> %3A, " " -> +).
  const params = (query.url_options?.params ?? []).map((p: any) => [
    p.key,
    interpolate(p.value, vars, from, to),
  ]);
  params.sort((a: string[], b: string[]) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  url.search = new URLSearchParams(params).toString();
  return fetch(url, {
    headers: { accept: 'application/json;q=0.9,text/plain', authorization: `Bearer ${s.token}` },
  });
}

const panelQuery = () => apiDashboard.panels[0].targets[0];

describe('the per-partner data source (Infinity on the telemetry API)', () => {
  it.each([
    ['epoch milliseconds', (q: any) => q],
    [
      'RFC 3339',
      (q: any) => ({
        ...q,
        url_options: {
          ...q.url_options,
          params: q.url_options.params.map((p: any) => ({
            ...p,
            value: p.value.replace(/^\$\{(__from|__to)\}$/, '${$1:date:iso}'),
          })),
        },
      }),
    ],
  ])('answers the panel query with from/to as %s: one mean per window', async (_, variant) => {
    const query = variant(panelQuery());
    const res = await infinityRequest(
      query,
      { device: deviceId, key: 'temperature', __interval: '1m' },
      base,
      base + 30 * MINUTE,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { items: { ts: string; values: Record<string, number> }[] };
    // What the panel's columns select: `ts` as the time, `values.temperature` as the number.
    const rows = body.items.map((i) => [Date.parse(i.ts), i.values.temperature]);
    expect(rows).toEqual(Array.from({ length: 30 }, (_, i) => [base + i * MINUTE, 2 * i + 1]));
    expect(query.root_selector).toBe('items');
    expect(query.columns.map((c: any) => c.selector)).toEqual(['ts', 'values.${key}']);
  });

  it("answers the health check URL with the partner's key, and 401 with any other", async () => {
    const s = infinitySettings();
    const ok = await fetch(s.healthUrl, { headers: { authorization: `Bearer ${s.token}` } });
    expect(ok.status).toBe(200);
    const wrong = await fetch(s.healthUrl, { headers: { authorization: 'Bearer pk_wrong' } });
    expect(wrong.status).toBe(401);
  });

  it("answers the dashboard's variable queries (pilots, then the pilot's devices)", async () => {
    const [pilotVar, deviceVar] = apiDashboard.templating.list as any[];
    const pilots = await infinityRequest(pilotVar.query.infinityQuery, {}, base, base);
    const pilotItems = ((await pilots.json()) as { items: { id: string; name: string }[] }).items;
    expect(pilotItems.map((p) => p.id)).toEqual([fixture.pilotId]);
    const devices = await infinityRequest(
      deviceVar.query.infinityQuery,
      { pilot: fixture.pilotId },
      base,
      base,
    );
    const deviceItems = ((await devices.json()) as { items: { id: string; name: string }[] }).items;
    expect(deviceItems.map((d) => d.id)).toEqual([deviceId]);
  });

  it('lets a browser dashboard on an API_CORS_ORIGINS origin send the bearer header (preflight)', async () => {
    const url = `${platform.apiUrl}/v1/devices/${deviceId}/telemetry?from=${base}&to=${base + MINUTE}`;
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin: GRAFANA_ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(GRAFANA_ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const get = await fetch(url, {
      headers: { origin: GRAFANA_ORIGIN, authorization: `Bearer ${fixture.apiKey}` },
    });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe(GRAFANA_ORIGIN);
    const other = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere.example', 'access-control-request-method': 'GET' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the direct data source (InfluxDB) and its pilot dashboard', () => {
  it("runs the dashboard's InfluxQL: pilots, devices, keys, then the panels", async () => {
    const ds = datasources.find((d) => d.type === 'influxdb');
    expect(ds.jsonData.dbName).toBe('telemetry'); // INFLUX_DATABASE's default; the test uses its own
    const influx = connectInflux(platform.config.influx.url!, platform.config.influx.database);
    const vars: Record<string, string> = { pilot: fixture.pilotId, device: deviceId, key: 'temperature' };
    // Grafana's InfluxQL interpolation: $var, $timeFilter, $__interval.
    const grafana = (q: string) =>
      q
        .replace(/\$timeFilter/g, `time >= ${base}ms AND time < ${base + 30 * MINUTE}ms`)
        .replace(/\$__interval/g, '1m')
        .replace(/\$(\w+)/g, (whole, name) => vars[name] ?? whole);
    const values = async (q: string) =>
      ((await influx.query([grafana(q)])).results?.[0]?.series ?? []).flatMap((s: any) =>
        s.values.map((v: unknown[]) => [...v, s.tags?.device]),
      );

    const [pilotVar, deviceVar, keyVar] = influxDashboard.templating.list as any[];
    expect((await values(pilotVar.query)).map((v) => v[0])).toContain(fixture.pilotId);
    expect((await values(deviceVar.query)).map((v) => v[1])).toEqual([deviceId]);
    expect((await values(keyVar.query)).map((v) => v[0])).toContain('temperature');

    const [series, table] = influxDashboard.panels.map((p: any) => p.targets[0].query);
    const means = await values(series);
    expect(means).toHaveLength(30);
    expect(means[3]).toEqual([base + 3 * MINUTE, 7, deviceId]);
    expect(await values(table)).toEqual([[expect.any(Number), 60, deviceId]]);
  });
});
