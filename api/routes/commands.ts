/**
 * Commands to a device, for the partners of its pilot (issue 15): send (202, queued), list, read,
 * cancel while queued. Another partner gets 404 on every route. Each new or cancelled command is
 * announced on `$platform/device-changes/...`, which is how the broker learns to deliver it.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type CommandJson, commandJson } from '../../core/command-json.js';
import { type CommandRecord, TooManyOpenCommands } from '../../core/registry/command-types.js';
import { BEARER_SECURITY, deviceForCaller, requirePartner } from '../auth.js';
import {
  COMMANDS_MAX_OPEN_PER_DEVICE,
  Command,
  CommandAccepted,
  CommandParams,
  NewCommand,
} from '../control/schemas.js';
import { ApiError, conflict } from '../errors.js';
import type { DeviceChanges } from '../live/device-changes.js';
import { DeviceParams, errorResponses, pageOf, RegistryPageQuery } from '../schemas.js';

export interface ControlRoutesOptions {
  /** Where changes are announced (the broker delivers on them); unset: nothing is announced. */
  changes?: Pick<DeviceChanges, 'publish'> | undefined;
  /** Open (queued or delivered) commands per device; default COMMANDS_MAX_OPEN_PER_DEVICE. */
  maxOpenPerDevice?: number | undefined;
  now?: () => number;
}

const TAGS = ['commands'];

export const commandNotFound = () =>
  new ApiError(404, 'not_found', 'command not found', { reason: 'command_not_found' });

/** Announces without holding the answer: a broker that is down delivers at the device's next subscribe. */
export function announceCommand(
  opts: ControlRoutesOptions,
  c: CommandRecord,
  log: { warn: (o: object, m: string) => void },
) {
  const command: CommandJson = commandJson(c);
  opts.changes
    ?.publish(c.pilotId, c.deviceId, { type: 'command', command })
    .catch((err) => log.warn({ err }, 'could not announce a command change to the broker'));
}

export const commandRoutes: FastifyPluginAsyncZod<ControlRoutesOptions> = async (app, opts) => {
  const now = opts.now ?? Date.now;

  app.post(
    '/v1/devices/:deviceId/commands',
    {
      schema: {
        tags: TAGS,
        operationId: 'sendCommand',
        summary: 'Send a command to a device',
        description:
          'Queued at once (202). Delivered on MQTT `devices/{deviceId}/commands` (QoS 1) while the device is ' +
          'subscribed there, else when it subscribes or its persistent session comes back; over HTTP by ' +
          '`GET .../commands/pending`. Not answered within `ttlMs`, it expires. A device has at most 1,000 ' +
          'open (queued or delivered) commands: past that a 429 `too_many_open_commands`.',
        security: BEARER_SECURITY,
        params: DeviceParams,
        body: NewCommand,
        response: { 202: CommandAccepted, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const partner = requirePartner(request);
      const device = await deviceForCaller(request, request.params.deviceId);
      const { name, params, ttlMs } = request.body;
      const maxOpen = opts.maxOpenPerDevice ?? COMMANDS_MAX_OPEN_PER_DEVICE;
      let command: CommandRecord;
      try {
        command = await app.registry.createCommand({
          deviceId: device.id,
          pilotId: device.pilotId,
          name,
          params: params ?? null,
          ttlMs,
          sentBy: partner.id,
          now: now(),
          maxOpen,
        });
      } catch (err) {
        if (!(err instanceof TooManyOpenCommands)) throw err;
        throw new ApiError(
          429,
          'rate_limited',
          `the device has ${maxOpen} commands not yet answered or expired; wait for them or cancel queued ones`,
          { reason: 'too_many_open_commands', limit: maxOpen },
        );
      }
      request.log.info(
        { deviceId: device.id, commandId: command.id, name, partnerId: partner.id },
        'command queued',
      );
      announceCommand(opts, command, request.log);
      const json = commandJson(command);
      return reply
        .status(202)
        .send({ commandId: json.commandId, status: 'queued' as const, expiresAt: json.expiresAt });
    },
  );

  app.get(
    '/v1/devices/:deviceId/commands',
    {
      schema: {
        tags: TAGS,
        operationId: 'listCommands',
        summary: "A device's commands, newest first, with the time of each step and who sent each",
        security: BEARER_SECURITY,
        params: DeviceParams,
        querystring: RegistryPageQuery,
        response: { 200: pageOf(Command), ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const device = await deviceForCaller(request, request.params.deviceId);
      const page = await app.registry.listCommands(device.id, request.query);
      return { items: page.items.map(commandJson), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/devices/:deviceId/commands/:commandId',
    {
      schema: {
        tags: TAGS,
        operationId: 'getCommand',
        summary: 'One command: its status and the time of each step',
        security: BEARER_SECURITY,
        params: CommandParams,
        response: { 200: Command, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const device = await deviceForCaller(request, request.params.deviceId);
      const command = await app.registry.getCommand(device.id, request.params.commandId);
      if (!command) throw commandNotFound();
      return commandJson(command);
    },
  );

  app.post(
    '/v1/devices/:deviceId/commands/:commandId/cancel',
    {
      schema: {
        tags: TAGS,
        operationId: 'cancelCommand',
        summary: 'Cancel a command that is still queued',
        description:
          'A command already handed to the device cannot be called back: 409 `command_not_queued`.',
        security: BEARER_SECURITY,
        params: CommandParams,
        response: { 200: Command, ...errorResponses(400, 401, 404, 409, 429) },
      },
    },
    async (request) => {
      const device = await deviceForCaller(request, request.params.deviceId);
      const outcome = await app.registry.cancelCommand(device.id, request.params.commandId, now());
      if (!outcome) throw commandNotFound();
      if (!outcome.cancelled) {
        throw conflict(
          `command is ${outcome.command.status}; only a queued command can be cancelled`,
          'command_not_queued',
        );
      }
      announceCommand(opts, outcome.command, request.log);
      return commandJson(outcome.command);
    },
  );
};
