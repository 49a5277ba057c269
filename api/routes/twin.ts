/**
 * The device twin, for the partners of its pilot (issue 15): read it (ETag: the desired version) and
 * change the desired state with a JSON merge patch (RFC 7396) and `If-Match` (412 when stale).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { twinJson } from '../../core/command-json.js';
import type { TwinRecord } from '../../core/registry/command-types.js';
import { checkTwinPatch, desiredChange, TwinLimitError, TwinVersionConflict } from '../../core/twin.js';
import { BEARER_SECURITY, deviceForCaller } from '../auth.js';
import { IfMatch, PRECONDITION, Twin, TwinPatch } from '../control/schemas.js';
import { ApiError, validationError } from '../errors.js';
import { DeviceParams, errorResponses } from '../schemas.js';
import type { ControlRoutesOptions } from './commands.js';

const TAGS = ['twin'];
const etag = (t: TwinRecord) => `"${t.version}"`;

/** `"3"`, `W/"3"` or `3` -> 3; `*` -> undefined (any version); anything else can never match. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  return m ? Number(m[1]) : -1;
}

/** A refused patch as the contract's 400, naming the field. */
export function twinLimitProblem(err: TwinLimitError): ApiError {
  return validationError([
    {
      path: err.path,
      message: err.message,
      code: err.code,
      ...(err.limit === undefined ? {} : { limit: err.limit }),
    },
  ]);
}

export const twinRoutes: FastifyPluginAsyncZod<ControlRoutesOptions> = async (app, opts) => {
  const now = opts.now ?? Date.now;

  app.get(
    '/v1/devices/:deviceId/twin',
    {
      schema: {
        tags: TAGS,
        operationId: 'getTwin',
        summary: "The device's twin: desired, reported, delta, versions, per-leaf times",
        description: 'The `ETag` header is the desired version, for `If-Match` on PATCH.',
        security: BEARER_SECURITY,
        params: DeviceParams,
        response: { 200: Twin, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const device = await deviceForCaller(request, request.params.deviceId);
      const twin = await app.registry.getTwin(device.id);
      reply.header('etag', etag(twin));
      return twinJson(twin);
    },
  );

  app.patch(
    '/v1/devices/:deviceId/twin',
    {
      schema: {
        tags: TAGS,
        operationId: 'patchTwinDesired',
        summary: 'Change the desired state (JSON merge patch)',
        description:
          'With `If-Match: "<version>"` the change applies only to that version (412 `twin_version_stale` ' +
          'otherwise); without it, to whatever is current. The device gets the new desired state on ' +
          '`devices/{deviceId}/twin/desired` and the delta on `.../twin/delta`.',
        security: BEARER_SECURITY,
        params: DeviceParams,
        headers: IfMatch,
        body: TwinPatch,
        response: { 200: Twin, ...errorResponses(400, 401, 404, 429), ...PRECONDITION },
      },
    },
    async (request, reply) => {
      const device = await deviceForCaller(request, request.params.deviceId);
      let twin: TwinRecord;
      try {
        const patch = checkTwinPatch(request.body.desired, 'body.desired');
        twin = await app.registry.updateTwin(
          device.id,
          desiredChange(patch, now(), parseIfMatch(request.headers['if-match'])),
        );
      } catch (err) {
        if (err instanceof TwinLimitError) throw twinLimitProblem(err);
        if (err instanceof TwinVersionConflict) {
          reply.header('etag', `"${err.current}"`);
          throw new ApiError(
            412,
            'precondition_failed',
            `the twin is at version ${err.current}; read it again`,
            {
              reason: 'twin_version_stale',
              version: err.current,
            },
          );
        }
        throw err;
      }
      const json = twinJson(twin);
      opts.changes
        ?.publish(device.pilotId, device.id, { type: 'twin', twin: json })
        .catch((err) => request.log.warn({ err }, 'could not announce a twin change to the broker'));
      reply.header('etag', etag(twin));
      return json;
    },
  );
};
