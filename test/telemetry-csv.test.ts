// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/** Telemetry reads through the API: CSV, membership (404 for strangers) and the OpenAPI description. */
import { describe, expect, it } from 'vitest';
import { call } from './helpers/api-app.js';
import { iso, MIN, T0, useSeededTelemetry } from './helpers/telemetry-data.js';

const { f, get, range, dev } = useSeededTelemetry();

describe('CSV', () => {
  it('raw: header ts,keys and RFC 4180 quoting', async () => {
    const res = await f.api.app.inject({
      url: `${dev()}?from=${T0 + 5 * MIN}&to=${T0 + 5 * MIN + 20_000}&keys=temp,door`,
      headers: { authorization: `Bearer ${f.key}`, accept: 'text/csv' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.body).toBe(
      'ts,temp,door\r\n' +
        `${iso(T0 + 5 * MIN)},30,"a,""b""\nc"\r\n` +
        `${iso(T0 + 5 * MIN + 10_000)},31,\r\n`,
    );
  });

  it('raw paging puts the cursor in a header', async () => {
    const res = await f.api.app.inject({
      url: `${dev()}?${range}&limit=2&keys=temp`,
      headers: { authorization: `Bearer ${f.key}`, accept: 'text/csv' },
    });
    expect(res.body.split('\r\n')).toHaveLength(4);
    const next = await get(`${dev()}?${range}&limit=2&keys=temp&cursor=${res.headers['x-next-cursor']}`);
    expect(next.body.items[0].ts).toBe(iso(T0 + 20_000));
  });

  it('aggregated windows and pilot series', async () => {
    const headers = { authorization: `Bearer ${f.key}`, accept: 'text/csv' };
    const win = await f.api.app.inject({
      url: `${dev()}?${range}&keys=temp&every=5m&agg=min&fill=null`,
      headers,
    });
    expect(win.body).toBe(
      `ts,temp\r\n${iso(T0)},0\r\n${iso(T0 + 5 * MIN)},30\r\n${iso(T0 + 10 * MIN)},100\r\n`,
    );
    const pilot = await f.api.app.inject({
      url: `/v1/pilots/${f.pilotId}/telemetry?key=temp&every=10m&agg=count&${range}`,
      headers,
    });
    const lines = pilot.body.trim().split('\r\n');
    expect(lines[0]).toBe('ts,device,temp');
    expect(lines.slice(1).sort()).toEqual(
      [`${iso(T0)},${f.d1.id},60`, `${iso(T0 + 10 * MIN)},${f.d1.id},1`, `${iso(T0)},${f.d2.id},10`].sort(),
    );
  });
});

describe('membership', () => {
  it('answers 404 to a partner outside the pilot on every read route, and 401 without a key', async () => {
    const urls = [
      `${dev()}?${range}`,
      `${dev()}?${range}&every=1m`,
      `${dev()}/latest`,
      `/v1/pilots/${f.pilotId}/telemetry?key=temp&every=1m`,
      `${dev()}/stream`,
      `/v1/pilots/${f.pilotId}/telemetry/stream`,
    ];
    for (const url of urls) {
      const res = await get(url, f.outsiderKey);
      expect(res.status, url).toBe(404);
      expect(res.raw).not.toContain('temp"');
      expect((await call(f.api.app, 'GET', url)).status, url).toBe(401);
    }
    // And the outsider's own data stays its own.
    const own = await get(`/v1/devices/${f.outsiderDeviceId}/telemetry?${range}`, f.outsiderKey);
    expect(own.body.items).toEqual([{ ts: iso(T0), values: { temp: -1 } }]);
  });
});

describe('OpenAPI', () => {
  it('documents every telemetry query parameter with an example', async () => {
    const res = await call(f.api.app, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    const paths = res.body.paths;
    const routes = [
      ['/v1/devices/{deviceId}/telemetry', 'get'],
      ['/v1/devices/{deviceId}/telemetry/latest', 'get'],
      ['/v1/pilots/{pilotId}/telemetry', 'get'],
    ] as const;
    for (const [path, method] of routes) {
      const query = paths[path][method].parameters.filter((p: any) => p.in === 'query');
      expect(query.length, path).toBeGreaterThan(0);
      for (const p of query) {
        expect(p.schema?.example ?? p.example, `${path} ${p.name}`).toBeDefined();
        expect(p.description ?? p.schema?.description, `${path} ${p.name}`).toBeTruthy();
      }
    }
    expect(paths['/v1/devices/{deviceId}/telemetry/stream'].get).toBeDefined();
    expect(paths['/v1/pilots/{pilotId}/telemetry/stream'].get).toBeDefined();
  });
});
