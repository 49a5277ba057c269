/** Dates and numbers in the chosen language's locale and the browser's time zone (Intl). */
import { locale, t } from './i18n/index.js';

const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>();
function cached<T extends Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>(
  kind: string,
  make: (loc: string) => T,
): T {
  const k = `${kind}|${locale()}`;
  let f = cache.get(k) as T | undefined;
  if (!f) {
    f = make(locale());
    cache.set(k, f);
  }
  return f;
}

const toMs = (v: string | number | Date) => (typeof v === 'number' ? v : new Date(v).getTime());

export function formatDateTime(v: string | number | Date): string {
  return cached('dt', (l) => new Intl.DateTimeFormat(l, { dateStyle: 'medium', timeStyle: 'medium' })).format(
    toMs(v),
  );
}

export function formatTime(v: string | number | Date): string {
  return cached('t', (l) => new Intl.DateTimeFormat(l, { timeStyle: 'medium' })).format(toMs(v));
}

export function formatNumber(n: number): string {
  return cached('n', (l) => new Intl.NumberFormat(l, { maximumFractionDigits: 3 })).format(n);
}

export function formatValue(v: number | boolean | string | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return v ? t('value.true') : t('value.false');
  return v;
}

/** "3 minutes ago", in the chosen language. */
export function formatAgo(v: string | number, now = Date.now()): string {
  const s = Math.round((toMs(v) - now) / 1000);
  const rtf = cached('r', (l) => new Intl.RelativeTimeFormat(l, { numeric: 'auto' }));
  const abs = Math.abs(s);
  if (abs < 60) return rtf.format(s, 'second');
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86_400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86_400), 'day');
}

/** The country's name in the chosen language (ISO 3166-1 alpha-2 in, e.g. "印度" for IN). */
export function countryName(code: string): string {
  try {
    return new Intl.DisplayNames([locale()], { type: 'region' }).of(code) ?? code;
  } catch {
    return code;
  }
}

/** A `datetime-local` input's value for an instant, in the browser's time zone. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** An API window (`4500ms`, `90s`) in words: "90 seconds", "1.5 minutes", "90秒钟". */
export function formatEvery(every: string): string {
  const m = /^(\d+)(ms|s)$/.exec(every);
  if (!m) return every;
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  const [value, unit] =
    ms < 1000
      ? [ms, 'millisecond']
      : ms < 120_000
        ? [ms / 1000, 'second']
        : ms < 7_200_000
          ? [ms / 60_000, 'minute']
          : [ms / 3_600_000, 'hour'];
  return new Intl.NumberFormat(locale(), {
    style: 'unit',
    unit,
    unitDisplay: 'long',
    maximumFractionDigits: 1,
  }).format(value);
}
