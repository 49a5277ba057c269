/**
 * One device: read, patch, delete (revokes its secret; the broker drops its live session when it
 * sees the credential change), and credential rotation. Every route answers 404 for a device outside
 * the caller's pilots. The device schemas here are shared with the pilot routes.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Device as DeviceRecord } from '../../core/registry/types.js';
import { generateSecret, hashSecret } from '../../core/secrets.js';
import { telemetryTopic } from '../../core/topics.js';
import type { BrokerUrls } from '../../core/urls.js';
import { BEARER_SECURITY, deviceForCaller } from '../auth.js';
import { notFound } from '../errors.js';
import {
  DeviceId,
  DeviceParams,
  errorResponses,
  PilotId,
  pageOf,
  RegistryPageQuery,
  safeName,
  Timestamp,
  toTimestamp,
  toTimestampOrNull,
} from '../schemas.js';

const METADATA_MAX_BYTES = 16 * 1024;

const Name = safeName(200);
const OptionalText = safeName(200).nullable().optional();
const Metadata = z
  .record(z.string(), z.unknown())
  .refine(
    (m) => JSON.stringify(m).length <= METADATA_MAX_BYTES,
    `expected at most ${METADATA_MAX_BYTES} bytes of JSON`,
  )
  .meta({ description: 'Free-form JSON object (at most 16 KiB)', example: { location: 'hall 3', rack: 7 } });

export const NewDevice = z
  .strictObject({
    name: Name.meta({ example: 'boiler-sensor-1' }),
    model: OptionalText.meta({ example: 'TH-200' }),
    firmwareVersion: OptionalText.meta({ example: '1.4.2' }),
    metadata: Metadata.optional(),
  })
  .meta({ id: 'NewDevice' });

const DevicePatch = z
  .strictObject({
    name: Name.optional(),
    model: OptionalText,
    firmwareVersion: OptionalText,
    metadata: Metadata.optional().meta({ description: 'Replaces the whole metadata object' }),
  })
  .refine((p) => Object.keys(p).length > 0, 'expected at least one of name, model, firmwareVersion, metadata')
  .meta({ id: 'DevicePatch', description: 'Fields to change; null clears model or firmwareVersion' });

export const Device = z
  .object({
    id: DeviceId,
    pilotId: PilotId,
    name: z.string(),
    model: z.string().nullable(),
    firmwareVersion: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    status: z.object({
      online: z.boolean().meta({ description: 'Connected to the broker now' }),
      lastSeenAt: Timestamp.nullable().meta({
        description: 'Last connect, message or disconnect; null if never',
      }),
    }),
  })
  .meta({ id: 'Device' });

export const Credentials = z
  .object({
    username: z
      .string()
      .meta({ description: 'MQTT username: the device id', example: 'dev_q2w3e4r5t6y7u2i3o4p5' }),
    password: z.string().meta({
      description: 'MQTT password (the device secret). Shown only in this response.',
      example: 'Xy3kP0s9QmL2vB7nR4tW8zC1dF6gH5jK0aE3uI9oY2w',
    }),
    mqttUrl: z.string().meta({ example: 'mqtt://127.0.0.1:1883' }),
    urls: z
      .object({
        mqtt: z.string().meta({ description: 'MQTT over TCP', example: 'mqtt://127.0.0.1:1883' }),
        mqtts: z
          .string()
          .optional()
          .meta({ description: 'MQTT over TLS, when on', example: 'mqtts://127.0.0.1:8883' }),
        ws: z
          .string()
          .optional()
          .meta({ description: 'MQTT over WebSocket, when on', example: 'ws://127.0.0.1:8083/mqtt' }),
        wss: z.string().optional().meta({
          description: 'MQTT over WebSocket with TLS, when on',
          example: 'wss://127.0.0.1:8084/mqtt',
        }),
        http: z.string().meta({
          description: 'HTTP ingest: POST the same payloads with HTTP Basic (device id and secret)',
          example: 'http://127.0.0.1:8080/v1/devices/dev_q2w3e4r5t6y7u2i3o4p5/telemetry',
        }),
      })
      .meta({ description: 'Every URL the platform serves this device at' }),
    topic: z.string().meta({
      description: 'Where to publish readings',
      example: 'devices/dev_q2w3e4r5t6y7u2i3o4p5/telemetry',
    }),
  })
  .meta({ id: 'DeviceCredentials' });

export const DeviceWithCredentials = Device.extend({ credentials: Credentials }).meta({
  id: 'DeviceWithCredentials',
});

export const deviceDto = (d: DeviceRecord) => ({
  id: d.id,
  pilotId: d.pilotId,
  name: d.name,
  model: d.model,
  firmwareVersion: d.firmwareVersion,
  metadata: d.metadata,
  createdAt: toTimestamp(d.createdAt),
  updatedAt: toTimestamp(d.updatedAt),
  status: { online: d.status.online, lastSeenAt: toTimestampOrNull(d.status.lastSeenAt) },
});

/** A fresh device secret: the password shown once, and the hash the registry stores. */
export function newDeviceSecret() {
  const password = generateSecret();
  return { password, secretHash: hashSecret(password) };
}

