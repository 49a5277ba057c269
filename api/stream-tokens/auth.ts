/**
 * `?token=` on the live-stream routes: a route marked `config: { streamToken: 'device' | 'pilot' }`
 * accepts a stream token (api/stream-tokens/token.ts) instead of `Authorization`. The token stands
 * for the partner that minted it, for that one stream, once. Installed as an onRequest hook next to
 * the API-key hook (before rate limiting and the "key required" check); a bearer key wins when both
 * come. The request logger never sees the token (api/log-redaction.ts).
 */
import type { FastifyInstance } from 'fastify';
import { unauthorized } from '../errors.js';
import type { StreamTokens } from './token.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route is a live stream that accepts `?token=` for this kind of scope. */
    streamToken?: 'device' | 'pilot';
  }
}

export function installStreamTokenAuth(app: FastifyInstance, tokens: StreamTokens): void {
  app.addHook('onRequest', async (request) => {
    const kind = request.routeOptions.config?.streamToken;
    if (kind === undefined || request.headers.authorization !== undefined) return;
    const token = (request.query as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string') return;
    const params = request.params as Record<string, string | undefined>;
    const id = (kind === 'device' ? params.deviceId : params.pilotId) ?? '';
    const redeemed = tokens.redeem(token, { kind, id });
    if ('reason' in redeemed) throw unauthorized(redeemed.message, redeemed.reason);
    const partner = await app.registry.getPartner(redeemed.partnerId);
    if (!partner) throw unauthorized('invalid stream token', 'stream_token_invalid');
    request.principal = { kind: 'partner', partner };
  });
}
