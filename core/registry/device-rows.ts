/** Rows of the devices table to records, shared by the SQLite and PostgreSQL stores. */
import type { Device } from './types.js';

export type DeviceRow = {
  seq: number;
  id: string;
  pilot_id: string;
  name: string;
  model: string | null;
  firmware_version: string | null;
  metadata: string;
  created_at: number;
  updated_at: number;
  /** SQLite has no boolean: 0 or 1 there, a boolean in PostgreSQL. */
  online: number | boolean;
  last_seen_at: number | null;
};

export const DEVICE_COLUMNS =
  'd.seq, d.id, d.pilot_id, d.name, d.model, d.firmware_version, d.metadata, d.created_at, d.updated_at, d.online, d.last_seen_at';

export const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  pilotId: r.pilot_id,
  name: r.name,
  model: r.model,
  firmwareVersion: r.firmware_version,
  metadata: JSON.parse(r.metadata) as Record<string, unknown>,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  status: { online: r.online === 1 || r.online === true, lastSeenAt: r.last_seen_at },
});
