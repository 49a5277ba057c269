/**
 * What the API's request logs may show of a request. Fastify logs `req.url` with its query string,
 * and a live stream's URL carries a stream token (`?token=`): the serializer below logs the URL
 * with that value replaced. Keys and secrets never come in URLs (headers and bodies are redacted
 * by path in api/app.ts).
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

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

/**
 * Fastify's two request log lines at debug instead of info: at the default level a running
 * platform's output stays readable, and the start banner with the one-time admin key is not scrolled
 * away by every request. A request that ended in an error stays at error (Fastify's default).
 */
export class DebugRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error || this.isLogDisabled(request)) {
      super.requestCompleted(error, request, reply, {});
      return;
    }
    reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
