/**
 * From validated query strings to typed query parts, with a 400 naming the parameter for anything
 * that is well-formed but meaningless (an impossible date, `from` after `to`, too many windows,
 * `mean` of a string key).
 */
import { KEY_PATTERN, RESERVED_KEYS, type ValueType } from '../../core/reading.js';
import type { KeyTypeStore } from '../../core/registry/types.js';
import { type FieldCode, validationError } from '../errors.js';
import { type Aggregate, NUMERIC_AGGREGATES, type TimeRange, windowCount } from './query.js';
import { DEFAULT_LIMIT, MAX_KEYS, MAX_LIMIT, MAX_WINDOWS } from './schemas.js';
import { parseEvery, parseInstant, TimeParseError } from './time.js';

/** Default range when neither `from` nor `to` is given: the last 24 hours. */
export const DEFAULT_RANGE_MS = 24 * 3_600_000;

const bad = (path: string, message: string, code: FieldCode) =>
  validationError([{ path: `query.${path}`, message, code }]);

function instant(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseInstant(value, name);
  } catch (err) {
    if (err instanceof TimeParseError) throw bad(name, err.message.replace(`${name}: `, ''), 'invalid_time');
    throw err;
  }
}

/** `[from, to)`: `to` defaults to now, `from` to `to` minus the default range. */
export function resolveRange(
  q: { from?: string | undefined; to?: string | undefined },
  now: number,
  defaultRangeMs = DEFAULT_RANGE_MS,
): TimeRange {
  const to = instant(q.to, 'to') ?? now;
  const from = instant(q.from, 'from') ?? to - defaultRangeMs;
  if (from > to) throw bad('from', 'must not be after to', 'from_after_to');
  return { from, to };
}

export function resolveEvery(every: string): number {
  try {
    return parseEvery(every, 'every');
  } catch (err) {
    if (err instanceof TimeParseError)
      throw bad('every', err.message.replace('every: ', ''), 'invalid_duration');
    throw err;
  }
}

export function checkWindowCount(range: TimeRange, everyMs: number, every: string): void {
  const n = windowCount(range, everyMs);
  if (n > MAX_WINDOWS) {
    throw bad(
      'every',
      `at most ${MAX_WINDOWS} windows per request; this range holds ${n} windows of ${every}: widen every or narrow from/to`,
      'too_many_windows',
    );
  }
}

export function parseKeys(value: string | undefined, param = 'keys'): string[] | undefined {
  if (value === undefined) return undefined;
  const keys = [...new Set(value.split(','))];
  if (keys.length > MAX_KEYS) throw bad(param, `at most ${MAX_KEYS} keys`, 'too_many_keys');
  for (const k of keys) checkKey(k, param);
  return keys;
}

export function checkKey(k: string, param: string): void {
  if (!KEY_PATTERN.test(k)) {
    throw bad(
      param,
      `${JSON.stringify(k.slice(0, 70))} is not a key: expected a letter, then letters, digits, _ . or -, at most 64 characters`,
      'invalid_key',
    );
  }
  if (RESERVED_KEYS.has(k))
    throw bad(param, `${JSON.stringify(k)} is reserved and never a value key`, 'reserved_key');
}

export function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
    throw bad('limit', `expected an integer from 1 to ${MAX_LIMIT}`, 'invalid_value');
  return n;
}

/** mean, min, max and sum only make sense (and only work in InfluxDB 1.6) over number keys. */
export function checkAggregateTypes(
  agg: Aggregate,
  keys: string[],
  types: Map<string, ValueType>,
  param = 'keys',
): void {
  if (!NUMERIC_AGGREGATES.includes(agg)) return;
  for (const k of keys) {
    const t = types.get(k);
    if (t !== undefined && t !== 'number') {
      throw bad(
        param,
        `key ${JSON.stringify(k)} holds ${t}s; agg=${agg} needs numbers (use first, last or count)`,
        'agg_needs_numbers',
      );
    }
  }
}

/**
 * What to select without `keys`: the device's own keys (at most TELEMETRY_MAX_KEYS_PER_DEVICE), not
 * every key of the pilot, which other devices may have filled with thousands; for mean, min, max and
 * sum only its number keys (as `agg(*)` does). Undefined for devices registered before keys were
 * tracked per device: they select every key.
 */
export async function ownFields(
  registry: Pick<KeyTypeStore, 'getDeviceKeys'>,
  device: { id: string },
  agg?: Aggregate,
): Promise<string[] | undefined> {
  const own = await registry.getDeviceKeys(device.id);
  if (!own.complete) return undefined;
  const numeric = agg !== undefined && NUMERIC_AGGREGATES.includes(agg);
  return [...own.keys].filter(([, type]) => !numeric || type === 'number').map(([key]) => key);
}
