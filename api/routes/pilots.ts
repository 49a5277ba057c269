/**
 * Pilots and their members and devices. A partner sees only pilots it is a member of; any other
 * pilot id answers 404, exactly as an id that does not exist.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Pilot as PilotRecord } from '../../core/registry/types.js';
import { BEARER_SECURITY, pilotForCaller, requirePartner } from '../auth.js';
import { conflict, type FieldProblem, validationError } from '../errors.js';
import {
  errorResponses,
  PartnerId,
  PilotId,
  PilotParams,
  pageOf,
  RegistryPageQuery,
  safeName,
  safeText,
  Timestamp,
  toTimestamp,
} from '../schemas.js';
import {
  credentialsFor,
  Device,
  type DeviceEndpoints,
  DeviceWithCredentials,
  deviceDto,
  NewDevice,
  newDeviceSecret,
} from './devices.js';

const Pilot = z
  .object({
    id: PilotId,
    name: z.string().meta({ example: 'Smart boiler 2027' }),
    description: z.string().nullable(),
    memberIds: z.array(PartnerId).meta({ description: 'Partners sharing the pilot' }),
    createdAt: Timestamp,
  })
  .meta({ id: 'Pilot' });

const NewPilot = z
  .strictObject({
    name: safeName().meta({ example: 'Smart boiler 2027' }),
    description: safeText(2000)
      .nullable()
      .optional()
      .meta({ example: 'Field test of the TH-200 in 40 homes' }),
    partnerIds: z
      .array(PartnerId)
      .max(100)
      .optional()
      .meta({ description: 'Other partners to add as members; the caller is always a member' }),
  })
  .meta({ id: 'NewPilot' });

const NewMember = z.strictObject({ partnerId: PartnerId }).meta({ id: 'NewMember' });

const pilotDto = (p: PilotRecord) => ({
  id: p.id,
  name: p.name,
  description: p.description,
  memberIds: p.memberIds,
  createdAt: toTimestamp(p.createdAt),
});

export const pilotRoutes: FastifyPluginAsyncZod<DeviceEndpoints> = async (app, opts) => {
  app.post(
    '/v1/pilots',
    {
      schema: {
        operationId: 'createPilot',
        tags: ['pilots'],
        summary: 'Create a pilot',
        description: 'The caller becomes a member, with the partners in `partnerIds`.',
        security: BEARER_SECURITY,
        body: NewPilot,
        response: { 201: Pilot, ...errorResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const partner = requirePartner(request);
      const others = request.body.partnerIds ?? [];
      const unknown: FieldProblem[] = [];
      const found = await Promise.all(others.map((id) => app.registry.getPartner(id)));
      found.forEach((p, i) => {
        if (!p)
          unknown.push({ path: `body.partnerIds.${i}`, message: 'no such partner', code: 'no_such_partner' });
      });
      if (unknown.length > 0) throw validationError(unknown);
      const pilot = await app.registry.createPilot({
        name: request.body.name,
        description: request.body.description ?? null,
        memberIds: [...new Set([partner.id, ...others])],
      });
      return reply.status(201).send(pilotDto(pilot));
    },
  );

  app.get(
    '/v1/pilots',
    {
      schema: {
        operationId: 'listPilots',
        tags: ['pilots'],
        summary: "The caller's pilots",
        security: BEARER_SECURITY,
        querystring: RegistryPageQuery,
        response: { 200: pageOf(Pilot), ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => {
      const partner = requirePartner(request);
      const page = await app.registry.listPilotsForPartner(partner.id, request.query);
      return { items: page.items.map(pilotDto), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/pilots/:pilotId',
    {
      schema: {
        operationId: 'getPilot',
        tags: ['pilots'],
        summary: 'One pilot of the caller',
        security: BEARER_SECURITY,
        params: PilotParams,
        response: { 200: Pilot, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => pilotDto(await pilotForCaller(request, request.params.pilotId)),
  );

  app.post(
    '/v1/pilots/:pilotId/members',
    {
      schema: {
        operationId: 'addPilotMember',
        tags: ['pilots'],
        summary: 'Add a partner to a pilot',
        description: 'Any member may add a partner. Adding a member twice is a 409.',
        security: BEARER_SECURITY,
        params: PilotParams,
        body: NewMember,
        response: { 201: Pilot, ...errorResponses(400, 401, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const pilot = await pilotForCaller(request, request.params.pilotId);
      const { partnerId } = request.body;
      if (!(await app.registry.getPartner(partnerId))) {
        throw validationError([
          { path: 'body.partnerId', message: 'no such partner', code: 'no_such_partner' },
        ]);
      }
      if (!(await app.registry.addPilotMember(pilot.id, partnerId)))
        throw conflict('the partner is already a member', 'already_member');
      return reply.status(201).send(pilotDto(await pilotForCaller(request, pilot.id)));
    },
  );

  app.post(
    '/v1/pilots/:pilotId/devices',
    {
      schema: {
        operationId: 'createDevice',
        tags: ['devices'],
        summary: 'Register a device in a pilot',
        description: 'Returns the device with its MQTT credentials; the password is shown only here.',
        security: BEARER_SECURITY,
        params: PilotParams,
        body: NewDevice,
        response: { 201: DeviceWithCredentials, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const pilot = await pilotForCaller(request, request.params.pilotId);
      const { password, secretHash } = newDeviceSecret();
      const device = await app.registry.createDevice(pilot.id, request.body, secretHash);
      request.log.info({ deviceId: device.id, pilotId: pilot.id }, 'device created');
      return reply
        .status(201)
        .send({ ...deviceDto(device), credentials: credentialsFor(device.id, password, opts, request) });
    },
  );

  app.get(
    '/v1/pilots/:pilotId/devices',
    {
      schema: {
        operationId: 'listDevices',
        tags: ['devices'],
        summary: 'Devices of a pilot, with their status',
        security: BEARER_SECURITY,
        params: PilotParams,
        querystring: RegistryPageQuery,
        response: { 200: pageOf(Device), ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const pilot = await pilotForCaller(request, request.params.pilotId);
      const page = await app.registry.listDevices(pilot.id, request.query);
      return { items: page.items.map(deviceDto), nextCursor: page.nextCursor };
    },
  );
};
