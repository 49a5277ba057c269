/** The zod schemas of the telemetry payload: the reference rules, and the OpenAPI description. */
import { z } from 'zod';
import { KEY_PATTERN, MAX_STRING_BYTES, MAX_TS_MS, RESERVED_KEYS, type TelemetryValue } from './reading.js';
import { parseRfc3339 } from './time.js';

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

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}
