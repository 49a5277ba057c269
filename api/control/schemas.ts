/** Request and response schemas of commands and twins (issue 15), shared by partner and device routes. */
import { z } from 'zod';
import { TWIN_MAX_BYTES, TWIN_MAX_DEPTH } from '../../core/twin.js';
import { DeviceId, ErrorResponse, Timestamp } from '../schemas.js';

/** Largest `params` of a command, as JSON bytes. */
export const COMMAND_PARAMS_MAX_BYTES = 8 * 1024;
export const COMMAND_MAX_TTL_MS = 7 * 24 * 3600 * 1000;
export const COMMAND_DEFAULT_TTL_MS = 60_000;
/** Commands a device may have queued or delivered (not yet answered or expired) at once. */
export const COMMANDS_MAX_OPEN_PER_DEVICE = 1000;

export const CommandId = z.string().min(1).max(100).meta({ example: 'cmd_h3k2m4n5p6q7r2s3t4u5' });
export const CommandParams = z.strictObject({ deviceId: DeviceId, commandId: CommandId });

export const NewCommand = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
        'expected a letter, then letters, digits, "_", "." or "-" (at most 64)',
      )
      .meta({ example: 'setInterval' }),
    params: z
      .unknown()
      .optional()
      .refine(
        (p) => p === undefined || JSON.stringify(p).length <= COMMAND_PARAMS_MAX_BYTES,
        `expected at most ${COMMAND_PARAMS_MAX_BYTES} bytes of JSON`,
      )
      .meta({ description: 'Any JSON (at most 8 KiB); the device gets it as is', example: { ms: 500 } }),
    ttlMs: z.number().int().min(1000).max(COMMAND_MAX_TTL_MS).default(COMMAND_DEFAULT_TTL_MS).meta({
      description: 'Expires when not answered within this time (1 s to 7 days; default 60 s)',
      example: 30000,
    }),
  })
  .meta({ id: 'NewCommand' });

const at = (what: string) => Timestamp.nullable().meta({ description: `When it ${what}; null if not (yet)` });

export const Command = z
  .object({
    commandId: CommandId,
    deviceId: DeviceId,
    name: z.string(),
    params: z.unknown(),
    ttlMs: z.number().int(),
    status: z.enum(['queued', 'delivered', 'succeeded', 'failed', 'expired', 'cancelled']),
    result: z.unknown().meta({ description: "The device's `result` (succeeded or failed)" }),
    sentBy: z.string().meta({ description: 'The partner who sent it (audit trail)' }),
    expiresAt: Timestamp,
    queuedAt: Timestamp.meta({ description: 'When it was sent (queued)' }),
    deliveredAt: at('was handed to the device'),
    succeededAt: at('was answered with status ok'),
    failedAt: at('was answered with status error'),
    expiredAt: at('expired unanswered'),
    cancelledAt: at('was cancelled'),
  })
  .meta({ id: 'Command' });

export const CommandAccepted = z
  .object({ commandId: CommandId, status: z.literal('queued'), expiresAt: Timestamp })
  .meta({ id: 'CommandAccepted' });

export const PendingCommand = z
  .object({
    commandId: CommandId,
    name: z.string(),
    params: z.unknown(),
    expiresAt: Timestamp,
    responseTopic: z.string().meta({ description: 'Where an MQTT device would answer' }),
  })
  .meta({ id: 'PendingCommand' });

export const CommandAnswer = z
  .strictObject({
    status: z.enum(['ok', 'error']),
    result: z.unknown().optional().meta({ description: 'Any JSON; stored with the command' }),
  })
  .meta({ id: 'CommandAnswer' });

const Doc = z.record(z.string(), z.unknown());
export const Twin = z
  .object({
    deviceId: DeviceId,
    desired: Doc,
    reported: Doc,
    delta: Doc.meta({ description: 'Desired values the reported state does not have (yet)' }),
    version: z.number().int().meta({ description: 'Version of `desired`; the ETag and If-Match value' }),
    reportedVersion: z.number().int(),
    metadata: z
      .object({ desired: Doc, reported: Doc })
      .meta({ description: 'When each leaf was last set, shaped like the documents' }),
    updatedAt: Timestamp.nullable(),
  })
  .meta({ id: 'Twin' });

export const TwinPatch = z
  .strictObject({
    desired: Doc.meta({
      description: `A JSON merge patch (RFC 7396) of the desired state: null deletes a key. Keys: a letter, then letters, digits, "_" or "-" (at most 64); at most ${TWIN_MAX_DEPTH} levels; the document at most ${TWIN_MAX_BYTES} bytes.`,
      example: { interval: 5000 },
    }),
  })
  .meta({ id: 'TwinPatch' });

export const ReportedPatch = Doc.meta({
  id: 'ReportedPatch',
  description: 'A JSON merge patch of the reported state',
});

export const IfMatch = z.looseObject({
  'if-match': z
    .string()
    .optional()
    .meta({ description: 'The twin version (ETag) the change is based on; 412 when stale' }),
});

export const PRECONDITION = { 412: ErrorResponse };
