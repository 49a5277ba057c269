/**
 * Commands and the twin for devices without MQTT (issue 15), with the device's own HTTP Basic: take
 * the pending commands (each is then delivered), answer one, report the twin. Device errors and
 * outcomes are those of MQTT: the first answer stands, a late one is refused (409).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commandJson, commandMessage, twinJson } from '../../core/command-json.js';
import { TokenBuckets } from '../../core/token-bucket.js';
import { checkTwinPatch, reportedChange, TwinLimitError } from '../../core/twin.js';
import {
  Command,
  CommandAnswer,
  CommandParams,
  PendingCommand,
  ReportedPatch,
  Twin,
} from '../control/schemas.js';
import { authenticateDevice, DEVICE_BASIC } from '../device-auth.js';
import { conflict } from '../errors.js';
import { DeviceParams, errorResponses } from '../schemas.js';
import { announceCommand, type ControlRoutesOptions, commandNotFound } from './commands.js';
import { twinLimitProblem } from './twin.js';

const TAGS = ['devices (HTTP)'];
// Device routes take no API key and are not in the partners' per-key rate limit.
const DEVICE_ROUTE = { public: true, rateLimit: false } as const;

export const deviceControlRoutes: FastifyPluginAsyncZod<
  ControlRoutesOptions & { deviceRate?: { perSecond: number; burst: number } | undefined }
> = async (app, opts) => {
  const now = opts.now ?? Date.now;
  // Per device, as HTTP ingest: many devices behind one NAT each get their own budget.
  const rate = opts.deviceRate ?? { perSecond: 200, burst: 200 };
  const buckets = new TokenBuckets(rate.perSecond, rate.burst, now);
  const gate = { devices: app.registry, buckets, rateUnit: 'requests per second' };

  app.get(
    '/v1/devices/:deviceId/commands/pending',
    {
      config: DEVICE_ROUTE,
      schema: {
        tags: TAGS,
        operationId: 'takePendingCommands',
        summary: 'Take the queued commands (device credentials)',
        description: 'Oldest first, at most 100; each one returned is delivered from then on.',
        security: DEVICE_BASIC,
        params: DeviceParams,
        response: { 200: z.object({ items: z.array(PendingCommand) }), ...errorResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const device = await authenticateDevice(request, reply, request.params.deviceId, gate);
      const items = [];
      for (const c of await app.registry.pendingCommands(device.deviceId, now(), 100)) {
        const claimed = await app.registry.markCommandDelivered(c.id, now());
        if (!claimed) continue;
        announceCommand(opts, claimed, request.log);
        items.push(JSON.parse(commandMessage(claimed)) as z.infer<typeof PendingCommand>);
      }
      return { items };
    },
  );

  app.post(
    '/v1/devices/:deviceId/commands/:commandId/response',
    {
      config: DEVICE_ROUTE,
      schema: {
        tags: TAGS,
        operationId: 'answerCommand',
        summary: 'Answer a command (device credentials)',
        description:
          'The first answer stands: repeating it answers 200 with the stored command; after expiry or ' +
          'cancellation 409 `command_closed`.',
        security: DEVICE_BASIC,
        params: CommandParams,
        body: CommandAnswer,
        response: { 200: Command, ...errorResponses(400, 401, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const device = await authenticateDevice(request, reply, request.params.deviceId, gate);
      const { status, result } = request.body;
      const outcome = await app.registry.recordCommandResponse(
        device.deviceId,
        request.params.commandId,
        { ok: status === 'ok', result: result ?? null },
        now(),
      );
      if (outcome.outcome === 'unknown') throw commandNotFound();
      if (outcome.outcome === 'closed') {
        throw conflict(`command is ${outcome.command.status}; the answer came too late`, 'command_closed');
      }
      if (outcome.outcome === 'recorded') announceCommand(opts, outcome.command, request.log);
      return commandJson(outcome.command);
    },
  );

  app.patch(
    '/v1/devices/:deviceId/twin/reported',
    {
      config: DEVICE_ROUTE,
      schema: {
        tags: TAGS,
        operationId: 'reportTwin',
        summary: 'Report state: a JSON merge patch of the reported state (device credentials)',
        security: DEVICE_BASIC,
        params: DeviceParams,
        body: ReportedPatch,
        response: { 200: Twin, ...errorResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const device = await authenticateDevice(request, reply, request.params.deviceId, gate);
      try {
        const patch = checkTwinPatch(request.body, 'body');
        const twin = twinJson(await app.registry.updateTwin(device.deviceId, reportedChange(patch, now())));
        opts.changes
          ?.publish(device.pilotId, device.deviceId, { type: 'twin', twin })
          .catch((err) => request.log.warn({ err }, 'could not announce a twin change'));
        return twin;
      } catch (err) {
        throw err instanceof TwinLimitError ? twinLimitProblem(err) : err;
      }
    },
  );
};
