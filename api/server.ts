/** Listens: the app (app.ts) on a host and port; port 0 takes any free one. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { listenerUrl } from '../core/urls.js';

export interface ApiAddress {
  host: string;
  port: number;
  url: string;
}

export async function listen(
  app: FastifyInstance,
  where: { host: string; port: number },
): Promise<ApiAddress> {
  await app.listen({ host: where.host, port: where.port });
  const { port } = app.server.address() as AddressInfo;
  return { host: where.host, port, url: listenerUrl('http', where.host, port) };
}
