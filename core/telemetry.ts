/**
 * The contract's telemetry payload: what a device sends over MQTT (`devices/{id}/telemetry`) or
 * HTTP (`POST /v1/devices/{id}/telemetry`). Ingest and the API's HTTP ingest both parse through
 * `parseTelemetryPayload`, so the two paths accept and refuse exactly the same things.
 *
 * ## Shapes, and how they are told apart
 * The payload must be UTF-8 JSON nested at most MAX_JSON_DEPTH (64) levels deep (else refused whole).
 * Then, in this order:
 * 1. A JSON **array** is a batch: every element must be a shape-2 reading object. Elements are
 *    validated one by one: a bad element is refused, the good ones are kept. An empty array is refused.
 * 2. A JSON **object with a `values` property whose value is an object (not an array, not null)** is
 *    one reading `{"ts": ..., "values": {...}}`. `ts` is required; no other property is allowed.
 * 3. Any **other JSON object** is a flat reading `{"temperature": 21.5}`: every property is a value,
 *    stamped with `receivedAt` (the broker's receive time, which travels with the message, so a
 *    redelivery gets the same stamp and is stored once). A flat object may not contain `ts`
 *    (refused, with a hint to use shape 2), so a misplaced timestamp is never stored as a value.
 * 4. Anything else (a number, string, null, true) is refused.
 *
 * ## A reading
 * - `ts`: epoch milliseconds (an integer from 0 to 9223372036854, the last millisecond InfluxDB can
 *   store) or an RFC 3339 string (`2024-11-22T01:02:03.123Z`, `...+02:00`); sub-millisecond digits are
 *   truncated.
 * - `values`: at least one key. Keys match `^[A-Za-z][A-Za-z0-9_.-]{0,63}$`; `time` and `device` are
 *   reserved (InfluxDB's time column and our device tag); any other key, `__proto__` too, is refused,
 *   never dropped. Values: a finite number, a boolean or a string of at most 64 KiB (InfluxDB's limit).
 * - A reading is all or nothing: one bad key or value refuses that whole reading (and names it).
 */
import { z } from 'zod';
import { jsonDepthExceededAt, MAX_JSON_DEPTH } from './json-depth.js';
import { parseRfc3339 } from './rfc3339.js';

export { parseRfc3339 };
export type TelemetryValue = number | boolean | string;
/**
 * Parsing builds every reading with exactly these two properties, in this order: ingest serialises
 * readings as they are for the live feed (ingest/fanout.ts).
 */
export interface Reading {
  /** Epoch milliseconds. */
  ts: number;
  values: Record<string, TelemetryValue>;
}

export const KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['time', 'device']);
/** InfluxDB 1.x refuses string fields longer than 64 KiB. */
export const MAX_STRING_BYTES = 64 * 1024;
/** The last millisecond InfluxDB 1.x can store (int64 nanoseconds, 2262-04-11). */
export const MAX_TS_MS = 9_223_372_036_854;
/** How much of a refused payload is kept with its device error. */
export const PAYLOAD_PREFIX_BYTES = 200;

const TS_MESSAGE = `ts: expected epoch milliseconds (an integer from 0 to ${MAX_TS_MS}) or an RFC 3339 string`;

export const tsSchema = z
  .union([z.number(), z.string()], { error: TS_MESSAGE })
  .transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : parseRfc3339(v);
    if (ms === undefined || !Number.isSafeInteger(ms) || ms < 0 || ms > MAX_TS_MS) {
      ctx.addIssue({ code: 'custom', message: TS_MESSAGE });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'Epoch milliseconds or an RFC 3339 string', example: 1732240000000 });

export const valueSchema = z
  .union([
    z.number(),
    z.boolean(),
    z.string().refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_STRING_BYTES, {
      message: `a string value may have at most ${MAX_STRING_BYTES} bytes`,
    }),
  ])
  .meta({ description: 'A finite number, a boolean or a string' });

/**
 * A value map. Checked key by key so that an error names the key, on the raw object: zod's record
 * skips an own `__proto__` key (which JSON.parse creates), and a bad key must be refused, not dropped.
 */
