/**
 * `POST /v1/devices/{deviceId}/telemetry`: the MQTT payloads over HTTP, with the device's own
 * credentials (HTTP Basic). Parsed and key-checked like MQTT, handed to the broker untouched; 202
 * after the PUBACK. All or nothing: 400 lists every problem; 429 over the rate; 503 when the platform
 * cannot take it now. docs/DESIGN.md, "The API".
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DEFAULT_KEY_LIMITS, type KeyLimits } from '../../core/key-limits.js';
import type { DeviceErrorLog, DeviceLookup, KeyTypeStore } from '../../core/registry/types.js';
import { parseTelemetryPayload, payloadPrefix } from '../../core/telemetry.js';
import { telemetryPayloadSchema } from '../../core/telemetry-schemas.js';
import { TokenBuckets } from '../../core/token-bucket.js';
import { authenticateDevice, DEVICE_BASIC, deviceUnauthorized } from '../device-auth.js';
import { ApiError, notFound } from '../errors.js';
import { DeviceParams, errorResponses } from '../schemas.js';
import { checkKeys, claimNewKeys } from '../telemetry/http-key-types.js';
import { BrokerUnavailableError, type IngestPublisher } from '../telemetry/ingest-publisher.js';

export interface HttpIngestDeps {
  /** Device credentials, key types and the device error log; default: the app's registry. */
  devices?: DeviceLookup & KeyTypeStore & DeviceErrorLog;
  publisher: IngestPublisher;
  /** Largest accepted body; keep it equal to the broker's MQTT_MAX_PAYLOAD_BYTES. Default 256 KiB. */
  maxPayloadBytes?: number;
  /** Each device's own request rate (the broker's DEVICE_MAX_MESSAGES_PER_SECOND and burst). */
  deviceRate?: { perSecond: number; burst: number };
  /** Caps on keys (the ingest section's TELEMETRY_MAX_KEYS_*); default DEFAULT_KEY_LIMITS. */
  keyLimits?: KeyLimits;
  /** Clock, for tests. */
  now?: () => number;
}

/** Device errors recorded per refused request (the log is bounded per device anyway). */
const MAX_ERRORS_RECORDED = 20;

const Accepted = z
  .object({
    accepted: z.number().int().meta({ description: 'Readings handed to ingest', example: 1 }),
    receivedAt: z
      .string()
      .meta({ description: 'Receive time; the `ts` of a flat payload', example: '2026-11-21T10:15:30.123Z' }),
  })
  .meta({ id: 'TelemetryAccepted' });

