/**
 * HTTP Basic with a device's own id and secret (its MQTT credentials), then the device's own rate:
 * the one gate of every device-side route (HTTP ingest, commands, twin).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DeviceCredential, DeviceLookup } from '../core/registry/types.js';
import { secretMatches } from '../core/secrets.js';
import type { TokenBuckets } from '../core/token-bucket.js';
import { failedAuthentication } from './auth.js';
import { ApiError } from './errors.js';

export const DEVICE_BASIC = [{ deviceBasic: [] }];

/** `Authorization: Basic base64(id:secret)` -> [id, secret]. */
export function basicCredentials(header: string | undefined): [string, string] | undefined {
  const m = typeof header === 'string' ? /^Basic\s+([A-Za-z0-9+/=_-]{1,512})\s*$/i.exec(header) : null;
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

export function deviceUnauthorized(): ApiError {
  return new ApiError(401, 'unauthorized', 'expected HTTP Basic with this device id and its secret', {
    reason: 'device_credentials_invalid',
  });
}

/**
 * The device's credential when the request carries its id (matching the path) and secret, else 401
 * (slowed per source address, never a lockout); then the device's own rate (the broker's
 * DEVICE_MAX_MESSAGES_PER_SECOND): 429 with Retry-After. `rateUnit` names what the rate counts.
 */
export async function authenticateDevice(
  request: FastifyRequest,
  reply: FastifyReply,
  deviceId: string,
  gate: {
    devices: Pick<DeviceLookup, 'getDeviceCredential'>;
    buckets: TokenBuckets;
    rateUnit: string;
  },
): Promise<DeviceCredential> {
  const { devices, buckets } = gate;
  const creds = basicCredentials(request.headers.authorization);
  const credential = creds && creds[0] === deviceId ? await devices.getDeviceCredential(deviceId) : undefined;
  if (!creds || !credential || !secretMatches(creds[1], credential.secretHash)) {
    const error = await failedAuthentication(request, reply, deviceUnauthorized());
    // [RFC 7235 3.1] a 401 names the scheme; a slowed address gets 429 instead.
    if (error.statusCode === 401) reply.header('www-authenticate', 'Basic realm="devices", charset="UTF-8"');
    throw error;
  }
  const waitMs = buckets.tryTake(deviceId);
  if (waitMs > 0) {
    reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
    throw new ApiError(
      429,
      'rate_limited',
      `this device is over its rate of ${buckets.ratePerSecond} ${gate.rateUnit}`,
      { limitPerSecond: buckets.ratePerSecond, burst: buckets.burst },
    );
  }
  return credential;
}
