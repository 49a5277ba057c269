/** Time and duration grammar, window counting, CSV quoting and Accept negotiation. */
import { describe, expect, it } from 'vitest';
import { csvField, readingsToCsv, wantsCsv } from '../api/telemetry/csv.js';
import { windowCount } from '../api/telemetry/query.js';
import {
  formatTs,
  parseEvery as parseDuration,
  parseInstant,
  TimeParseError,
} from '../api/telemetry/time.js';

describe('parseInstant', () => {
  it('reads RFC 3339 and epoch ms', () => {
    expect(parseInstant('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseInstant('2026-01-01T02:00:00.1234+02:00')).toBe(Date.UTC(2026, 0, 1) + 123);
    expect(parseInstant('2025-12-31T23:30:00-00:30')).toBe(Date.UTC(2026, 0, 1));
    expect(parseInstant('2026-01-01t00:00:00z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseInstant('1767225600000')).toBe(Date.UTC(2026, 0, 1));
    expect(parseInstant('2026-01-01T02:00:00 02:00')).toBe(Date.UTC(2026, 0, 1));
  });
  for (const bad of [
    '',
    '2026-01-01',
    '2026-01-01T00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00',
    ' 1767225600000',
    '1e12',
    '0x10',
    '99999999999999999',
    'now()',
    '2026-01-01T00:00:00Z OR 1=1',
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => expect(() => parseInstant(bad)).toThrow(TimeParseError));
  }
  it('formats RFC 3339 with milliseconds, UTC', () => {
    expect(formatTs(Date.UTC(2026, 0, 1, 1, 2, 3, 4))).toBe('2026-01-01T01:02:03.004Z');
  });
});

describe('parseDuration', () => {
  it('reads one integer and one unit', () => {
    expect(parseDuration('1m')).toBe(60_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
  });
  for (const bad of ['', '0m', '1', 'm', '1.5m', '-1m', '1h30m', '1M', ' 1m', '1m ', '1y', '01m']) {
    it(`refuses ${JSON.stringify(bad)}`, () => expect(() => parseDuration(bad)).toThrow(TimeParseError));
  }
});

describe('windowCount', () => {
  it('counts epoch-aligned windows that [from, to) touches', () => {
    expect(windowCount({ from: 0, to: 60_000 }, 60_000)).toBe(1);
    expect(windowCount({ from: 0, to: 60_001 }, 60_000)).toBe(2);
    expect(windowCount({ from: 30_000, to: 90_000 }, 60_000)).toBe(2);
    expect(windowCount({ from: 5, to: 5 }, 60_000)).toBe(0);
    expect(windowCount({ from: 0, to: 86_400_000 }, 60_000)).toBe(1440);
  });
});

describe('CSV', () => {
  it('quotes only what needs it', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField(1.5)).toBe('1.5');
    expect(csvField(false)).toBe('false');
    expect(csvField(null)).toBe('');
  });
  it('neutralises strings a spreadsheet would run as formulas (OWASP), never numbers', () => {
    expect(csvField('=1+1')).toBe(`"'=1+1"`);
    expect(csvField('@SUM(A1)')).toBe(`"'@SUM(A1)"`);
    expect(csvField('+1')).toBe(`"'+1"`);
    expect(csvField('-3')).toBe(`"'-3"`);
    expect(csvField('\t=1')).toBe(`"'\t=1"`);
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(-3)).toBe('-3');
    expect(csvField('a=b')).toBe('a=b');
  });
  it('uses every key seen, sorted, when none were asked for', () => {
    expect(
      readingsToCsv(
        [
          { ts: 0, values: { b: 1 } },
          { ts: 1, values: { a: 'x' } },
        ],
        undefined,
      ),
    ).toBe('ts,a,b\r\n1970-01-01T00:00:00.000Z,,1\r\n1970-01-01T00:00:00.001Z,x,\r\n');
  });
  it('negotiates on Accept', () => {
    expect(wantsCsv('text/csv')).toBe(true);
    expect(wantsCsv('text/csv;q=0.9, */*;q=0.1')).toBe(true);
    expect(wantsCsv('application/json, text/csv')).toBe(false);
    expect(wantsCsv('application/json;q=0.5, text/csv')).toBe(true);
    expect(wantsCsv('*/*')).toBe(false);
    expect(wantsCsv(undefined)).toBe(false);
  });
});

describe('formatTs', () => {
  it('matches Date#toISOString across days, years and edge times', () => {
    const samples = [
      0,
      1,
      999,
      86_399_999,
      86_400_000,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(2262, 3, 11),
      -1,
      -86_400_001,
    ];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 9_000_000_000_000));
    for (const ms of samples) expect(formatTs(ms), String(ms)).toBe(new Date(ms).toISOString());
  });
});
