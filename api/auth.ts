/**
 * Who is calling. `Authorization: Bearer <key>` is hashed (SHA-256, as stored) and resolved to the
 * admin or a partner in an onRequest hook; a preValidation hook then refuses (401) every `/v1` route
 * that is not marked `config: { public: true }` when no valid key came. Routes check the role they need
 * with `requireAdmin` / `requirePartner`, and reach pilots and devices only through
 * `pilotForCaller` / `deviceForCaller`, which answer 404 for anything outside the caller's pilots
 * (never 403: existence must not leak).
 *
 * A failed authentication (a wrong or missing key, wrong device credentials) is slowed per source
 * address (`failedAuthentication`, core/failed-auth-throttle.ts); correct credentials never are.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  createFailedAuthThrottle,
  type FailedAuthOptions,
  type FailedAuthThrottle,
} from '../core/failed-auth-throttle.js';
import type { Device, Partner, Pilot, RegistryStore } from '../core/registry/types.js';
import { hashSecret, secretMatches } from '../core/secrets.js';
import { ApiError, notFound, unauthorized } from './errors.js';

export type Principal = { kind: 'admin' } | { kind: 'partner'; partner: Partner };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook; null when no valid key was presented. */
    principal: Principal | null;
    /** SHA-256 of the presented bearer key (valid or not), used as the rate-limit key. */
    apiKeyHash: string | null;
  }
  interface FastifyInstance {
    registry: RegistryStore;
    /** Failed authentications per source address (bad API keys, bad device credentials). */
    failedAuth: FailedAuthThrottle;
  }
  interface FastifyContextConfig {
    /** The route needs no API key (health, docs, device HTTP ingest with its own auth). */
    public?: boolean;
  }
}

/** The bearer token of a request, if any. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Registers the hooks; call before any route is registered. */
export function installAuth(
  app: FastifyInstance,
  adminKeyHash: string,
  failedAuth: Partial<FailedAuthOptions> = {},
): void {
  app.decorate('failedAuth', createFailedAuthThrottle(failedAuth));
  app.decorateRequest('principal', null);
  app.decorateRequest('apiKeyHash', null);

  app.addHook('onRequest', async (request) => {
    const token = bearerToken(request);
    if (token === undefined) return;
    const hash = hashSecret(token);
    request.apiKeyHash = hash;
    if (secretMatches(token, adminKeyHash)) {
      request.principal = { kind: 'admin' };
      return;
    }
    const partner = await app.registry.findPartnerByApiKeyHash(hash);
    if (partner) request.principal = { kind: 'partner', partner };
  });

  // After rate limiting (onRequest), before validation: an anonymous caller learns nothing about
  // the shape of a request, only that it needs a key.
  app.addHook('preValidation', async (request, reply) => {
    if (request.routeOptions.config?.public === true) return;
    const url = request.routeOptions.url;
    if (url === undefined || !url.startsWith('/v1/')) return;
    if (request.principal === null) {
      throw await failedAuthentication(
        request,
        reply,
        bearerToken(request) === undefined
          ? unauthorized('missing API key (Authorization: Bearer <key>)', 'api_key_missing')
          : unauthorized('invalid API key', 'api_key_invalid'),
      );
    }
  });
}

/**
 * The answer to a failed authentication (issue 19): `error` (a 401) after this address's slowdown,
 * or a 429 with Retry-After once it failed too often. Call only after the credentials were checked
 * and found wrong, so correct credentials from the same address are never slowed or refused.
 */
export async function failedAuthentication(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ApiError,
): Promise<ApiError> {
  const verdict = request.server.failedAuth.fail(request.ip);
  if (verdict.refuse) {
    const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    reply.header('retry-after', String(seconds));
    return new ApiError(
      429,
      'rate_limited',
      `too many failed authentications from this address; retry in ${seconds} s`,
      { retryAfterSeconds: seconds },
    );
  }
  if (verdict.delayMs > 0) await sleep(verdict.delayMs);
  return error;
}

export function requireAdmin(request: FastifyRequest): void {
  if (request.principal?.kind !== 'admin')
    throw unauthorized('this route needs the admin API key', 'admin_key_required');
}

export function requirePartner(request: FastifyRequest): Partner {
  const principal = request.principal;
  if (principal?.kind !== 'partner')
    throw unauthorized('this route needs a partner API key', 'partner_key_required');
  return principal.partner;
}

/** The pilot, when the caller (a partner) is a member; otherwise a 404 ApiError. */
export async function pilotForCaller(request: FastifyRequest, pilotId: string): Promise<Pilot> {
  const partner = requirePartner(request);
  const pilot = await request.server.registry.getPilotForPartner(pilotId, partner.id);
  if (!pilot) throw notFound('pilot');
  return pilot;
}

/** The device, when the caller (a partner) is a member of its pilot; otherwise a 404 ApiError. */
export async function deviceForCaller(request: FastifyRequest, deviceId: string): Promise<Device> {
  const partner = requirePartner(request);
  const device = await request.server.registry.getDeviceForPartner(deviceId, partner.id);
  if (!device) throw notFound('device');
  return device;
}

/** OpenAPI security requirement for routes that take a bearer key. */
export const BEARER_SECURITY = [{ bearerAuth: [] }];
