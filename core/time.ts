/** The platform's one RFC 3339 parser and one duration grammar (payload `ts`, query times, `every`, sim flags). */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** An RFC 3339 time to epoch ms (finer digits truncated), or undefined, also for Feb 30 or 24:00. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  // Date.UTC rolls 2026-02-30 over to March: a round trip catches impossible days.
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCMonth() !== mo - 1) return undefined;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    t -= (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return t;
}

export const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
export type DurationUnit = keyof typeof DURATION_UNITS_MS;
/** The strict form: a positive integer and one unit (`1m`, `250ms`), as the API's `every` takes it. */
export const DURATION_PATTERN = /^([1-9]\d{0,9})(ms|s|m|h|d|w)$/;
/** The lenient form (simulator flags): also fractions, zero and a bare number of milliseconds. */
const LENIENT_DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/;

/** A duration in ms, or undefined when `text` is not one (see DURATION_PATTERN). */
export function parseDuration(text: string, opts: { lenient?: boolean } = {}): number | undefined {
  const m = (opts.lenient ? LENIENT_DURATION : DURATION_PATTERN).exec(text);
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * DURATION_UNITS_MS[(m[2] ?? 'ms') as DurationUnit]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}