export const valuesSchema = z
  .preprocess(
    (values, ctx) => {
      if (typeof values === 'object' && values !== null && !Array.isArray(values)) {
        for (const message of valueProblems(values as Record<string, unknown>)) {
          ctx.addIssue({ code: 'custom', message });
        }
      }
      return values;
    },
    z.record(z.string(), z.unknown()),
  )
  .transform((v) => v as Record<string, TelemetryValue>)
  .meta({ description: 'Named values', example: { temperature: 21.5, door: 'open', ok: true } });

function valueProblems(values: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const keys = Object.keys(values);
  if (keys.length === 0) problems.push('values: at least one key is required');
  for (const key of keys) {
    const shown = JSON.stringify(key.length > 70 ? `${key.slice(0, 70)}...` : key);
    if (!KEY_PATTERN.test(key)) {
      problems.push(`key ${shown}: expected a letter, then letters, digits, _ . or -, at most 64 characters`);
    } else if (RESERVED_KEYS.has(key)) {
      problems.push(`key ${shown} is reserved`);
    } else {
      const v = valueSchema.safeParse(values[key]);
      if (!v.success) {
        const detail = v.error.issues.find((i) => i.code === 'custom')?.message;
        problems.push(
          `key ${shown}: ${detail ?? `expected a finite number, boolean or string, got ${describe(values[key])}`}`,
        );
      }
    }
  }
  return problems;
}

/** Shape 2: one reading. */
export const readingSchema = z
  .strictObject({ ts: tsSchema, values: valuesSchema })
  .meta({ description: 'One reading' });

/** For documentation (OpenAPI): the three accepted shapes. Parse with `parseTelemetryPayload`. */
export const telemetryPayloadSchema = z
  .union([
    readingSchema,
    z.array(readingSchema).min(1).meta({ description: 'A batch of readings, oldest first' }),
    z
      .record(z.string(), valueSchema)
      .meta({ description: 'A flat object of values, stamped with the time the platform received it' }),
  ])
  .meta({ description: 'Telemetry payload: a reading, a batch of readings or a flat object of values' });

