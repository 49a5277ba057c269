/**
 * Commands and twins in the broker (commands.ts, twin.ts): built from the broker's parts, and the
 * aedes events that trigger them: a SUBSCRIBE, a persistent session coming back (clientReady), and
 * the expiry sweep.
 */
import type { Aedes, Client } from 'aedes';
import type { CloseStack } from '../core/close-stack.js';
import { commandsTopic, filterMatches } from '../core/command-topics.js';
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

/** Delivery on subscribe and on a session's return; the expiry sweep every `sweepMs`. */
export function startControl(
  aedes: Aedes,
  control: Control,
  opts: { identityOf: (c: Client) => Identity | undefined; sweepMs: number; logger: Logger },
  stack: CloseStack,
): void {
  const onReady = (client: Client) => {
    const identity = opts.identityOf(client);
    if (identity?.kind !== 'device' || !client.connected) return;
    const { deviceId } = identity;
    if (subscriptionFiltersOf(client).some((f) => filterMatches(f, commandsTopic(deviceId))))
      control.commands.deliver(deviceId);
    control.twins.subscribed(client, deviceId);
  };
  // 'subscribe' also fires while a persistent session's subscriptions are restored, before the
  // CONNACK (client.connected is still false then): that case waits for 'clientReady'.
  aedes.on('subscribe', (_subs, client) => onReady(client));
  aedes.on('clientReady', onReady);
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
