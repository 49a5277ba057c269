/**
 * Partners: the admin creates them (the response shows the partner's API key once); a partner reads
 * itself through `/v1/partners/me`.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Partner as PartnerRecord } from '../../core/registry/types.js';
import { hashSecret, newApiKey } from '../../core/secrets.js';
import { BEARER_SECURITY, requireAdmin, requirePartner } from '../auth.js';
import { CountryCode, errorResponses, PartnerId, safeName, Timestamp, toTimestamp } from '../schemas.js';

export const PartnerKind = z.enum(['hardware', 'software', 'both']).meta({
  description: 'What the partner builds',
  example: 'hardware',
});

export const Partner = z
  .object({
    id: PartnerId,
    name: z.string().meta({ example: 'Acme Sensors GmbH' }),
    country: z.string().meta({ description: 'ISO 3166-1 alpha-2', example: 'DE' }),
    kind: PartnerKind,
    createdAt: Timestamp,
  })
  .meta({ id: 'Partner' });

const NewPartner = z
  .strictObject({
    name: safeName().meta({ example: 'Acme Sensors GmbH' }),
    country: CountryCode,
    kind: PartnerKind,
  })
  .meta({ id: 'NewPartner' });

const CreatedPartner = Partner.extend({
  apiKey: z.string().meta({
    description:
      "The partner's API key (`pk_...`, not the partner id `prt_...`). Shown only in this response; store it now.",
    example: 'pk_q8Vb2L0xN3pT6yR1cW4eZ7uA9sD5fG2hJ8kM0nB3vC6',
  }),
}).meta({ id: 'CreatedPartner' });

export const partnerDto = (p: PartnerRecord) => ({
  id: p.id,
  name: p.name,
  country: p.country,
  kind: p.kind,
  createdAt: toTimestamp(p.createdAt),
});

export const partnerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/v1/partners',
    {
      schema: {
        operationId: 'createPartner',
        tags: ['partners'],
        summary: 'Create a partner (admin)',
        description: 'Returns the partner with its API key, shown once. A name already taken is a 409.',
        security: BEARER_SECURITY,
        body: NewPartner,
        response: { 201: CreatedPartner, ...errorResponses(400, 401, 409, 429) },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const apiKey = newApiKey('partner');
      const partner = await app.registry.createPartner(request.body, hashSecret(apiKey));
      request.log.info({ partnerId: partner.id }, 'partner created');
      return reply.status(201).send({ ...partnerDto(partner), apiKey });
    },
  );

  app.get(
    '/v1/partners/me',
    {
      schema: {
        operationId: 'getMyPartner',
        tags: ['partners'],
        summary: 'The calling partner',
        security: BEARER_SECURITY,
        response: { 200: Partner, ...errorResponses(401, 429) },
      },
    },
    async (request) => partnerDto(requirePartner(request)),
  );
};
