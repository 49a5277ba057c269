/**
 * Request and response schemas of the telemetry routes: they validate, serialise and document
 * (OpenAPI, with an example for every query parameter). Grammar is checked here; meaning (times,
 * window counts, key types) in params.ts, which names the parameter in its 400s.
 */
import { z } from 'zod';
import { DURATION_PATTERN } from '../../core/time.js';
import { Timestamp } from '../schemas.js';
import { AGGREGATES, FILLS } from './query.js';

export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 1000;
export const MAX_WINDOWS = 10_000;
export const MAX_KEYS = 100;

const Instant = (description: string, example: string) =>
  z
    .string()
    .min(1)
    .max(40)
    .optional()
    .meta({
      description: `${description} RFC 3339 (e.g. 2026-11-21T00:00:00Z) or epoch milliseconds.`,
      example,
    });

const from = Instant('Start of the range, inclusive. Default: `to` minus 24 hours.', '2026-11-21T00:00:00Z');
const to = Instant('End of the range, exclusive. Default: now.', '2026-11-22T00:00:00Z');
const every = z
  .string()
  .regex(DURATION_PATTERN, 'expected a positive integer and a unit (ms, s, m, h, d, w), e.g. 1m')
  .meta({
    description:
      'Window length: a positive integer and one unit (ms, s, m, h, d, w). Windows are aligned to multiples of it since the epoch; at most 10,000 windows per request.',
    example: '1m',
  });
const agg = z.enum(AGGREGATES).meta({
  description: 'Aggregate per window (mean, min, max and sum need number keys). Default: mean.',
  example: 'mean',
});
const fill = z.enum(FILLS).meta({
  description:
    'Windows without data: none (left out), null (values null; count gives 0), previous (the previous window value). Default: none.',
  example: 'none',
});
const keys = z
  .string()
  .min(1)
  .max(MAX_KEYS * 65)
  .optional()
  .meta({
    description: `Comma-separated keys to return (at most ${MAX_KEYS}). Default: every key.`,
    example: 'temperature,humidity',
  });

export const DeviceTelemetryQuery = z.strictObject({
  from,
  to,
  keys,
  limit: z
    .string()
    .regex(/^\d{1,6}$/, 'expected an integer from 1 to 10000')
    .optional()
    .meta({
      description: `Raw ranges: points per page, 1 to ${MAX_LIMIT}. Default ${DEFAULT_LIMIT}.`,
      example: '1000',
    }),
  order: z
    .enum(['asc', 'desc'])
    .default('asc')
    .meta({ description: 'By time. Default: asc.', example: 'asc' }),
  cursor: z.string().min(1).max(200).optional().meta({
    description: 'Raw ranges: the `nextCursor` of the previous page (opaque; keep the other parameters).',
    example: 'eyJsIjoidGVsZW1ldHJ5LmFzYyIsImsiOjE3NjM2ODMyMDAwMDB9',
  }),
  every: every.optional(),
  agg: agg.optional(),
  fill: fill.optional(),
});

export const LatestQuery = z.strictObject({ keys });

export const PilotTelemetryQuery = z.strictObject({
  key: z.string().min(1).max(64).meta({ description: 'The value key to aggregate.', example: 'temperature' }),
  every,
  agg: agg.optional(),
  fill: fill.optional(),
  from,
  to,
});

export const StreamQuery = z.strictObject({
  token: z.string().min(1).max(1000).optional().meta({
    description:
      'A stream token from `POST /v1/stream-tokens`, instead of `Authorization` (for EventSource). One use, 60 s.',
    example: 'st1.eyJwYXJ0bmVySWQiOi...',
  }),
});

const TelemetryValue = z
  .union([z.number(), z.boolean(), z.string(), z.null()])
  .meta({ description: 'A number, boolean or string; null in a window without data (fill=null)' });

export const TelemetryItem = z
  .object({
    ts: Timestamp.meta({
      description: 'Time of the reading, or start of the window',
      example: '2026-11-21T10:15:00.000Z',
    }),
    values: z.record(z.string(), TelemetryValue).meta({ example: { temperature: 21.5, door: 'open' } }),
  })
  .meta({ id: 'TelemetryItem' });

export const TelemetryPage = z
  .object({
    items: z.array(TelemetryItem),
    nextCursor: z.string().nullable().meta({
      description: 'Raw ranges: pass as `cursor` for the next page; null on the last page and for windows',
    }),
  })
  .meta({ id: 'TelemetryPage' });

export const LatestResponse = z
  .object({
    deviceId: z.string(),
    values: z
      .record(z.string(), z.object({ ts: Timestamp, value: z.union([z.number(), z.boolean(), z.string()]) }))
      .meta({ example: { temperature: { ts: '2026-11-21T10:15:30.123Z', value: 21.5 } } }),
  })
  .meta({ id: 'TelemetryLatest' });

export const PilotSeriesResponse = z
  .object({
    key: z.string(),
    agg: z.enum(AGGREGATES),
    every: z.string(),
    fill: z.enum(FILLS),
    series: z.array(
      z.object({
        deviceId: z.string(),
        points: z.array(z.object({ ts: Timestamp, value: TelemetryValue })),
      }),
    ),
  })
  .meta({ id: 'PilotTelemetry' });
