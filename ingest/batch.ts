/**
 * Turns journal entries into a batch: parse, validate, route to the pilot, type-check, build points.
 * A batch's entries are acknowledged only when every point of the batch is stored or refused for good.
 */
import type { JournalEntry } from '../core/journal/types.js';
import type { Reading } from '../core/reading.js';
import type { DeviceLookup } from '../core/registry/types.js';
import { parseTelemetryPayload, payloadPrefix } from '../core/telemetry.js';
import type { KeyTypeChecker, KeyVerdict } from './key-types.js';
import { scanLines } from './line-scan.js';
import { linePrefix, type Point, toPoint } from './points.js';

export interface DeviceErrorInput {
  deviceId: string;
  at: number;
  reason: string;
  payloadPrefix: string;
}

export interface Batch {
  /** The journal entries the batch holds, acknowledged together. */
  ids: string[];
  points: Point[];
  /** Lines in `points` (a fast-path point holds a message's lines). */
  lines: number;
  errors: DeviceErrorInput[];
  /** When the batch's first message was read (for the flush interval). */
  startedAt: number;
}

export const newBatch = (now: number): Batch => ({
  ids: [],
  points: [],
  lines: 0,
  errors: [],
  startedAt: now,
});

type Converted = { points: Point[]; errors: DeviceErrorInput[] };

/**
 * Converts one message; synchronously when the pilot and key caches answer, else a promise. All or
 * nothing: it may throw or reject (the registry is unavailable), and the caller retries it later.
 */
export function convertMessage(
  msg: JournalEntry,
  registry: Pick<DeviceLookup, 'getDevicePilot'>,
  pilots: Map<string, string>,
  types: KeyTypeChecker,
): Converted | Promise<Converted> {
  const pilotId = pilots.get(msg.deviceId);
  if (pilotId !== undefined) return convertReadings(msg, pilotId, types);
  return registry.getDevicePilot(msg.deviceId).then((found) => {
    if (found === undefined) {
      const out: Converted = { points: [], errors: [] };
      out.errors.push(deviceError(msg, 'unknown device: it is not in the registry'));
      return out;
    }
    pilots.set(msg.deviceId, found); // a device never changes pilot
    return convertReadings(msg, found, types);
  });
}

function convertReadings(
  msg: JournalEntry,
  pilotId: string,
  types: KeyTypeChecker,
): Converted | Promise<Converted> {
  const out: Converted = { points: [], errors: [] };
  const fast = fastPath(msg, pilotId, types);
  if (fast) {
    out.points.push(fast);
    return out;
  }
  const parsed = parseTelemetryPayload(msg.payload, msg.receivedAt);
  for (const reason of parsed.errors) out.errors.push(deviceError(msg, reason));
  const { readings } = parsed;
  for (let i = 0; i < readings.length; i++) {
    const reading = readings[i] as Reading;
    const verdict = types.check(pilotId, msg.deviceId, reading);
    if (verdict instanceof Promise) return finishAsync(msg, pilotId, types, readings, i, verdict, out);
    apply(out, msg, pilotId, readings, reading, verdict);
  }
  return out;
}

/** Prefixes with only printable ASCII (always, for registry ids) can be written as Latin-1 bytes. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * The whole message as one point of line protocol, scanned from the bytes (line-scan.ts), when every
 * reading is valid and its keys known with their types; else undefined and the general path decides.
 */
function fastPath(msg: JournalEntry, pilotId: string, types: KeyTypeChecker): Point | undefined {
  const prefix = linePrefix(pilotId, msg.deviceId);
  if (!PRINTABLE_ASCII.test(prefix)) return undefined;
  const scanned = scanLines(msg.payload, msg.receivedAt, prefix, (keys, valueTypes) =>
    types.storesAsIs(pilotId, msg.deviceId, keys, valueTypes),
  );
  if (!scanned) return undefined;
  return {
    pilotId,
    deviceId: msg.deviceId,
    line: scanned.text,
    count: scanned.count,
    source: { payload: msg.payload, receivedAt: msg.receivedAt },
  };
}

/** The rest of a message once a key check had to ask the registry (new keys, cold caches). */
async function finishAsync(
  msg: JournalEntry,
  pilotId: string,
  types: KeyTypeChecker,
  readings: readonly Reading[],
  from: number,
  first: Promise<KeyVerdict | undefined>,
  out: Converted,
): Promise<Converted> {
  apply(out, msg, pilotId, readings, readings[from] as Reading, await first);
  for (let i = from + 1; i < readings.length; i++) {
    const reading = readings[i] as Reading;
    apply(out, msg, pilotId, readings, reading, await types.check(pilotId, msg.deviceId, reading));
  }
  return out;
}

function apply(
  out: Converted,
  msg: JournalEntry,
  pilotId: string,
  readings: readonly Reading[],
  reading: Reading,
  verdict: KeyVerdict | undefined,
) {
  if (verdict === undefined) {
    out.points.push(toPoint(pilotId, msg.deviceId, reading));
    return;
  }
  if (verdict.kept) out.points.push(toPoint(pilotId, msg.deviceId, verdict.kept));
  for (const reason of verdict.reasons) {
    out.errors.push(
      deviceError(msg, readings.length > 1 ? `reading at ts ${reading.ts}: ${reason}` : reason),
    );
  }
}

const deviceError = (msg: JournalEntry, reason: string): DeviceErrorInput => ({
  deviceId: msg.deviceId,
  at: Date.now(),
  reason,
  payloadPrefix: payloadPrefix(msg.payload),
});