export interface ParsedTelemetry {
  /** The valid readings, in payload order. */
  readings: Reading[];
  /** One human-readable reason per refused reading (or for the whole message). */
  errors: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and validates a payload. Never throws: everything a device can send ends up either as a
 * reading or as an error string.
 *
 * Valid readings take a plain-code fast path (`fastReading`, `fastValues`); whatever it does not
 * accept goes through the zod schemas above, which decide and word the error. The fast path accepts
 * only what the schemas accept and builds the same output, so results are identical either way
 * (test/telemetry-payload.test.ts compares both over a corpus). Per reading, zod cost about 2 us,
 * most of the ingest's CPU for batched payloads.
 */
export function parseTelemetryPayload(payload: Buffer | string, receivedAt: number): ParsedTelemetry {
  return parse(payload, receivedAt, true);
}

/** The same rules through the zod schemas only (no fast path): the reference the tests compare with. */
export function parseTelemetryPayloadWithSchemas(
  payload: Buffer | string,
  receivedAt: number,
): ParsedTelemetry {
  return parse(payload, receivedAt, false);
}

function parse(payload: Buffer | string, receivedAt: number, fast: boolean): ParsedTelemetry {
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : utf8.decode(payload);
  } catch {
    return refused('payload is not valid UTF-8');
  }
  // Before JSON.parse, whose time grows steeply with nesting (core/json-depth.ts).
  if (jsonDepthExceededAt(payload, MAX_JSON_DEPTH) >= 0) {
    return refused(`payload too deep: more than ${MAX_JSON_DEPTH} levels of nested arrays and objects`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return refused(`payload is not valid JSON: ${(err as Error).message.slice(0, 120)}`);
  }

  if (Array.isArray(json)) {
    if (json.length === 0) return refused('empty batch: expected at least one reading');
    const out: ParsedTelemetry = { readings: [], errors: [] };
    for (let i = 0; i < json.length; i++) {
      const element: unknown = json[i];
      const quick = fast ? fastReading(element) : undefined;
      if (quick) {
        out.readings.push(quick);
        continue;
      }
      const r = readingSchema.safeParse(element);
      if (r.success) out.readings.push(r.data);
      else out.errors.push(`reading ${i}: ${formatIssues(r.error)}`);
    }
    return out;
  }
  if (!isPlainObject(json)) return refused(`expected a JSON object or array, got ${describe(json)}`);
  if (isPlainObject(json.values)) {
    const quick = fast ? fastReading(json) : undefined;
    if (quick) return { readings: [quick], errors: [] };
    const r = readingSchema.safeParse(json);
    return r.success ? { readings: [r.data], errors: [] } : refused(formatIssues(r.error));
  }
  if ('ts' in json) {
    return refused('a flat object may not contain "ts": send {"ts": ..., "values": {...}} to set the time');
  }
  // A fresh JSON.parse result nobody else holds, so it can be the reading's values as it is.
  if (fast && fastValues(json)) return { readings: [{ ts: receivedAt, values: json }], errors: [] };
  const v = valuesSchema.safeParse(json);
  return v.success
    ? { readings: [{ ts: receivedAt, values: v.data }], errors: [] }
    : refused(formatIssues(v.error));
}

/** A valid `{ts, values}` reading as `readingSchema` would return it, or undefined for anything else. */
function fastReading(element: unknown): Reading | undefined {
  if (typeof element !== 'object' || element === null || Array.isArray(element)) return undefined;
  const o = element as Record<string, unknown>;
  // strictObject: exactly the two keys (JSON.parse makes own, enumerable properties only).
  for (const key in o) if (key !== 'ts' && key !== 'values') return undefined;
  const ts = fastTs(o.ts);
  if (ts === undefined || !fastValues(o.values)) return undefined;
  return { ts, values: o.values };
}

/** `tsSchema`'s accepted inputs and result, or undefined. */
function fastTs(ts: unknown): number | undefined {
  const ms = typeof ts === 'number' ? ts : typeof ts === 'string' ? parseRfc3339(ts) : undefined;
  return ms !== undefined && Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_TS_MS ? ms : undefined;
}

/** Whether `valuesSchema` accepts `values` unchanged (a JSON object: string keys, plain prototype). */
function fastValues(values: unknown): values is Record<string, TelemetryValue> {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return false;
  let keys = 0;
  for (const key in values) {
    keys++;
    if (!validKeys.has(key)) {
      if (!KEY_PATTERN.test(key) || RESERVED_KEYS.has(key)) return false;
      rememberValidKey(key);
    }
    const v = (values as Record<string, unknown>)[key];
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false; // zod 4's z.number() refuses Infinity and NaN
    } else if (typeof v === 'string') {
      // A UTF-16 code unit is at most 3 UTF-8 bytes, so short strings need no count.
      if (v.length * 3 > MAX_STRING_BYTES && Buffer.byteLength(v, 'utf8') > MAX_STRING_BYTES) return false;
    } else if (typeof v !== 'boolean') return false;
  }
  return keys > 0;
}

/**
 * Keys that passed KEY_PATTERN and are not reserved: devices send the same few keys in every reading,
 * and a set lookup costs a fraction of the regular expression. Bounded: cleared when full.
 */
const validKeys = new Set<string>();
const MAX_VALID_KEYS = 10_000;

function rememberValidKey(key: string): void {
  if (validKeys.size >= MAX_VALID_KEYS) validKeys.clear();
  validKeys.add(key);
}

/** The first bytes of a payload as text, for a device error (lossy for invalid UTF-8). */
export function payloadPrefix(payload: Buffer | string, bytes = PAYLOAD_PREFIX_BYTES): string {
  const buf = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return buf.subarray(0, bytes).toString('utf8');
}

function refused(reason: string): ParsedTelemetry {
  return { readings: [], errors: [reason] };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** Zod issues as one line: `path: message; ...` (at most 5 issues). */
function formatIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((i) => {
    const where = i.path.map(String).join('.');
    // Our own messages already start with what they are about.
    return where && !i.message.startsWith(`${where}:`) && i.path[0] !== 'values'
      ? `${where}: ${i.message}`
      : i.message;
  });
  if (error.issues.length > 5) parts.push(`and ${error.issues.length - 5} more problems`);
  return parts.join('; ');
}
