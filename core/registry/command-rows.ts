/** Rows of the commands and twins tables to records, shared by the SQLite and PostgreSQL stores. */
import type { CommandRecord, CommandStatus, TwinMeta, TwinRecord } from './command-types.js';

export type CommandRow = {
  seq: number;
  id: string;
  device_id: string;
  pilot_id: string;
  name: string;
  params: string;
  ttl_ms: number;
  status: string;
  sent_by: string;
  queued_at: number;
  expires_at: number;
  delivered_at: number | null;
  finished_at: number | null;
  result: string | null;
};

export const COMMAND_COLUMNS =
  'seq, id, device_id, pilot_id, name, params, ttl_ms, status, sent_by, queued_at, expires_at, delivered_at, finished_at, result';

export const toCommand = (r: CommandRow): CommandRecord => ({
  id: r.id,
  deviceId: r.device_id,
  pilotId: r.pilot_id,
  name: r.name,
  params: JSON.parse(r.params),
  ttlMs: r.ttl_ms,
  status: r.status as CommandStatus,
  sentBy: r.sent_by,
  queuedAt: r.queued_at,
  expiresAt: r.expires_at,
  deliveredAt: r.delivered_at,
  finishedAt: r.finished_at,
  result: r.result === null ? null : JSON.parse(r.result),
});

/** JSON text of a value, `null` for undefined (a response without `result`). */
export const jsonText = (v: unknown): string => JSON.stringify(v ?? null);

export type TwinRow = {
  device_id: string;
  desired: string;
  reported: string;
  desired_meta: string;
  reported_meta: string;
  version: number;
  reported_version: number;
  updated_at: number;
};

export const TWIN_COLUMNS =
  'device_id, desired, reported, desired_meta, reported_meta, version, reported_version, updated_at';

export const toTwin = (r: TwinRow): TwinRecord => ({
  deviceId: r.device_id,
  desired: JSON.parse(r.desired),
  reported: JSON.parse(r.reported),
  desiredMeta: JSON.parse(r.desired_meta) as TwinMeta,
  reportedMeta: JSON.parse(r.reported_meta) as TwinMeta,
  version: r.version,
  reportedVersion: r.reported_version,
  updatedAt: r.updated_at,
});

/** The values of a twin row, in TWIN_COLUMNS order. */
export const twinValues = (t: TwinRecord) => [
  t.deviceId,
  JSON.stringify(t.desired),
  JSON.stringify(t.reported),
  JSON.stringify(t.desiredMeta),
  JSON.stringify(t.reportedMeta),
  t.version,
  t.reportedVersion,
  t.updatedAt,
];
