/**
 * Strict parsing of the times and durations that telemetry queries accept.
 *
 * Instants: RFC 3339 (`2026-01-02T03:04:05.678Z`, `...+02:00`) or epoch milliseconds (`1767322800000`).
 * Fractions finer than a millisecond are truncated: readings are stored with millisecond precision.
 * Durations: one positive integer and one unit (`ms`, `s`, `m`, `h`, `d`, `w`), e.g. `1m`, `15s`, `1h`.
 * Anything else is refused with a message naming the expected form; nothing reaches InfluxQL
 * unparsed (every value used in a query is a validated integer number of milliseconds).
 */

/** InfluxDB stores int64 nanoseconds: about 1677-09-21 to 2262-04-11. Times outside cannot exist. */
export const MIN_TIME_MS = -9_223_372_036_854;
export const MAX_TIME_MS = 9_223_372_036_854;

const EPOCH_MS = /^-?\d{1,16}$/;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

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
  const fixed = input.replace(/(:\d{2}(?:\.\d{1,9})?) (\d{2}:\d{2})$/, '$1+$2');
  if (EPOCH_MS.test(fixed)) return checkRange(Number(fixed), name, input);
  const m = RFC3339.exec(fixed);
  if (!m) {
    throw new TimeParseError(
      `${name}: expected an RFC 3339 time (e.g. 2026-01-02T03:04:05Z) or epoch milliseconds, got ${JSON.stringify(input)}`,
    );
  }
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m as unknown as (string | undefined)[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const ms = frac ? Number(frac.padEnd(3, '0').slice(0, 3)) : 0;
  const offH = Number(oh ?? 0);
  const offM = Number(om ?? 0);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || offH > 23 || offM > 59) {
    throw new TimeParseError(`${name}: ${JSON.stringify(input)} is not a valid date and time`);
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 2026-02-30 over to March: a round trip catches impossible days.
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new TimeParseError(`${name}: ${JSON.stringify(input)} is not a valid date`);
  }
  const offset = (sign === '-' ? -1 : 1) * (offH * 60 + offM) * 60_000;
  return checkRange(utc - (sign ? offset : 0), name, input);
}

function checkRange(ms: number, name: string, input: string): number {
  if (!Number.isSafeInteger(ms) || ms < MIN_TIME_MS || ms > MAX_TIME_MS) {
    throw new TimeParseError(
      `${name}: ${JSON.stringify(input)} is outside the storable range (years 1677 to 2262)`,
    );
  }
  return ms;
}

const DURATION = /^([1-9]\d{0,9})(ms|s|m|h|d|w)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `1m` -> 60000. One positive integer and one unit; no fractions, signs, spaces or compounds. */
export function parseDuration(input: string, name = 'duration'): number {
  const m = DURATION.exec(input);
  if (!m) {
    throw new TimeParseError(
      `${name}: expected a positive integer and a unit (ms, s, m, h, d, w), e.g. 1m or 15s, got ${JSON.stringify(input)}`,
    );
  }
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(ms) || ms > MAX_TIME_MS)
    throw new TimeParseError(`${name}: ${input} is too long`);
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
