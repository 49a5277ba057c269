/**
 * Commands to devices and device twins at the registry's storage boundary (issue 15): two more
 * facets of `RegistryStore`, implemented by every store. Times are epoch ms; command ids `cmd_...`.
 */
import type { Page, PageRequest } from './types.js';

export type CommandStatus = 'queued' | 'delivered' | 'succeeded' | 'failed' | 'expired' | 'cancelled';

/** Statuses a command never leaves. */
export const FINAL_STATUSES: ReadonlySet<CommandStatus> = new Set([
  'succeeded',
  'failed',
  'expired',
  'cancelled',
]);

export interface CommandRecord {
  id: string;
  deviceId: string;
  pilotId: string;
  name: string;
  params: unknown;
  ttlMs: number;
  status: CommandStatus;
  /** The audit trail: which partner sent it (queuedAt is when). */
  sentBy: string;
  queuedAt: number;
  /** queuedAt + ttlMs: not answered by then, the command expires. */
  expiresAt: number;
  deliveredAt: number | null;
  /** When it reached its final status (succeeded, failed, expired, cancelled). */
  finishedAt: number | null;
  /** The device's `result` (succeeded or failed); null otherwise. */
  result: unknown;
}

export interface NewCommand {
  deviceId: string;
  pilotId: string;
  name: string;
  params: unknown;
  ttlMs: number;
  sentBy: string;
  now: number;
  /** Refused (TooManyOpenCommands) when the device has this many queued or delivered commands. */
  maxOpen?: number;
}

/** A device has too many commands not yet answered or expired (the API answers 429). */
export class TooManyOpenCommands extends Error {
  constructor(readonly limit: number) {
    super(`the device has ${limit} open commands (queued or delivered), the limit`);
    this.name = 'TooManyOpenCommands';
  }
}

/** What a device's answer did. */
export type ResponseOutcome =
  | { outcome: 'recorded'; command: CommandRecord }
  /** Already answered (a QoS 1 redelivery, a retry): the first answer stands. */
  | { outcome: 'duplicate'; command: CommandRecord }
  /** Too late (expired) or cancelled: nothing changes. */
  | { outcome: 'closed'; command: CommandRecord }
  | { outcome: 'unknown' };

export interface CommandStore {
  createCommand(input: NewCommand): Promise<CommandRecord>;
  getCommand(deviceId: string, commandId: string): Promise<CommandRecord | undefined>;
  /** Newest first. */
  listCommands(deviceId: string, page: PageRequest): Promise<Page<CommandRecord>>;
  /** Queued commands of a device not yet expired at `now`, oldest first. */
  pendingCommands(deviceId: string, now: number, limit: number): Promise<CommandRecord[]>;
  /** queued -> delivered, when still queued and not expired: only one caller wins a command. */
  markCommandDelivered(commandId: string, at: number): Promise<CommandRecord | undefined>;
  /** A device's answer; accepted only from queued or delivered, before expiry. */
  recordCommandResponse(
    deviceId: string,
    commandId: string,
    answer: { ok: boolean; result: unknown },
    at: number,
  ): Promise<ResponseOutcome>;
  /** queued -> cancelled; undefined for an unknown command, the command unchanged when not queued. */
  cancelCommand(
    deviceId: string,
    commandId: string,
    at: number,
  ): Promise<{ cancelled: boolean; command: CommandRecord } | undefined>;
  /** Queued or delivered commands past their expiry become expired (at most `limit`); returns them. */
  expireCommands(now: number, limit: number): Promise<CommandRecord[]>;
}

/** A JSON object; in a twin, every leaf's update time mirrors it in `TwinMeta`. */
export type TwinDoc = Record<string, unknown>;
export interface TwinMeta {
  [key: string]: number | TwinMeta;
}

export interface TwinRecord {
  deviceId: string;
  desired: TwinDoc;
  reported: TwinDoc;
  /** When each leaf was last set (epoch ms), shaped like the document. */
  desiredMeta: TwinMeta;
  reportedMeta: TwinMeta;
  /** Counts changes of `desired` (the If-Match / ETag version). */
  version: number;
  /** Counts changes of `reported`. */
  reportedVersion: number;
  updatedAt: number;
}

/** Applies a change to the current twin; throws to refuse it (the store changes nothing then). */
export type TwinChange = (current: TwinRecord) => TwinRecord;

export interface TwinStore {
  /** The twin of a device (an empty one, version 0, when never written). */
  getTwin(deviceId: string): Promise<TwinRecord>;
  /**
   * Reads the twin, applies `change` and stores the result, atomically (also across processes).
   * Resolves to the stored twin; rejects with whatever `change` threw.
   */
  updateTwin(deviceId: string, change: TwinChange): Promise<TwinRecord>;
}
