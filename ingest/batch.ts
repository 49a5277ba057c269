/**
 * Turns spooled messages into a batch: parse, validate, route to the pilot, type-check, build points.
 * A batch owns a contiguous range of spool rows [fromSeq, toSeq]; those rows are deleted only when
 * every point of the batch is stored or refused for good.
 */
import type { TelemetrySchemaStore } from '../core/registry/types.js';
import { parseTelemetryPayload, payloadPrefix } from '../core/telemetry.js';
import type { SpooledMessage } from '../core/telemetry-spool.js';
import type { KeyTypeChecker } from './key-types.js';
import { type Point, toPoint } from './points.js';

export interface DeviceErrorInput {
  deviceId: string;
  at: number;
  reason: string;
  payloadPrefix: string;
}

export interface Batch {
  fromSeq: number;
  toSeq: number;
  points: Point[];
  errors: DeviceErrorInput[];
  /** When the batch's first message was read (for the flush interval). */
  startedAt: number;
  messages: number;
}

export const newBatch = (fromSeq: number, now: number): Batch => ({
  fromSeq,
  toSeq: fromSeq,
  points: [],
  errors: [],
  startedAt: now,
  messages: 0,
});

/**
 * Converts one message. All-or-nothing for the batch: it may throw (the registry is unavailable),
 * in which case nothing of the message was added and the caller retries it later.
 */
export function convertMessage(
  msg: SpooledMessage,
  registry: TelemetrySchemaStore,
  pilots: Map<string, string>,
  types: KeyTypeChecker,
): { points: Point[]; errors: DeviceErrorInput[] } {
  const points: Point[] = [];
  const errors: DeviceErrorInput[] = [];
  const error = (reason: string) =>
    errors.push({
      deviceId: msg.deviceId,
      at: Date.now(),
      reason,
      payloadPrefix: payloadPrefix(msg.payload),
    });

  let pilotId = pilots.get(msg.deviceId);
  if (pilotId === undefined) {
    pilotId = registry.getDevicePilot(msg.deviceId);
    if (pilotId === undefined) {
      error('unknown device: it is not in the registry');
      return { points, errors };
    }
    pilots.set(msg.deviceId, pilotId); // a device never changes pilot
  }
  const parsed = parseTelemetryPayload(msg.payload, msg.receivedAt);
  for (const reason of parsed.errors) error(reason);
  for (const reading of parsed.readings) {
    const verdict = types.check(pilotId, msg.deviceId, reading);
    if (verdict === undefined) {
      points.push(toPoint(pilotId, msg.deviceId, reading));
      continue;
    }
    if (verdict.kept) points.push(toPoint(pilotId, msg.deviceId, verdict.kept));
    for (const reason of verdict.reasons) {
      error(parsed.readings.length > 1 ? `reading at ts ${reading.ts}: ${reason}` : reason);
    }
  }
  return { points, errors };
}
