/**
 * Zod schemas shared by every route: timestamps, the error shape, pages. Route files build their own
 * request/response schemas from these; the same schemas validate, serialise and document (OpenAPI).
 */
import { z } from 'zod';
import { COUNTRY_HINTS, ISO_3166_ALPHA2 } from '../core/countries.js';
import { ERROR_CODES } from './error-codes.js';

/** Contract: timestamps in responses are RFC 3339 with milliseconds, UTC. */
export const Timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  .meta({ description: 'RFC 3339 timestamp with milliseconds, UTC', example: '2026-11-22T10:15:30.123Z' });

/** Epoch milliseconds (the store's unit) to the contract's timestamp format. */
export const toTimestamp = (ms: number): string => new Date(ms).toISOString();
export const toTimestampOrNull = (ms: number | null): string | null => (ms === null ? null : toTimestamp(ms));

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).meta({
        description: 'Machine-readable and stable; values are only ever added (api/error-codes.ts)',
        example: 'validation_error',
      }),
      message: z
        .string()
        .meta({ description: 'Human-readable summary', example: 'body.country: expected ...' }),
      details: z
        .unknown()
        .optional()
        .meta({
          description:
            'For validation_error: a list of {path, message, code, limit?}, one per wrong field (code: required, ' +
            'too_short, too_long, invalid_format, invalid_value, unknown_field, no_such_partner, ...). ' +
            'For 401, 404 and 409: {reason}, e.g. api_key_invalid, partner_key_required, device_not_found, ' +
            'already_member, stream_token_expired; an api_key_invalid whose value is an id also has ' +
            'looksLike (partner_id, pilot_id, device_id). Codes and reasons are stable; messages are English text.',
        }),
    }),
  })
  .meta({ id: 'Error', description: 'The error shape of every endpoint' });

/** Standard error responses to list in a route's schema (for OpenAPI). */
export const errorResponses = (...statuses: (400 | 401 | 404 | 409 | 429 | 503)[]) =>
  Object.fromEntries(statuses.map((s) => [s, ErrorResponse])) as Record<number, typeof ErrorResponse>;

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` to get the next page; null on the last page' }),
  });

/** `?limit&cursor` for registry lists (contract: default 100, max 1000). */
export const RegistryPageQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .meta({ description: 'Items per page (1-1000)', example: 100 }),
  cursor: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({ description: 'The `nextCursor` of the previous page (opaque)' }),
});

export const PartnerId = z.string().min(1).max(100).meta({ example: 'prt_3kq7x2m4yz5n6p7r8s9t' });
export const PilotId = z.string().min(1).max(100).meta({ example: 'plt_a2b3c4d5e6f7g2h3i4j5' });
export const DeviceId = z.string().min(1).max(100).meta({ example: 'dev_q2w3e4r5t6y7u2i3o4p5' });

export const PilotParams = z.strictObject({ pilotId: PilotId });
export const DeviceParams = z.strictObject({ deviceId: DeviceId });

/**
 * Refused in names: C0 and C1 controls, bidirectional controls (U+061C, U+200E/F, U+202A-202E,
 * U+2066-2069: "Trojan Source", CVE-2021-42574, they reorder what a reader sees), line and paragraph
 * separators and lone surrogates. Joiners (U+200C/D) stay: Indic and Arabic scripts and emoji need them.
 */
const UNSAFE_IN_NAME = /[\p{Cc}\p{Cs}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;
/** The same in free text, which may hold tabs and line breaks. */
const UNSAFE_IN_TEXT = /(?![\t\n\r])[\p{Cc}\p{Cs}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

const refuse = (pattern: RegExp) => (value: string, ctx: z.RefinementCtx) => {
  const m = pattern.exec(value);
  if (!m) return;
  const cp = m[0].codePointAt(0) ?? 0;
  ctx.addIssue({
    code: 'custom',
    params: { fieldCode: 'forbidden_characters' },
    message: `must not contain control or bidirectional-control characters (U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${m.index})`,
  });
};

/** A one-line name or label (partner, pilot, device names; device model and firmware version). */
export const safeName = (max = 200) => z.string().trim().min(1).max(max).superRefine(refuse(UNSAFE_IN_NAME));

/** Free text (descriptions): line breaks and tabs allowed, other controls refused. */
export const safeText = (max = 2000) => z.string().max(max).superRefine(refuse(UNSAFE_IN_TEXT));

/** ISO 3166-1 alpha-2, any case in, upper case out; refuses codes that are not assigned (XX, UK). */
export const CountryCode = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'expected an ISO 3166-1 alpha-2 country code such as DE')
  .transform((c) => c.toUpperCase())
  .superRefine((code, ctx) => {
    if (ISO_3166_ALPHA2.has(code)) return;
    const hint = COUNTRY_HINTS[code];
    ctx.addIssue({
      code: 'custom',
      params: { fieldCode: 'unknown_country' },
      message: `${code} is not an assigned ISO 3166-1 alpha-2 country code${hint ? `; use ${hint}` : ''}`,
    });
  })
  .meta({ description: 'ISO 3166-1 alpha-2 country code', example: 'DE' });
