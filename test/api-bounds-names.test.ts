// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * Issue 19, item 8: names (partner, pilot, device; device model and firmware version) refuse control
 * characters and bidirectional controls, descriptions refuse them except tabs and line breaks, and
 * country codes must be assigned ISO 3166-1 alpha-2 codes. Each refusal is a 400 naming the field,
 * and nothing is created or changed; names in other scripts (with joiners) stay welcome.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  createDevice,
  createPartner,
  createPilot,
  startTestApi,
  type TestApi,
} from './helpers/api-app.js';

let api: TestApi;
let partner: { id: string; apiKey: string };
let pilot: { id: string };
let device: { id: string };

beforeAll(async () => {
  api = await startTestApi();
  partner = await createPartner(api, 'Names Inc');
  pilot = await createPilot(api, partner.apiKey, 'Names pilot');
  device = await createDevice(api, partner.apiKey, pilot.id, 'names-device');
});
afterAll(async () => {
  await api?.close();
});

/** Each one spoofs or garbles what a person reads. */
const HOSTILE = [
  ['U+202E right-to-left override', 'invoice\u202Egpj.exe', '202E'],
  ['U+2066 left-to-right isolate', 'a\u2066b', '2066'],
  ['U+200F right-to-left mark', 'a\u200Fb', '200F'],
  ['U+061C Arabic letter mark', 'a\u061Cb', '061C'],
  ['BEL', 'ring\u0007', '0007'],
  ['ESC (terminal escapes)', '\u001b[31mred', '001B'],
  ['NUL', 'a\u0000b', '0000'],
  ['C1 control', 'a\u0085b', '0085'],
  ['line separator', 'a\u2028b', '2028'],
  ['a line break inside a name', 'two\nlines', '000A'],
  ['a lone surrogate', 'a\uD800b', 'D800'],
] as const;

/** Rows in a registry table, read straight from the SQLite file. */
function countRows(table: 'partners' | 'pilots' | 'devices'): number {
  const db = new Database(path.join(api.dir, 'registry.db'), { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function expectRefused(res: { status: number; body: any }, path: string, hex: string) {
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('validation_error');
  expect(res.body.error.details).toEqual([
    { path, message: expect.stringContaining(`U+${hex}`), code: 'forbidden_characters' },
  ]);
}

describe('names and labels', () => {
  it.each(HOSTILE)('refuse %s, naming the field, and create nothing', async (_what, text, hex) => {
    const before = countRows('partners');
    expectRefused(
      await call(api.app, 'POST', '/v1/partners', api.adminKey, { name: text, country: 'DE', kind: 'both' }),
      'body.name',
      hex,
    );
    expectRefused(
      await call(api.app, 'POST', '/v1/pilots', partner.apiKey, { name: text }),
      'body.name',
      hex,
    );
    for (const field of ['name', 'model', 'firmwareVersion']) {
      const body = { name: 'ok', [field]: text };
      expectRefused(
        await call(api.app, 'POST', `/v1/pilots/${pilot.id}/devices`, partner.apiKey, body),
        `body.${field}`,
        hex,
      );
      expectRefused(
        await call(api.app, 'PATCH', `/v1/devices/${device.id}`, partner.apiKey, { [field]: text }),
        `body.${field}`,
        hex,
      );
    }
    expect(countRows('partners')).toBe(before);
  });

  it('changed nothing by trying', async () => {
    expect([countRows('partners'), countRows('pilots'), countRows('devices')]).toEqual([1, 1, 1]);
    const pilots = await call(api.app, 'GET', '/v1/pilots', partner.apiKey);
    expect(pilots.body.items.map((p: any) => p.name)).toEqual(['Names pilot']);
    const devices = await call(api.app, 'GET', `/v1/pilots/${pilot.id}/devices`, partner.apiKey);
    expect(devices.body.items).toHaveLength(1);
    expect(devices.body.items[0]).toMatchObject({ name: 'names-device', model: null, firmwareVersion: null });
  });

  it('accept names in any script, with the joiners those scripts need', async () => {
    for (const name of [
      'क्ष-सेंसर',
      'مستشعر الحرارة',
      '温度传感器',
      'Zoë & Søren',
      'family 👨‍👩‍👧',
      'न्\u200Cय',
    ]) {
      const res = await call(api.app, 'POST', `/v1/pilots/${pilot.id}/devices`, partner.apiKey, {
        name,
        model: name,
      });
      expect(res.status, name).toBe(201);
      expect(res.body.name).toBe(name);
    }
  });
});

describe('pilot descriptions', () => {
  it('keep line breaks and tabs, refuse other controls and bidi controls', async () => {
    const ok = await call(api.app, 'POST', '/v1/pilots', partner.apiKey, {
      name: 'described',
      description: 'line one\r\nline two\n\tindented',
    });
    expect(ok.status).toBe(201);
    for (const [, text, hex] of HOSTILE.filter(([what]) => !what.startsWith('a line break'))) {
      expectRefused(
        await call(api.app, 'POST', '/v1/pilots', partner.apiKey, { name: 'x', description: text }),
        'body.description',
        hex,
      );
    }
  });
});

describe('country codes', () => {
  it.each([
    ['XX', 'is not an assigned'],
    ['UK', 'use GB'],
    ['EU', 'is not an assigned'],
    ['ZZ', 'is not an assigned'],
    ['D1', 'expected an ISO 3166-1 alpha-2'],
    ['DEU', 'expected an ISO 3166-1 alpha-2'],
  ])('refuse %s', async (country, message) => {
    const res = await call(api.app, 'POST', '/v1/partners', api.adminKey, {
      name: `P ${country}`,
      country,
      kind: 'both',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { path: 'body.country', message: expect.stringContaining(message), code: expect.any(String) },
    ]);
    // Assigned-looking but unknown codes get their own identifier (the console translates it).
    if (/^[A-Z]{2}$/.test(country)) expect(res.body.error.details[0].code).toBe('unknown_country');
  });

  it('accept assigned codes in any case, stored upper case', async () => {
    for (const [country, stored] of [
      ['in', 'IN'],
      ['CN', 'CN'],
      ['Gb', 'GB'],
      ['ax', 'AX'],
    ]) {
      const res = await call(api.app, 'POST', '/v1/partners', api.adminKey, {
        name: `Partner from ${country}`,
        country,
        kind: 'software',
      });
      expect(res.status, country).toBe(201);
      expect(res.body.country).toBe(stored);
    }
  });
});
