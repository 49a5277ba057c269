/** HTTP Basic with a device's own id and secret, for the device-side command and twin routes. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DeviceCredential } from '../../core/registry/types.js';
import { secretMatches } from '../../core/secrets.js';
import type { TokenBuckets } from '../../core/token-bucket.js';
import { failedAuthentication } from '../auth.js';
import { ApiError } from '../errors.js';
import { basicCredentials } from '../routes/http-ingest.js';

/**
 * The device's credential when the request carries its id (matching the path) and secret, else 401;
 * then the device's own rate (the broker's DEVICE_MAX_MESSAGES_PER_SECOND): 429 with Retry-After.
 */
export async function authenticateDevice(
  request: FastifyRequest,
  reply: FastifyReply,
  deviceId: string,
  buckets: TokenBuckets,
): Promise<DeviceCredential> {
  const creds = basicCredentials(request.headers.authorization);
  const credential =
    creds && creds[0] === deviceId ? await request.server.registry.getDeviceCredential(deviceId) : undefined;
  if (!creds || !credential || !secretMatches(creds[1], credential.secretHash)) {
    throw await failedAuthentication(
      request,
      reply,
      new ApiError(401, 'unauthorized', 'expected HTTP Basic with this device id and its secret', {
        reason: 'device_credentials_invalid',
      }),
    );
  }
  const waitMs = buckets.tryTake(deviceId);
  if (waitMs > 0) {
    reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
    throw new ApiError(
      429,
      'rate_limited',
      `this device is over its rate of ${buckets.ratePerSecond} requests per second`,
      {
        limitPerSecond: buckets.ratePerSecond,
        burst: buckets.burst,
      },
    );
  }
  return credential;
}

export const DEVICE_BASIC = [{ deviceBasic: [] }];
