/**
 * The times and durations telemetry queries accept (grammars in core/time.ts), refused with a message
 * naming the expected form; every value reaching InfluxQL is a validated integer of milliseconds.
 */
import { parseDuration, parseRfc3339 } from '../../core/time.js';

/** InfluxDB stores int64 nanoseconds: about 1677-09-21 to 2262-04-11. Times outside cannot exist. */
export const MIN_TIME_MS = -9_223_372_036_854;
export const MAX_TIME_MS = 9_223_372_036_854;

const EPOCH_MS = /^-?\d{1,16}$/;

export class TimeParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeParseError';
  }
}

/**
 * Epoch ms or RFC 3339 -> epoch ms. A space where the offset sign belongs is read as `+`: an
 * unencoded `+02:00` in a URL query string arrives as ` 02:00` (application/x-www-form-urlencoded).
 */
export function parseInstant(input: string, name = 'time'): number {
  const fixed = input.replace(/(:\d{2}(?:\.\d+)?) (\d{2}:\d{2})$/, '$1+$2');
  const ms = EPOCH_MS.test(fixed) ? Number(fixed) : parseRfc3339(fixed);
  if (ms === undefined) {
    throw new TimeParseError(
      `${name}: expected a valid RFC 3339 time (e.g. 2026-01-02T03:04:05Z) or epoch milliseconds, got ${JSON.stringify(input)}`,
    );
  }
  if (!Number.isSafeInteger(ms) || ms < MIN_TIME_MS || ms > MAX_TIME_MS) {
    throw new TimeParseError(
      `${name}: ${JSON.stringify(input)} is outside the storable range (years 1677 to 2262)`,
    );
  }
  return ms;
}

/** `1m` -> 60000. One positive integer and one unit; no fractions, signs, spaces or compounds. */
export function parseEvery(input: string, name = 'duration'): number {
  const ms = parseDuration(input);
  if (ms === undefined) {
    throw new TimeParseError(
      `${name}: expected a positive integer and a unit (ms, s, m, h, d, w), e.g. 1m or 15s, got ${JSON.stringify(input)}`,
    );
  }
  if (ms > MAX_TIME_MS) throw new TimeParseError(`${name}: ${input} is too long`);
  return ms;
}

const DAY_MS = 86_400_000;
let cachedDay = Number.NaN;
let cachedPrefix = '';
const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * Responses: RFC 3339 with milliseconds, UTC (`2026-01-02T03:04:05.000Z`), as `Date#toISOString`
 * gives it. A response holds up to 10,000 times, mostly of the same day: the date part is cached,
 * which makes this several times faster than a Date per item (see bench/telemetry-query.ts).
 */
export function formatTs(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    if (ms < 0 || ms > 253_402_300_799_999) return new Date(ms).toISOString(); // outside years 1970-9999
    cachedDay = day;
    cachedPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  return `${cachedPrefix}${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(rest - s * 1000)}Z`;
}

let asciiDay = Number.NaN;
const asciiPrefix = Buffer.alloc(11);

/**
 * formatTs written as ASCII into `out` at `p`; returns the end. For the windows JSON written from
 * InfluxDB's bytes (windows-json.ts); test/windows-json.test.ts holds it to formatTs.
 */
export function writeTsAscii(out: Buffer, p: number, ms: number): number {
  const day = Math.floor(ms / DAY_MS);
  if (day !== asciiDay) {
    if (ms < 0 || ms > 253_402_300_799_999) return p + out.write(new Date(ms).toISOString(), p, 'latin1');
    asciiDay = day;
    asciiPrefix.write(new Date(day * DAY_MS).toISOString().slice(0, 11), 0, 'latin1');
  }
  for (let i = 0; i < 11; i++) out[p++] = asciiPrefix[i]!;
  // Milliseconds into the day fit an int32: integer division by `| 0`.
  let rest = ms - day * DAY_MS;
  const h = (rest / 3_600_000) | 0;
  rest -= h * 3_600_000;
  const m = (rest / 60_000) | 0;
  rest -= m * 60_000;
  const s = (rest / 1000) | 0;
  rest -= s * 1000;
  p = digits2(out, p, h);
  out[p++] = 0x3a;
  p = digits2(out, p, m);
  out[p++] = 0x3a;
  p = digits2(out, p, s);
  out[p++] = 0x2e;
  const hundreds = (rest / 100) | 0;
  out[p++] = 0x30 + hundreds;
  p = digits2(out, p, rest - hundreds * 100);
  out[p++] = 0x5a;
  return p;
}

function digits2(out: Buffer, p: number, n: number): number {
  const tens = (n / 10) | 0;
  out[p] = 0x30 + tens;
  out[p + 1] = 0x30 + n - tens * 10;
  return p + 2;
}
