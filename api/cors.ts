/**
 * CORS: off unless API_CORS_ORIGINS lists origins (the console needs none: the API serves it on its
 * own origin). With a list, only those exact origins may call the API from a browser; credentials
 * stay in the Authorization header (no cookies), so `credentials` is not allowed.
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

export async function installCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  if (origins.length === 0) return;
  await app.register(cors, {
    origin: [...origins],
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'accept'],
    exposedHeaders: ['x-next-cursor', 'retry-after'],
    maxAge: 600,
  });
}
