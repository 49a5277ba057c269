/**
 * Commands to devices (issue 15). The registry is the queue: a command goes to a device only while
 * one of its connections is subscribed to `devices/{id}/commands`, when the API announces a new one
 * (`$platform/device-changes/...`), when the device subscribes, and when a persistent session comes
 * back with that subscription. Sending claims the command first (queued -> delivered), so of two
 * triggers or two broker nodes exactly one sends it. Answers are stored before their PUBACK.
 * docs/DESIGN.md, "Commands and twins".
 */
import type { Aedes, Client, PublishPacket } from 'aedes';
import { commandJson, commandMessage, type DeviceChange } from '../core/command-json.js';
import { commandsTopic, deviceChangesTopic, filterMatches } from '../core/command-topics.js';
import { jsonDepthExceededAt } from '../core/json-depth.js';
import type { Logger } from '../core/log.js';
import type { CommandRecord, CommandStore } from '../core/registry/command-types.js';
import { publishOwn, subscriptionFiltersOf } from './aedes-internals.js';
import type { DeviceErrorBuffer } from './device-errors.js';
import type { DeviceSessions } from './revocation.js';

/** Commands sent per delivery round; the next round follows at once while more are pending. */
const ROUND = 100;
/** Nesting allowed in a command answer. */
const RESPONSE_MAX_DEPTH = 16;

export interface CommandDeps {
  registry: CommandStore;
  sessions: DeviceSessions;
  aedes: () => Aedes;
  errors: Pick<DeviceErrorBuffer, 'add'>;
  logger: Logger;
  now: () => number;
}

export interface CommandDelivery {
  /** Sends what is pending to the device's subscribed connections (coalesced per device). */
  deliver(deviceId: string): void;
  /** A device's answer on `devices/{id}/commands/{commandId}/response`; `done(err)` holds the PUBACK. */
  answer(
    deviceId: string,
    pilotId: string,
    commandId: string,
    payload: Buffer,
    done: (err?: Error) => void,
  ): void;
  /** Queued or delivered commands past their expiry become expired, announced to the API. */
  sweep(): Promise<void>;
  /** authorizeForward: a command queued in a session that expired meanwhile is not sent [drop]. */
  mayForward(packet: PublishPacket): boolean;
}

/** Announces a change on `$platform/device-changes/...` (QoS 0: for live streams). */
export function announce(
  aedes: Aedes,
  pilotId: string,
  deviceId: string,
  change: DeviceChange,
  logger: Logger,
) {
  publishOwn(aedes, deviceChangesTopic(pilotId, deviceId), JSON.stringify(change)).catch((err) =>
    logger.warn({ err }, 'could not announce a device change'),
  );
}

/** The device's connections subscribed to `topic` now. */
export function subscribedClients(sessions: DeviceSessions, deviceId: string, topic: string): Client[] {
  return sessions
    .of(deviceId)
    .map(([client]) => client)
    .filter((c) => c.connected && !c.closed && subscriptionFiltersOf(c).some((f) => filterMatches(f, topic)));
}

export function createCommandDelivery(deps: CommandDeps): CommandDelivery {
  const { registry, logger } = deps;
  // Per device: a round runs; `again` asks for one more after it (coalesces bursts of triggers).
  const rounds = new Map<string, { again: boolean }>();
  const announceCommand = (c: CommandRecord) =>
    announce(deps.aedes(), c.pilotId, c.deviceId, { type: 'command', command: commandJson(c) }, logger);

  async function round(deviceId: string): Promise<boolean> {
    const topic = commandsTopic(deviceId);
    if (subscribedClients(deps.sessions, deviceId, topic).length === 0) return false;
    const pending = await registry.pendingCommands(deviceId, deps.now(), ROUND);
    for (const command of pending) {
      const target = subscribedClients(deps.sessions, deviceId, topic)[0];
      if (!target) return false;
      const claimed = await registry.markCommandDelivered(command.id, deps.now());
      if (!claimed) continue; // cancelled, expired or sent by another node meanwhile
      const packet = {
        cmd: 'publish',
        topic,
        payload: Buffer.from(commandMessage(claimed)),
        qos: 1,
        retain: false,
        dup: false,
      };
      // QoS 1 into the session: a persistent one keeps it on disk until the PUBACK [MQTT-4.4.0-1].
      target.publish(packet as PublishPacket, (err) => {
        if (err)
          logger.debug(
            { err, commandId: claimed.id },
            'command write failed; the session keeps it if persistent',
          );
      });
      announceCommand(claimed);
    }
    return pending.length === ROUND;
  }

  function deliver(deviceId: string): void {
    const running = rounds.get(deviceId);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    rounds.set(deviceId, state);
    void (async () => {
      try {
        do {
          state.again = false;
          if (await round(deviceId)) state.again = true;
        } while (state.again);
      } catch (err) {
        logger.warn({ err, deviceId }, 'command delivery failed; retried at the next trigger');
      } finally {
        rounds.delete(deviceId);
      }
    })();
  }

  function answer(
    deviceId: string,
    pilotId: string,
    commandId: string,
    payload: Buffer,
    done: (err?: Error) => void,
  ) {
    const parsed = parseAnswer(payload);
    if (typeof parsed === 'string') {
      deps.errors.add(deviceId, `command response refused: ${parsed}`, payload);
      return done();
    }
    registry.recordCommandResponse(deviceId, commandId, parsed, deps.now()).then((outcome) => {
      switch (outcome.outcome) {
        case 'recorded':
          announce(
            deps.aedes(),
            pilotId,
            deviceId,
            { type: 'command', command: commandJson(outcome.command) },
            logger,
          );
          break;
        case 'duplicate':
          logger.debug(
            { deviceId, commandId },
            'duplicate command response ignored; the first answer stands',
          );
          break;
        case 'closed':
          deps.errors.add(
            deviceId,
            `response to command ${commandId} ignored: it is ${outcome.command.status}`,
            payload,
          );
          break;
        case 'unknown':
          deps.errors.add(deviceId, `response to unknown command ${commandId.slice(0, 80)}`, payload);
      }
      done();
    }, done); // not stored: no PUBACK, the connection closes and the device sends it again
  }

  async function sweep() {
    for (;;) {
      const expired = await registry.expireCommands(deps.now(), 500);
      for (const c of expired) announceCommand(c);
      if (expired.length < 500) return;
    }
  }

  function mayForward(packet: PublishPacket): boolean {
    if (!packet.topic.endsWith('/commands')) return true;
    try {
      const { expiresAt } = JSON.parse(packet.payload.toString()) as { expiresAt?: string };
      return typeof expiresAt !== 'string' || Date.parse(expiresAt) > deps.now();
    } catch {
      return true;
    }
  }

  return { deliver, answer, sweep, mayForward };
}

/** `{status: "ok" | "error", result?}`, or why not. */
function parseAnswer(payload: Buffer): { ok: boolean; result: unknown } | string {
  if (jsonDepthExceededAt(payload, RESPONSE_MAX_DEPTH) >= 0)
    return `nested deeper than ${RESPONSE_MAX_DEPTH} levels`;
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'not JSON; expected {"status": "ok" | "error", "result": ...}';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'expected a JSON object';
  const { status, result } = body as { status?: unknown; result?: unknown };
  if (status !== 'ok' && status !== 'error') return 'expected "status": "ok" or "error"';
  return { ok: status === 'ok', result: result ?? null };
}
