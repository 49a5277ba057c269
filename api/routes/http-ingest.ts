/**
 * `POST /v1/devices/{deviceId}/telemetry`: the MQTT payloads over HTTP, for devices that cannot keep
 * an MQTT session. The device authenticates with HTTP Basic (username = device id, password = its
 * secret), exactly its MQTT credentials. The body is validated with the same parser ingest uses;
 * a valid body is then handed to the broker untouched, on the same topic the broker uses for an
 * accepted MQTT message, so ingest stores it with the same type checks, deduplication and device
 * errors. 202 is sent only after the broker's PUBACK (the message is then committed to the telemetry
 * spool ingest drains), 503 when the broker cannot take it.
 *
 * Unlike MQTT, where the good readings of a partly bad batch are kept, an HTTP request is all or
 * nothing: any refused reading makes a 400 listing every problem (also recorded as device errors)
 * and nothing is stored; the client sees the answer and can resend a corrected body.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DeviceAuthStore, DeviceErrorLog } from '../../core/registry/types.js';
import { secretMatches } from '../../core/secrets.js';
import { parseTelemetryPayload, payloadPrefix, telemetryPayloadSchema } from '../../core/telemetry.js';
import { ApiError, notFound } from '../errors.js';
import { DeviceParams, errorResponses } from '../schemas.js';
import { BrokerUnavailableError, type IngestPublisher } from '../telemetry/ingest-publisher.js';

export interface HttpIngestDeps {
  /** Device credentials and the device error log; default: the app's registry (`app.registry`). */
  devices?: DeviceAuthStore & DeviceErrorLog;
  publisher: IngestPublisher;
  /** Largest accepted body; keep it equal to the broker's MQTT_MAX_PAYLOAD_BYTES. Default 256 KiB. */
  maxPayloadBytes?: number;
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

/** `Authorization: Basic base64(id:secret)` -> [id, secret]. */
export function basicCredentials(header: string | undefined): [string, string] | undefined {
  const m = typeof header === 'string' ? /^Basic\s+([A-Za-z0-9+/=_-]{1,512})\s*$/i.exec(header) : null;
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

function deviceUnauthorized(): ApiError {
  return new ApiError(401, 'unauthorized', 'expected HTTP Basic with this device id and its secret', {
    reason: 'device_credentials_invalid',
  });
}

export function httpIngestRoutes(deps: HttpIngestDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const bodyLimit = deps.maxPayloadBytes ?? 256 * 1024;

  return async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const devices = deps.devices ?? root.registry;
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
        config: { public: true },
        bodyLimit,
        // Before the body is read: an unauthenticated client cannot make us buffer its upload.
        onRequest: async (request, reply) => {
          const { deviceId } = request.params as { deviceId: string };
          const creds = basicCredentials(request.headers.authorization);
          const stored = creds && creds[0] === deviceId ? devices.getDeviceCredential(deviceId) : undefined;
          if (!creds || !stored || !secretMatches(creds[1], stored.secretHash)) {
            reply.header('www-authenticate', 'Basic realm="devices", charset="UTF-8"');
            throw deviceUnauthorized();
          }
        },
        schema: {
          tags: ['telemetry'],
          summary: 'Send readings over HTTP (device credentials)',
          description:
            'For devices: HTTP Basic with the device id and its secret (its MQTT credentials). The body is one of the ' +
            'MQTT payloads. 202 once the readings are queued for storage (same guarantee as an MQTT QoS 1 publish); ' +
            '400 lists every problem and stores nothing; 503: retry later.',
          security: [{ deviceBasic: [] }],
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
        if (parsed.errors.length > 0) {
          const prefix = payloadPrefix(raw);
          devices.recordDeviceErrors(
            parsed.errors.slice(0, MAX_ERRORS_RECORDED).map((reason) => ({
              deviceId,
              at: receivedAt,
              reason: `HTTP: ${reason}`,
              payloadPrefix: prefix,
            })),
          );
          throw new ApiError(
            400,
            'validation_error',
            `payload refused, nothing stored: ${parsed.errors.slice(0, 3).join('; ')}`,
            parsed.errors.map((message) => ({ path: 'body', message, code: 'invalid' })),
          );
        }
        try {
          await deps.publisher.publish(deviceId, receivedAt, raw);
        } catch (err) {
          if (!(err instanceof BrokerUnavailableError)) throw err;
          request.log.warn({ err, deviceId }, 'HTTP ingest could not hand over to the broker');
          reply.header('retry-after', '5');
          throw new ApiError(503, 'unavailable', 'cannot queue readings now; retry later');
        }
        return reply
          .status(202)
          .send({ accepted: parsed.readings.length, receivedAt: new Date(receivedAt).toISOString() });
      },
    );
  };
}

function validateParams(data: unknown): { value: unknown } | { error: Error } {
  const r = DeviceParams.safeParse(data);
  return r.success ? { value: r.data } : { error: notFound('device') };
}
