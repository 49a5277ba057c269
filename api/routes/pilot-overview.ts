/**
 * What a member sees about a pilot besides the pilot itself: its member partners (name, country,
 * kind: what a co-developer needs to know who is who, never their keys) and how many refused
 * messages each device has. Both answer 404 for a pilot the caller is not a member of.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../../core/registry/errors.js';
import { BEARER_SECURITY, pilotForCaller } from '../auth.js';
import {
  DeviceId,
  errorResponses,
  PartnerId,
  PilotParams,
  pageOf,
  RegistryPageQuery,
  Timestamp,
  toTimestampOrNull,
} from '../schemas.js';
import { PartnerKind } from './partners.js';

const Member = z
  .object({
    id: PartnerId,
    name: z.string().meta({ example: 'Shenzhen Boards Ltd' }),
    country: z.string().meta({ description: 'ISO 3166-1 alpha-2', example: 'CN' }),
    kind: PartnerKind,
  })
  .meta({ id: 'PilotMember' });

const ErrorCount = z
  .object({
    deviceId: DeviceId,
    count: z.number().int().meta({ description: 'Refused messages kept for the device' }),
    lastAt: Timestamp.nullable().meta({ description: 'When the newest of them was received' }),
  })
  .meta({ id: 'DeviceErrorCount' });

/** Pages of the error log read per device while counting (the log is bounded per device). */
const ERROR_PAGE = 1000;

export const pilotOverviewRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/pilots/:pilotId/members',
    {
      schema: {
        operationId: 'listPilotMembers',
        tags: ['pilots'],
        summary: 'The member partners of a pilot: name, country, kind',
        security: BEARER_SECURITY,
        params: PilotParams,
        querystring: RegistryPageQuery,
        response: { 200: pageOf(Member), ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const pilot = await pilotForCaller(request, request.params.pilotId);
      const start = (decodeCursor('members', request.query.cursor) ?? -1) + 1;
      const ids = pilot.memberIds.slice(start, start + request.query.limit);
      const partners = await Promise.all(ids.map((id) => app.registry.getPartner(id)));
      const items = partners.flatMap((p) =>
        p ? [{ id: p.id, name: p.name, country: p.country, kind: p.kind }] : [],
      );
      const last = start + ids.length - 1;
      const nextCursor = last < pilot.memberIds.length - 1 ? encodeCursor('members', last) : null;
      return { items, nextCursor };
    },
  );

  app.get(
    '/v1/pilots/:pilotId/error-counts',
    {
      schema: {
        operationId: 'getPilotErrorCounts',
        tags: ['devices'],
        summary: 'How many refused messages each device of a pilot has',
        description:
          'One item per device, in the order of `GET /v1/pilots/{pilotId}/devices` and paged the same way. ' +
          'Counts the errors kept (DEVICE_ERRORS_KEPT per device); read them with `GET /v1/devices/{deviceId}/errors`.',
        security: BEARER_SECURITY,
        params: PilotParams,
        querystring: RegistryPageQuery,
        response: { 200: pageOf(ErrorCount), ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const pilot = await pilotForCaller(request, request.params.pilotId);
      const devices = await app.registry.listDevices(pilot.id, request.query);
      const items = [];
      for (const d of devices.items) {
        let count = 0;
        let lastAt: number | null = null;
        let cursor: string | undefined;
        do {
          const page = await app.registry.listDeviceErrors(d.id, { limit: ERROR_PAGE, cursor });
          if (lastAt === null && page.items[0]) lastAt = page.items[0].at; // newest first
          count += page.items.length;
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        items.push({ deviceId: d.id, count, lastAt: toTimestampOrNull(lastAt) });
      }
      return { items, nextCursor: devices.nextCursor };
    },
  );
};
