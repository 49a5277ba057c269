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
const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

const scratch = Buffer.alloc(32);

/**
 * Responses: RFC 3339 with milliseconds, UTC (`2026-01-02T03:04:05.000Z`), as `Date#toISOString`
 * gives it: writeTsAscii's bytes as a string, several times faster than a Date per item.
 */
export function formatTs(ms: number): string {
  return scratch.toString('latin1', 0, writeTsAscii(scratch, 0, ms));
}

let asciiDay = Number.NaN;
const asciiPrefix = Buffer.alloc(11);

/** "HH:MM:" for each minute of a day, "SS." for each second, "mmm" for each millisecond. */
const MINUTES = Buffer.from(
  Array.from({ length: 1440 }, (_, m) => `${pad2(Math.floor(m / 60))}:${pad2(m % 60)}:`).join(''),
  'latin1',
);
const SECONDS = Buffer.from(Array.from({ length: 60 }, (_, s) => `${pad2(s)}.`).join(''), 'latin1');
const MILLIS = Buffer.from(Array.from({ length: 1000 }, (_, ms) => pad3(ms)).join(''), 'latin1');

/**
 * `ms` as RFC 3339 ASCII (what formatTs returns) into `out` at `p`; returns the end. Used by the
 * windows JSON written from InfluxDB's bytes (windows-write.ts) and by formatTs;
 * test/windows-json.test.ts holds both to Date#toISOString. The time of day comes from tables rather
 * than digit arithmetic: it is a quarter of the transcoder's time.
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
  const rest = ms - day * DAY_MS;
  const minute = (rest / 60_000) | 0;
  const inMinute = rest - minute * 60_000;
  const second = (inMinute / 1000) | 0;
  const milli = inMinute - second * 1000;
  let t = minute * 6;
  out[p] = MINUTES[t]!;
  out[p + 1] = MINUTES[t + 1]!;
  out[p + 2] = MINUTES[t + 2]!;
  out[p + 3] = MINUTES[t + 3]!;
  out[p + 4] = MINUTES[t + 4]!;
  out[p + 5] = MINUTES[t + 5]!;
  t = second * 3;
  out[p + 6] = SECONDS[t]!;
  out[p + 7] = SECONDS[t + 1]!;
  out[p + 8] = SECONDS[t + 2]!;
  t = milli * 3;
  out[p + 9] = MILLIS[t]!;
  out[p + 10] = MILLIS[t + 1]!;
  out[p + 11] = MILLIS[t + 2]!;
  out[p + 12] = 0x5a;
  return p + 13;
}
