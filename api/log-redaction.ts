/**
 * What the API's request logs may show of a request. Fastify logs `req.url` with its query string,
 * and a live stream's URL carries a stream token (`?token=`): the serializer below logs the URL
 * with that value replaced. Keys and secrets never come in URLs (headers and bodies are redacted
 * by path in api/app.ts).
 */
import type { FastifyRequest } from 'fastify';

const SECRET_PARAMS = /([?&](?:token|access_token|api_key|apiKey)=)[^&#]*/g;

export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

/** Fastify's own `req` serializer (lib/logger-pino.js), with the URL redacted. */
export function requestSerializer(req: FastifyRequest) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket ? req.socket.remotePort : undefined,
  };
}
