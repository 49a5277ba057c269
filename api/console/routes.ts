/**
 * Serves the console at /console/ on the API's own origin (so it needs no CORS and no CDN): the
 * page, its hashed assets (cached for a year) and gzip when the browser takes it. A strict Content
 * Security Policy: scripts, styles and connections only from this origin, no inline code.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { ConsoleAsset, ConsoleBundle } from './bundle.js';

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function send(request: FastifyRequest, reply: FastifyReply, a: ConsoleAsset) {
  reply.headers({
    ...SECURITY_HEADERS,
    'content-type': a.type,
    etag: a.etag,
    vary: 'accept-encoding',
    'cache-control': a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (request.headers['if-none-match'] === a.etag) return reply.status(304).send();
  if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
    return reply.header('content-encoding', 'gzip').send(a.gzip);
  }
  return reply.send(a.body);
}

/** `bundle` may still be building when requests come in; they wait for it. */
export function consoleRoutes(bundle: Promise<ConsoleBundle>): FastifyPluginAsync {
  return async (app) => {
    const ready = async (request: FastifyRequest) => {
      try {
        return await bundle;
      } catch (err) {
        request.log.error({ err }, 'console build failed');
        throw new ApiError(503, 'unavailable', 'the console could not be built; see the API log');
      }
    };
    const opts = { config: { public: true }, schema: { hide: true } };
    app.get('/console', opts, async (_request, reply) => reply.redirect('/console/', 301));
    app.get('/console/', opts, async (request, reply) => {
      const b = await ready(request);
      return send(request, reply, b.assets.get('index.html')!);
    });
    app.get<{ Params: { name: string } }>('/console/assets/:name', opts, async (request, reply) => {
      const a = (await ready(request)).assets.get(`assets/${request.params.name}`);
      if (!a) throw new ApiError(404, 'not_found', 'no such console file', { reason: 'route_not_found' });
      return send(request, reply, a);
    });
  };
}
