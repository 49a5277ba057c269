/**
 * `POST /v1/stream-tokens`: a token that opens one live stream from a browser (`EventSource` cannot
 * send headers). Minted with a partner key for a device or pilot the partner may see (404 otherwise,
 * as everywhere); it opens one stream, within about a minute. See api/stream-tokens/token.ts.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BEARER_SECURITY, deviceForCaller, pilotForCaller, requirePartner } from '../auth.js';
import { DeviceId, errorResponses, PilotId, Timestamp, toTimestamp } from '../schemas.js';
import type { StreamScope, StreamTokens } from '../stream-tokens/token.js';

const NewStreamToken = z
  .strictObject({
    deviceId: DeviceId.optional().meta({ description: 'A device: for its telemetry stream' }),
    pilotId: PilotId.optional().meta({ description: 'A pilot: for the stream of all its devices' }),
  })
  .refine((b) => (b.deviceId === undefined) !== (b.pilotId === undefined), {
    message: 'expected exactly one of deviceId and pilotId',
  })
  .meta({ id: 'NewStreamToken' });

const StreamToken = z
  .object({
    token: z.string().meta({ description: 'Pass as `?token=`; opens one stream, once' }),
    expiresAt: Timestamp.meta({ description: 'The stream must be opened before this time' }),
    url: z.string().meta({
      description: 'The stream path with the token, relative to the API',
      example: '/v1/devices/dev_q2w3e4r5t6y7u2i3o4p5/telemetry/stream?token=st1...',
    }),
  })
  .meta({ id: 'StreamToken' });

export const streamTokenRoutes: FastifyPluginAsyncZod<{ tokens: StreamTokens }> = async (app, opts) => {
  app.post(
    '/v1/stream-tokens',
    {
      schema: {
        operationId: 'createStreamToken',
        tags: ['telemetry'],
        summary: 'A short-lived token to open one live stream (for EventSource)',
        description:
          'Browsers cannot set Authorization on an EventSource: mint a token with the API key, then open ' +
          '`/v1/devices/{deviceId}/telemetry/stream?token=...` or `/v1/pilots/{pilotId}/telemetry/stream?token=...`. ' +
          'The token is valid for that one stream, opens it once, and expires after 60 s (an open stream stays ' +
          'open). It is never logged.',
        security: BEARER_SECURITY,
        body: NewStreamToken,
        response: { 201: StreamToken, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const partner = requirePartner(request);
      const { deviceId, pilotId } = request.body;
      let scope: StreamScope;
      if (deviceId !== undefined)
        scope = { kind: 'device', id: (await deviceForCaller(request, deviceId)).id };
      else scope = { kind: 'pilot', id: (await pilotForCaller(request, pilotId ?? '')).id };
      const minted = opts.tokens.mint(partner.id, scope);
      const base = scope.kind === 'device' ? `/v1/devices/${scope.id}` : `/v1/pilots/${scope.id}`;
      return reply.status(201).send({
        token: minted.token,
        expiresAt: toTimestamp(minted.expiresAt),
        url: `${base}/telemetry/stream?token=${encodeURIComponent(minted.token)}`,
      });
    },
  );
};
