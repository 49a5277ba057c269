/**
 * The contract's telemetry payload (MQTT `devices/{id}/telemetry`, HTTP ingest): parsed by one
 * function for every path, so all accept and refuse the same. Shapes and rules: docs/CONTRACT.md.
 */
import type { z } from 'zod';
import { jsonDepthExceededAt, MAX_JSON_DEPTH } from './json-depth.js';
import { isValueKey, MAX_STRING_BYTES, MAX_TS_MS, type Reading, type TelemetryValue } from './reading.js';
import { describe, readingSchema, valuesSchema } from './telemetry-schemas.js';
import { parseRfc3339 } from './time.js';

/** How much of a refused payload is kept with its device error. */
export const PAYLOAD_PREFIX_BYTES = 200;

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
      if (!isValueKey(key)) return false;
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
