/**
 * The ingest fast path (ingest/line-scan.ts) against the reference rules (the zod schemas,
 * parseTelemetryPayloadWithSchemas, and toPoint): on generated payloads, valid and invalid, the fast
 * path either hands the payload to the general path or accepts exactly what the schemas accept and
 * stores the same values. Numbers are compared as the doubles InfluxDB stores: the fast path copies a
 * number's text (`21.50`), the general path writes String(21.5); both parse to the same float64.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../core/reading.js';
import { parseTelemetryPayloadWithSchemas } from '../core/telemetry.js';
import { KeyTypeChecker } from '../ingest/key-types.js';
import { type LayoutCheck, scanLines } from '../ingest/line-scan.js';
import { linePrefix, toPoint } from '../ingest/points.js';
import { createTestRegistry } from './helpers/broker.js';
import { payloadArb, plainPayload } from './helpers/payload-arbitraries.js';

const PILOT = 'plt_abc';
const DEVICE = 'dev_xyz';
const PREFIX = linePrefix(PILOT, DEVICE);
const RECEIVED_AT = 1_732_240_000_123;
const everyLayout: LayoutCheck = () => true;

/** A line's fields and time: numbers as doubles, strings and booleans as they are. */
function parseLine(line: string): { fields: [string, number | string | boolean][]; time: string } {
  expect(line.startsWith(PREFIX)).toBe(true);
  const fields: [string, number | string | boolean][] = [];
  let i = PREFIX.length;
  for (;;) {
    const eq = line.indexOf('=', i);
    const key = line.slice(i, eq);
    i = eq + 1;
    let value: number | string | boolean;
    if (line[i] === '"') {
      let j = i + 1;
      let text = '';
      for (; line[j] !== '"'; j++) {
        if (line[j] === '\\') j++;
        text += line[j];
      }
      value = text;
      i = j + 1;
    } else {
      let j = i;
      while (line[j] !== ',' && line[j] !== ' ') j++;
      const raw = line.slice(i, j);
      value = raw === 'true' ? true : raw === 'false' ? false : Number(raw);
      if (typeof value === 'number') expect(Number.isFinite(value), raw).toBe(true);
      i = j;
    }
    fields.push([key, value]);
    if (line[i] === ' ') return { fields, time: line.slice(i + 1) };
    i++;
  }
}

/** The reference: the zod schemas' readings as toPoint writes them, or undefined when any is refused. */
function reference(payload: Buffer) {
  const parsed = parseTelemetryPayloadWithSchemas(payload, RECEIVED_AT);
  return {
    errors: parsed.errors,
    lines: parsed.readings.map((r) => toPoint(PILOT, DEVICE, r).line),
  };
}

/** The property: the fast path declines, or accepts what the schemas accept, with the same values. */
function agrees(payload: Buffer, accepts: LayoutCheck = everyLayout): boolean {
  const fast = scanLines(payload, RECEIVED_AT, PREFIX, accepts);
  if (fast === undefined) return false;
  const ref = reference(payload);
  expect(ref.errors, `fast path accepted what the schemas refuse: ${payload}`).toEqual([]);
  const lines = fast.text.split('\n');
  expect(fast.count).toBe(lines.length);
  expect(lines.map(parseLine)).toEqual(ref.lines.map(parseLine));
  return true;
}

describe('the ingest fast path agrees with the zod schemas', () => {
  it('takes plain device payloads and stores what the schemas store', () => {
    fc.assert(
      fc.property(plainPayload, (value) => {
        const json = JSON.stringify(value);
        const hasReserved = /"(time|device)":/.test(json);
        const taken = agrees(Buffer.from(json));
        // Everything plain (no reserved key) is for the fast path: the test covers it.
        if (!hasReserved) expect(taken, json).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('never accepts what the schemas refuse, on generated valid and invalid payloads', () => {
    let taken = 0;
    fc.assert(
      fc.property(payloadArb, (text) => {
        if (agrees(Buffer.from(text))) taken++;
      }),
      { numRuns: 5000 },
    );
    expect(taken).toBeGreaterThan(100); // the generator reaches the fast path, not only the fallback
  });

  it('never accepts a damaged payload the schemas refuse', () => {
    const damaged = fc
      .tuple(
        plainPayload,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('replace', 'insert', 'delete'),
      )
      .map(([value, at, byte, how]) => {
        const b = Buffer.from(JSON.stringify(value));
        const i = at % b.length;
        if (how === 'replace') b[i] = byte;
        if (how === 'delete') return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
        if (how === 'insert') return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
        return b;
      });
    fc.assert(
      fc.property(damaged, (payload) => {
        agrees(payload);
      }),
      { numRuns: 5000 },
    );
  });

  it('declines a layout the key check does not store as it is', () => {
    const payload = Buffer.from('[{"ts":1,"values":{"a":1}},{"ts":2,"values":{"a":"x"}}]');
    const seen: string[] = [];
    const onlyNumbers: LayoutCheck = (keys, types) => {
      seen.push(`${keys.join()}:${types.join()}`);
      return types.every((t) => t === 'number');
    };
    expect(scanLines(payload, RECEIVED_AT, PREFIX, onlyNumbers)).toBeUndefined();
    expect(seen).toEqual(['a:number', 'a:string']);
    // One check per layout, not per reading.
    seen.length = 0;
    const same = Buffer.from(
      '[{"ts":1,"values":{"a":1}},{"ts":2,"values":{"a":2}},{"ts":3,"values":{"a":3}}]',
    );
    expect(scanLines(same, RECEIVED_AT, PREFIX, onlyNumbers)?.count).toBe(3);
    expect(seen).toEqual(['a:number']);
  });
});

describe("the fast path's key check", () => {
  it('says "as it is" only when the full key check would store the reading unchanged at once', async () => {
    const reg = await createTestRegistry();
    try {
      const limits = { perReading: 3, perDevice: 5, perPilot: 6 };
      const checker = new KeyTypeChecker(reg.registry, limits);
      const devices = await Promise.all([reg.addDevice(), reg.addDevice()]);
      const reading = fc.record({
        device: fc.constantFrom(0, 1),
        values: fc.dictionary(
          fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
          fc.oneof(
            { weight: 8, arbitrary: fc.integer() },
            { weight: 1, arbitrary: fc.boolean() },
            { weight: 1, arbitrary: fc.constantFrom('s', 't') },
          ),
          { minKeys: 1, maxKeys: 5 },
        ),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(reading, { minLength: 1, maxLength: 30 }), async (readings) => {
          for (const r of readings) {
            const deviceId = devices[r.device]!.id;
            const keys = Object.keys(r.values);
            const types = keys.map((k) => typeof r.values[k] as 'number' | 'boolean' | 'string');
            const asIs = checker.storesAsIs(reg.pilotId, deviceId, keys, types);
            const verdict = checker.check(reg.pilotId, deviceId, { ts: 1, values: r.values } as Reading);
            if (asIs) expect(verdict).toBeUndefined();
            const settled = await verdict;
            // The other way round, once the caches are warm: stored as it is => the fast path takes it.
            if (settled === undefined && !(verdict instanceof Promise)) expect(asIs).toBe(true);
          }
        }),
        { numRuns: 60 },
      );
    } finally {
      await reg.close();
    }
  });
});
