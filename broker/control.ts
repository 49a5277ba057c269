/**
 * Commands and twins in the broker (commands.ts, twin.ts): built from the broker's parts, and the
 * aedes events that trigger them: a SUBSCRIBE, a persistent session coming back (clientReady), and
 * the expiry sweep.
 */
import type { Aedes, Client, PublishPacket } from 'aedes';
import type { CloseStack } from '../core/close-stack.js';
import type { DeviceChange } from '../core/command-json.js';
import {
  commandsTopic,
  DEVICE_CHANGES_FILTER,
  filterMatches,
  parseDeviceChangesTopic,
} from '../core/command-topics.js';
import type { Logger } from '../core/log.js';
import type { CommandStore, TwinStore } from '../core/registry/command-types.js';
import type { Identity } from './acl.js';
import { subscriptionFiltersOf } from './aedes-internals.js';
import { type CommandDelivery, createCommandDelivery } from './commands.js';
import type { DeviceErrorBuffer } from './device-errors.js';
import type { DeviceSessions } from './revocation.js';
import { createDeviceTwins, type DeviceTwins } from './twin.js';

export interface Control {
  commands: CommandDelivery;
  twins: DeviceTwins;
}

export function createControl(deps: {
  registry: CommandStore & TwinStore;
  sessions: DeviceSessions;
  aedes: () => Aedes;
  errors: DeviceErrorBuffer;
  logger: Logger;
  now: () => number;
}): Control {
  return { commands: createCommandDelivery(deps), twins: createDeviceTwins(deps) };
}

/**
 * Acts on the API's announcements: a queued command starts a delivery round, a new desired version
 * goes to the device. Subscribed on aedes' mq, so with a shared mqemitter (Redis) every broker node
 * hears it and the one holding the device's connection delivers. The broker's own announcements
 * (delivered, answered, reported) come back here too and are ignored.
 */
function onDeviceChange(control: Control, logger: Logger) {
  const desiredSeen = new Map<string, number>();
  return (packet: PublishPacket, done: () => void) => {
    const where = parseDeviceChangesTopic(packet.topic);
    try {
      const change = where && (JSON.parse(packet.payload.toString()) as DeviceChange);
      if (where && change?.type === 'command' && change.command.status === 'queued') {
        control.commands.deliver(where.deviceId);
      } else if (
        where &&
        change?.type === 'twin' &&
        change.twin.version > (desiredSeen.get(where.deviceId) ?? 0)
      ) {
        // Remembered per device: a report announces the same version again and sends nothing.
        desiredSeen.delete(where.deviceId);
        desiredSeen.set(where.deviceId, change.twin.version);
        if (desiredSeen.size > 10_000) desiredSeen.delete(desiredSeen.keys().next().value as string);
        control.twins.desiredChanged(where.deviceId);
      }
    } catch (err) {
      logger.warn({ err, topic: packet.topic }, 'ignoring a malformed device change');
    }
    done();
  };
}

/** Delivery on announcements, on subscribe and on a session's return; the expiry sweep every `sweepMs`. */
export async function startControl(
  aedes: Aedes,
  control: Control,
  opts: { identityOf: (c: Client) => Identity | undefined; sweepMs: number; logger: Logger },
  stack: CloseStack,
): Promise<void> {
  const onChange = onDeviceChange(control, opts.logger);
  await new Promise<void>((resolve, reject) =>
    aedes.subscribe(DEVICE_CHANGES_FILTER, onChange as never, (err?: Error) =>
      err ? reject(err) : resolve(),
    ),
  );
  stack.push(
    'device-changes subscription',
    onChange,
    (fn) =>
      new Promise<void>((resolve) => aedes.unsubscribe(DEVICE_CHANGES_FILTER, fn as never, () => resolve())),
  );
  // `filters`: what was just subscribed (SUBSCRIBE) or everything the session has (clientReady).
  const onReady = (client: Client, filters = subscriptionFiltersOf(client)) => {
    const identity = opts.identityOf(client);
    if (identity?.kind !== 'device' || !client.connected) return;
    const { deviceId } = identity;
    if (filters.some((f) => filterMatches(f, commandsTopic(deviceId)))) control.commands.deliver(deviceId);
    control.twins.subscribed(client, deviceId, filters);
  };
  // 'subscribe' also fires while a persistent session's subscriptions are restored, before the
  // CONNACK (client.connected is still false then): that case waits for 'clientReady'.
  // A refused filter was rewritten to `$platform/refused` (subscribe.ts), so it matches nothing here.
  aedes.on('subscribe', (subs, client) =>
    onReady(
      client,
      subs.map((s) => s.topic),
    ),
  );
  aedes.on('clientReady', (client) => onReady(client));
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    control.commands
      .sweep()
      .catch((err) => opts.logger.warn({ err }, 'command expiry sweep failed'))
      .finally(() => {
        sweeping = false;
      });
  }, opts.sweepMs);
  timer.unref();
  stack.push('command expiry sweep', timer, clearInterval);
}
