/**
 * The device side of the twin (issue 15): reports merged into `reported` (stored before the PUBACK),
 * `twin/get` answered on `twin/get/response`, and `twin/desired` and `twin/delta` sent when the desired
 * state changes, when a device subscribes, and when a persistent session comes back subscribed.
 */
import type { Aedes, Client, PublishPacket } from 'aedes';
import { twinJson } from '../core/command-json.js';
import { filterMatches, twinTopic } from '../core/command-topics.js';
import { jsonDepthExceededAt } from '../core/json-depth.js';
import type { Logger } from '../core/log.js';
import type { TwinRecord, TwinStore } from '../core/registry/command-types.js';
import { checkTwinPatch, reportedChange, TWIN_MAX_DEPTH, TwinLimitError, twinDelta } from '../core/twin.js';
import { publishOwn } from './aedes-internals.js';
import { announce } from './commands.js';
import type { DeviceErrorBuffer } from './device-errors.js';

export interface TwinDeps {
  registry: TwinStore;
  aedes: () => Aedes;
  errors: Pick<DeviceErrorBuffer, 'add'>;
  logger: Logger;
  now: () => number;
}

export interface DeviceTwins {
  reported(deviceId: string, pilotId: string, payload: Buffer, done: (err?: Error) => void): void;
  get(deviceId: string, payload: Buffer, done: (err?: Error) => void): void;
  /** The desired state changed (the API announced it): desired and delta to the device. */
  desiredChanged(deviceId: string): void;
  /** A connection subscribed `filters` (or came back with them): it gets desired and delta they match. */
  subscribed(client: Client, deviceId: string, filters: string[]): void;
}

const desiredMessage = (t: TwinRecord) => JSON.stringify({ version: t.version, desired: t.desired });
const deltaMessage = (t: TwinRecord) =>
  JSON.stringify({ version: t.version, delta: twinDelta(t.desired, t.reported) });

export function createDeviceTwins(deps: TwinDeps): DeviceTwins {
  const { registry, logger } = deps;
  const toDevice = (deviceId: string, twin: TwinRecord) =>
    Promise.all([
      publishOwn(deps.aedes(), twinTopic(deviceId, 'desired'), desiredMessage(twin), { qos: 1 }),
      publishOwn(deps.aedes(), twinTopic(deviceId, 'delta'), deltaMessage(twin), { qos: 1 }),
    ]);

  function reported(deviceId: string, pilotId: string, payload: Buffer, done: (err?: Error) => void) {
    const patch = parsePatch(payload);
    if (typeof patch === 'string') {
      deps.errors.add(deviceId, `twin report refused: ${patch}`, payload);
      return done();
    }
    const before = { version: -1 };
    registry
      .updateTwin(deviceId, (current) => {
        before.version = current.reportedVersion;
        return reportedChange(patch, deps.now())(current);
      })
      .then(
        (twin) => {
          if (twin.reportedVersion !== before.version)
            announce(deps.aedes(), pilotId, deviceId, { type: 'twin', twin: twinJson(twin) }, logger);
          done();
        },
        (err) => {
          if (!(err instanceof TwinLimitError)) return done(err); // not stored: no PUBACK, sent again
          deps.errors.add(deviceId, `twin report refused: ${err.message}`, payload);
          done();
        },
      );
  }

  function get(deviceId: string, payload: Buffer, done: (err?: Error) => void) {
    // An optional `{"requestId": "..."}` comes back with the answer, to match it.
    let requestId: unknown;
    try {
      requestId =
        payload.length > 0
          ? (JSON.parse(payload.toString()) as { requestId?: unknown }).requestId
          : undefined;
    } catch {
      requestId = undefined;
    }
    registry.getTwin(deviceId).then(
      (twin) => {
        const answer = {
          ...twinJson(twin),
          ...(typeof requestId === 'string' ? { requestId: requestId.slice(0, 128) } : {}),
        };
        publishOwn(deps.aedes(), twinTopic(deviceId, 'get/response'), JSON.stringify(answer), {
          qos: 1,
        }).catch((err) => logger.warn({ err }, 'could not answer twin/get'));
        done();
      },
      (err) => done(err),
    );
  }

  function desiredChanged(deviceId: string) {
    registry
      .getTwin(deviceId)
      .then((twin) => toDevice(deviceId, twin))
      .catch((err) => logger.warn({ err, deviceId }, 'could not send the desired state'));
  }

  function subscribed(client: Client, deviceId: string, filters: string[]) {
    const wants = (leaf: 'desired' | 'delta') =>
      filters.some((f) => filterMatches(f, twinTopic(deviceId, leaf)));
    if (!wants('desired') && !wants('delta')) return;
    registry.getTwin(deviceId).then(
      (twin) => {
        // No desired state was ever set: nothing to tell (a `devices/{id}/#` subscriber gets no noise).
        if (twin.version === 0) return;
        const send = (leaf: 'desired' | 'delta', message: string) => {
          if (!wants(leaf)) return;
          const packet = {
            cmd: 'publish',
            topic: twinTopic(deviceId, leaf),
            payload: Buffer.from(message),
            qos: 1,
            retain: false,
            dup: false,
          };
          client.publish(packet as PublishPacket, () => {});
        };
        send('desired', desiredMessage(twin));
        send('delta', deltaMessage(twin));
      },
      (err) => logger.warn({ err, deviceId }, 'could not send the twin to a subscriber'),
    );
  }

  return { reported, get, desiredChanged, subscribed };
}

/** A report: a JSON object, a merge patch within the twin's limits; or why not. */
function parsePatch(payload: Buffer) {
  if (jsonDepthExceededAt(payload, TWIN_MAX_DEPTH) >= 0) return `nested deeper than ${TWIN_MAX_DEPTH} levels`;
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'not JSON; expected a JSON object (a merge patch of the reported state)';
  }
  try {
    return checkTwinPatch(body, 'reported');
  } catch (err) {
    return (err as Error).message;
  }
}