export function httpIngestRoutes(deps: HttpIngestDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const bodyLimit = deps.maxPayloadBytes ?? 256 * 1024;
  const keyLimits = deps.keyLimits ?? DEFAULT_KEY_LIMITS;
  const rate = deps.deviceRate ?? { perSecond: 200, burst: 200 };
  // Per device, not per IP: many devices behind one NAT each get their own budget.
  const buckets = new TokenBuckets(rate.perSecond, rate.burst, now);

  return async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const devices = deps.devices ?? root.registry;
    const refuse = refusal(devices);
    // The raw bytes are what goes to the broker; parse them ourselves (same parser as ingest).
    // Scoped to this plugin: other routes keep Fastify's JSON parser.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit },
      (_req: FastifyRequest, body: Buffer, done) => {
        done(null, body);
      },
    );

    app.post(
      '/v1/devices/:deviceId/telemetry',
      {
        // Not in the partners' per-key rate limit: devices have no API key.
        config: { public: true, rateLimit: false },
        bodyLimit,
        // Before the body is read: an unauthenticated client cannot make us buffer its upload.
        onRequest: deviceGate(devices, buckets),
        schema: {
          operationId: 'ingestTelemetry',
          tags: ['telemetry'],
          summary: 'Send readings over HTTP (device credentials)',
          description:
            'For devices: HTTP Basic with the device id and its secret (its MQTT credentials). The body is one of the ' +
            'MQTT payloads. 202 once the readings are queued for storage (same guarantee as an MQTT QoS 1 publish: ' +
            'stored exactly once); 400 lists every problem (also a key that has another type in this pilot) and ' +
            "stores nothing; 429 over the device's rate and 503 when the platform cannot take it now, both with " +
            'Retry-After.',
          security: DEVICE_BASIC,
          params: DeviceParams,
          body: telemetryPayloadSchema.optional(),
          response: { 202: Accepted, ...errorResponses(400, 401, 429, 503) },
        },
        // The body schema above documents the shapes; the real check is parseTelemetryPayload.
        validatorCompiler: ({ httpPart }) =>
          httpPart === 'body' ? (data) => ({ value: data }) : (data) => validateParams(data),
      },
      async (request, reply) => {
        const { deviceId } = request.params;
        const body = request.body as unknown as Buffer | undefined;
        const raw = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
        const receivedAt = now();
        const parsed = parseTelemetryPayload(raw, receivedAt);
        const pilotId = await fromRegistry(reply, () => devices.getDevicePilot(deviceId));
        if (pilotId === undefined) throw deviceUnauthorized(); // deleted since onRequest
        const ids = { pilotId, deviceId };
        const keys = await fromRegistry(reply, () => checkKeys(devices, ids, parsed.readings, keyLimits));
        await refuse(deviceId, raw, receivedAt, [...parsed.errors, ...keys.problems]);
        if (deps.publisher.journalFull()) throw unavailable(reply, 'the telemetry journal is full', 10);
        const claimProblems = await fromRegistry(reply, () =>
          claimNewKeys(devices, ids, keys.newKeys, keyLimits),
        );
        await refuse(deviceId, raw, receivedAt, claimProblems);
        try {
          await deps.publisher.publish(deviceId, receivedAt, raw);
        } catch (err) {
          if (!(err instanceof BrokerUnavailableError)) throw err;
          request.log.warn({ err, deviceId }, 'HTTP ingest could not hand over to the broker');
          throw unavailable(reply, err.message, err.retryAfterSeconds);
        }
        return reply
          .status(202)
          .send({ accepted: parsed.readings.length, receivedAt: new Date(receivedAt).toISOString() });
      },
    );
  };
}

/**
 * Before the body is read, so an unauthenticated or too fast client cannot make us buffer its upload:
 * HTTP Basic with the device's own id and secret, then the device's own rate (429 with Retry-After).
 */
function deviceGate(devices: Pick<DeviceLookup, 'getDeviceCredential'>, buckets: TokenBuckets) {
  const gate = { devices, buckets, rateUnit: 'messages per second; retry later' };
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { deviceId } = request.params as { deviceId: string };
    await authenticateDevice(request, reply, deviceId, gate);
  };
}

/** Throws the 400 for `problems` (recording them as device errors), if there are any. */
function refusal(devices: DeviceErrorLog) {
  return async (deviceId: string, raw: Buffer, receivedAt: number, problems: string[]): Promise<void> => {
    if (problems.length === 0) return;
    const prefix = payloadPrefix(raw);
    try {
      await devices.recordDeviceErrors(
        problems.slice(0, MAX_ERRORS_RECORDED).map((reason) => ({
          deviceId,
          at: receivedAt,
          reason: `HTTP: ${reason}`,
          payloadPrefix: prefix,
        })),
      );
    } catch {
      // The refusal stands; the client reads the problems in the answer.
    }
    throw new ApiError(
      400,
      'validation_error',
      `payload refused, nothing stored: ${problems.slice(0, 3).join('; ')}`,
      problems.map((message) => ({ path: 'body', message, code: 'invalid' })),
    );
  };
}

function unavailable(reply: FastifyReply, why: string, retryAfterSeconds: number): ApiError {
  reply.header('retry-after', String(retryAfterSeconds));
  return new ApiError(503, 'unavailable', `cannot queue readings now (${why}); retry later`);
}

/** A registry read or claim; the registry being unusable (busy, disk) is a 503, not a 500. */
async function fromRegistry<T>(reply: FastifyReply, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    reply.log.error({ err }, 'HTTP ingest: registry unavailable');
    throw unavailable(reply, 'registry unavailable', 5);
  }
}

function validateParams(data: unknown): { value: unknown } | { error: Error } {
  const r = DeviceParams.safeParse(data);
  return r.success ? { value: r.data } : { error: notFound('device') };
}