/** Where devices reach the platform: the advertised broker URLs (mqtt, and mqtts, ws, wss when on). */
export interface DeviceEndpoints {
  mqttPublicUrl: string;
  deviceUrls?: Omit<BrokerUrls, 'mqtt'> | undefined;
}

/** What a device needs to log in and publish; HTTP ingest at the origin the caller reached the API by. */
export function credentialsFor(
  deviceId: string,
  password: string,
  endpoints: DeviceEndpoints,
  request: Pick<FastifyRequest, 'protocol' | 'host'>,
) {
  const http = `${request.protocol}://${request.host}/v1/devices/${deviceId}/telemetry`;
  return {
    username: deviceId,
    password,
    mqttUrl: endpoints.mqttPublicUrl,
    urls: { mqtt: endpoints.mqttPublicUrl, ...endpoints.deviceUrls, http },
    topic: telemetryTopic(deviceId),
  };
}

export const deviceRoutes: FastifyPluginAsyncZod<DeviceEndpoints> = async (app, opts) => {
  app.get(
    '/v1/devices/:deviceId',
    {
      schema: {
        operationId: 'getDevice',
        tags: ['devices'],
        summary: 'One device, with its connection status',
        security: BEARER_SECURITY,
        params: DeviceParams,
        response: { 200: Device, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => deviceDto(await deviceForCaller(request, request.params.deviceId)),
  );

  app.patch(
    '/v1/devices/:deviceId',
    {
      schema: {
        operationId: 'updateDevice',
        tags: ['devices'],
        summary: 'Change a device',
        security: BEARER_SECURITY,
        params: DeviceParams,
        body: DevicePatch,
        response: { 200: Device, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const device = await deviceForCaller(request, request.params.deviceId);
      const updated = await app.registry.updateDevice(device.id, request.body);
      if (!updated) throw notFound('device'); // deleted meanwhile
      return deviceDto(updated);
    },
  );

  app.delete(
    '/v1/devices/:deviceId',
    {
      schema: {
        operationId: 'deleteDevice',
        tags: ['devices'],
        summary: 'Delete a device',
        description:
          'Revokes its secret at once and drops its live MQTT connection. Its stored telemetry stays.',
        security: BEARER_SECURITY,
        params: DeviceParams,
        response: { 204: z.null().meta({ description: 'Deleted' }), ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const device = await deviceForCaller(request, request.params.deviceId);
      if (!(await app.registry.deleteDevice(device.id))) throw notFound('device');
      request.log.info({ deviceId: device.id }, 'device deleted');
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/devices/:deviceId/credentials',
    {
      schema: {
        operationId: 'rotateDeviceCredentials',
        tags: ['devices'],
        summary: 'Rotate the device secret',
        description:
          'Issues a new secret (shown once). The old one stops working and a live session using it is dropped.',
        security: BEARER_SECURITY,
        params: DeviceParams,
        response: { 200: DeviceWithCredentials, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const device = await deviceForCaller(request, request.params.deviceId);
      const { password, secretHash } = newDeviceSecret();
      if (!(await app.registry.rotateDeviceSecret(device.id, secretHash))) throw notFound('device');
      request.log.info({ deviceId: device.id }, 'device credentials rotated');
      return {
        ...deviceDto(await deviceForCaller(request, device.id)),
        credentials: credentialsFor(device.id, password, opts, request),
      };
    },
  );
};

const DeviceErrorItem = z
  .object({
    at: Timestamp.meta({ description: 'When the platform received the refused message' }),
    reason: z
      .string()
      .meta({ example: 'key "temperature": expected number (its type in this pilot), got string' }),
    payloadPrefix: z.string().meta({ description: 'The first bytes of the refused payload, as text' }),
  })
  .meta({ id: 'DeviceError' });

/** `GET /v1/devices/{deviceId}/errors`: the device's refused messages, newest first. */
export const deviceErrorRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/devices/:deviceId/errors',
    {
      schema: {
        operationId: 'listDeviceErrors',
        tags: ['devices'],
        summary: "The device's refused messages, newest first",
        description:
          'Written by the broker and ingest; only the newest ones are kept (DEVICE_ERRORS_KEPT per device).',
        security: BEARER_SECURITY,
        params: DeviceParams,
        querystring: RegistryPageQuery,
        response: { 200: pageOf(DeviceErrorItem), ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const device = await deviceForCaller(request, request.params.deviceId);
      const page = await app.registry.listDeviceErrors(device.id, request.query);
      return {
        items: page.items.map((e) => ({
          at: toTimestamp(e.at),
          reason: e.reason,
          payloadPrefix: e.payloadPrefix,
        })),
        nextCursor: page.nextCursor,
      };
    },
  );
};
