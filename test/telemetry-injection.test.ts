// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * InfluxQL injection attempts in every parameter of every telemetry route. Each must be refused
 * (400, or 404 for a path id) before any query runs; afterwards the database, the data and the
 * other pilot's data are untouched. The query builder also refuses unchecked input on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildLatestQueries,
  buildPilotWindowQuery,
  buildRawQuery,
  buildWindowQuery,
  UnsafeQueryInputError,
} from '../api/telemetry/query.js';
import { call } from './helpers/api-app.js';
import { startTelemetryFixture, type TelemetryFixture, writeReadings } from './helpers/telemetry.js';

const T0 = Date.UTC(2026, 0, 1);
let f: TelemetryFixture;

beforeAll(async () => {
  f = await startTelemetryFixture({ routes: { now: () => T0 + 3_600_000 } });
  await writeReadings(f, f.pilotId, f.d1.id, [
    { ts: T0, values: { temp: 1 } },
    { ts: T0 + 1000, values: { temp: 2 } },
  ]);
  await writeReadings(f, f.outsiderPilotId, f.outsiderDeviceId, [{ ts: T0, values: { secret: 42 } }]);
});
afterAll(async () => f?.close());

const ATTACKS = [
  `0; DROP DATABASE ${'x'}`,
  "1' OR '1'='1",
  '"; DROP MEASUREMENT "x',
  'now() - 1d',
  '0ms OR time > 0',
  'temp") FROM /.*/ --',
  '*',
  'temp,"device"',
  'time',
  'device',
  '1m) fill(none); DROP DATABASE x',
  'mean("temp")',
  'asc; DROP',
  'none)',
  '1e3',
  '-1',
  '\\',
  'temp\nSELECT',
  '%00',
];

const enc = encodeURIComponent;

async function expectRefused(url: string) {
  const res = await call(f.api.app, 'GET', url, f.key);
  expect([400, 404], `${url} -> ${res.status} ${res.raw}`).toContain(res.status);
  expect(res.raw).not.toContain('secret');
  return res;
}

describe('every parameter refuses hostile input', () => {
  const dev = () => `/v1/devices/${f.d1.id}/telemetry`;
  const pilot = () => `/v1/pilots/${f.pilotId}/telemetry`;
  const params: [string, () => string, string][] = [
    ['from', dev, ''],
    ['to', dev, ''],
    ['keys', dev, ''],
    ['limit', dev, ''],
    ['order', dev, ''],
    ['cursor', dev, ''],
    ['every', dev, ''],
    ['agg', dev, '&every=1m'],
    ['fill', dev, '&every=1m'],
    ['keys', () => `${dev()}/latest`, ''],
    ['key', pilot, '&every=1m'],
    ['every', pilot, '&key=temp'],
    ['agg', pilot, '&key=temp&every=1m'],
    ['fill', pilot, '&key=temp&every=1m'],
    ['from', pilot, '&key=temp&every=1m'],
    ['to', pilot, '&key=temp&every=1m'],
  ];
  for (const [name, base, extra] of params) {
    it(`${name} on ${base === dev ? 'device' : base === pilot ? 'pilot' : 'latest'}`, async () => {
      for (const attack of ATTACKS) {
        // Skip the few strings that are legitimate values of this parameter.
        if (name === 'limit' && /^\d+$/.test(attack)) continue;
        if (name === 'every' && /^[1-9]\d*(ms|s|m|h|d|w)$/.test(attack)) continue;
        if ((name === 'from' || name === 'to') && /^-?\d+$/.test(attack)) continue;
        const res = await expectRefused(`${base()}?${name}=${enc(attack)}${extra}`);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('validation_error');
      }
    });
  }

  it('unknown and repeated parameters', async () => {
    const res = await expectRefused(`${dev()}?q=${enc('SELECT * FROM /.*/')}`);
    expect(res.status).toBe(400);
    expect((await expectRefused(`${dev()}?keys=temp&keys=${enc('x" FROM')}`)).status).toBe(400);
  });

  it('path ids', async () => {
    for (const attack of ["dev_x' OR '1'='1", 'dev_x"; DROP DATABASE x', `${f.d1.id}' OR device=~/.*/`]) {
      expect((await expectRefused(`/v1/devices/${enc(attack)}/telemetry`)).status).toBe(404);
      expect((await expectRefused(`/v1/devices/${enc(attack)}/telemetry/latest`)).status).toBe(404);
      expect((await expectRefused(`/v1/pilots/${enc(attack)}/telemetry?key=temp&every=1m`)).status).toBe(404);
    }
  });

  it('leaves the database and data as they were', async () => {
    const res = await call(f.api.app, 'GET', `${dev()}?from=${T0}&to=${T0 + 2000}`, f.key);
    expect(res.body.items).toEqual([
      { ts: new Date(T0).toISOString(), values: { temp: 1 } },
      { ts: new Date(T0 + 1000).toISOString(), values: { temp: 2 } },
    ]);
    const dbs = await f.influx.client.getDatabaseNames();
    expect(dbs).toContain(f.influx.database);
    const other = await f.influx.client.queryRaw(`SELECT count(*) FROM "${f.outsiderPilotId}"`);
    expect(JSON.stringify(other)).toContain('"count_secret"');
  });
});

describe('the query builder itself refuses unchecked input', () => {
  const base = { pilotId: 'plt_abc', deviceId: 'dev_abc', from: 0, to: 1000, order: 'asc' as const };
  const cases: [string, () => unknown][] = [
    ['device id', () => buildRawQuery({ ...base, deviceId: "dev_a' OR '1'='1", keys: undefined, limit: 1 })],
    ['pilot id', () => buildRawQuery({ ...base, pilotId: 'plt_a"; DROP', keys: undefined, limit: 1 })],
    ['key', () => buildRawQuery({ ...base, keys: ['a"b'], limit: 1 })],
    ['reserved key', () => buildRawQuery({ ...base, keys: ['device'], limit: 1 })],
    ['time', () => buildRawQuery({ ...base, from: 0.5, keys: undefined, limit: 1 })],
    ['limit', () => buildRawQuery({ ...base, keys: undefined, limit: Number.NaN })],
    [
      'aggregate',
      () =>
        buildWindowQuery({ ...base, keys: undefined, everyMs: 1, agg: 'mean(*)) --' as never, fill: 'none' }),
    ],
    [
      'fill',
      () => buildWindowQuery({ ...base, keys: undefined, everyMs: 1, agg: 'mean', fill: 'x) ;' as never }),
    ],
    ['every', () => buildWindowQuery({ ...base, keys: undefined, everyMs: 0, agg: 'mean', fill: 'none' })],
    [
      'pilot key',
      () =>
        buildPilotWindowQuery({
          pilotId: 'plt_a',
          key: 'x")',
          from: 0,
          to: 1,
          everyMs: 1,
          agg: 'max',
          fill: 'none',
        }),
    ],
    ['latest key', () => buildLatestQueries({ pilotId: 'plt_a', deviceId: 'dev_a' }, ['a b'])],
  ];
  for (const [what, build] of cases) {
    it(what, () => expect(build).toThrow(UnsafeQueryInputError));
  }

  it('quotes what it accepts', () => {
    expect(buildRawQuery({ ...base, keys: ['temp', 'a.b-c'], limit: 10, order: 'desc' })).toBe(
      `SELECT "temp", "a.b-c" FROM "plt_abc" WHERE "device" = 'dev_abc' AND time >= 0ms AND time < 1000ms ORDER BY time DESC LIMIT 11`,
    );
  });
});
