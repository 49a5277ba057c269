/**
 * The registry's storage boundary: one narrow, asynchronous interface per aggregate; each component
 * takes the facets it uses. Times are epoch ms; ids are prefixed strings (`prt_`, `plt_`, `dev_`).
 */

export type PartnerKind = 'hardware' | 'software' | 'both';

export interface Partner {
  id: string;
  name: string;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string;
  kind: PartnerKind;
  createdAt: number;
}

export interface Pilot {
  id: string;
  name: string;
  description: string | null;
  memberIds: string[];
  createdAt: number;
}

export interface DeviceStatus {
  online: boolean;
  lastSeenAt: number | null;
}

export interface Device {
  id: string;
  pilotId: string;
  name: string;
  model: string | null;
  firmwareVersion: string | null;
  metadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  status: DeviceStatus;
}

import type { ValueType } from '../reading.js';
import type { CommandStore, TwinStore } from './command-types.js';

export type { ValueType };

export interface DeviceErrorRecord {
  /** Monotonic id, also the list cursor. */
  id: number;
  deviceId: string;
  at: number;
  reason: string;
  /** The first bytes of the refused payload, as text. */
  payloadPrefix: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** A device's stored credential: what the broker and HTTP ingest check a secret against. */
export interface DeviceCredential {
  deviceId: string;
  pilotId: string;
  secretHash: string;
}

/** Caps on distinct keys (TELEMETRY_MAX_KEYS_PER_DEVICE, TELEMETRY_MAX_KEYS_PER_PILOT). */
export interface KeyCaps {
  perDevice: number;
  perPilot: number;
}

/** What a device's claim of new keys got. */
export interface KeyClaim {
  /** The pilot's type of each claimed key (maybe not the type asked for: first writer wins). */
  types: Map<string, ValueType>;
  /** Keys not claimed, and the cap each would pass. */
  refused: Map<string, 'device' | 'pilot'>;
}

export interface NewDevice {
  name: string;
  model?: string | null | undefined;
  firmwareVersion?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export type NewDeviceError = Omit<DeviceErrorRecord, 'id'>;

/** Partners, their API keys and the admin key (all stored as SHA-256 digests only). */
export interface PartnerStore {
  /** Throws ConflictError when the name is taken. */
  createPartner(
    input: { name: string; country: string; kind: PartnerKind },
    apiKeyHash: string,
  ): Promise<Partner>;
  getPartner(partnerId: string): Promise<Partner | undefined>;
  /** The partner owning an API key hash. */
  findPartnerByApiKeyHash(apiKeyHash: string): Promise<Partner | undefined>;
  getAdminKeyHash(): Promise<string | undefined>;
  setAdminKeyHash(hash: string): Promise<void>;
}

/** Pilots and their members; a pilot is always seen through a member partner. */
export interface PilotStore {
  createPilot(input: {
    name: string;
    description?: string | null | undefined;
    memberIds: string[];
  }): Promise<Pilot>;
  /** The pilot, when `partnerId` is a member; otherwise undefined (never reveal existence). */
  getPilotForPartner(pilotId: string, partnerId: string): Promise<Pilot | undefined>;
  listPilotsForPartner(partnerId: string, page: PageRequest): Promise<Page<Pilot>>;
  /** Resolves false when already a member. */
  addPilotMember(pilotId: string, partnerId: string): Promise<boolean>;
}

/** The two lookups on every device's way in (broker CONNECT, ingest, HTTP ingest); callers cache them. */
export interface DeviceLookup {
  /** The stored secret hash of a live (not deleted) device, or undefined. */
  getDeviceCredential(deviceId: string): Promise<DeviceCredential | undefined>;
  /** The pilot of a device, also of a deleted device (its late readings still belong somewhere). */
  getDevicePilot(deviceId: string): Promise<string | undefined>;
}

/** A broker's start: fill its credential cache before a reconnect storm asks for each one. */
export interface CredentialPreload {
  /** Credentials of live devices, most recently seen first, never-seen ones left out; at most `limit`. */
  recentDeviceCredentials(limit: number): Promise<DeviceCredential[]>;
}

/** Devices and their credentials, as the API manages them. */
export interface DeviceStore extends DeviceLookup, CredentialPreload {
  createDevice(pilotId: string, input: NewDevice, secretHash: string): Promise<Device>;
  /** The device, when `partnerId` is a member of its pilot and it is not deleted. */
  getDeviceForPartner(deviceId: string, partnerId: string): Promise<Device | undefined>;
  listDevices(pilotId: string, page: PageRequest): Promise<Page<Device>>;
  updateDevice(deviceId: string, patch: Partial<NewDevice>): Promise<Device | undefined>;
  /** Soft delete: revokes the secret (a credential change) and hides the device. */
  deleteDevice(deviceId: string): Promise<boolean>;
  /** Replaces the secret hash (a credential change). */
  rotateDeviceSecret(deviceId: string, secretHash: string): Promise<boolean>;
}

/** Rejected messages, bounded per device. Written by the broker, ingest and HTTP ingest; read by the API. */
export interface DeviceErrorLog {
  recordDeviceErrors(errors: readonly NewDeviceError[]): Promise<void>;
  /** Newest first. */
  listDeviceErrors(deviceId: string, page: PageRequest): Promise<Page<DeviceErrorRecord>>;
}

/** Key types per pilot and key sets per device (contract: "a key keeps the type of its first value"). */
export interface KeyTypeStore {
  /**
   * Known key types of a pilot; with `keys`, of those keys only (a request names a few keys of a
   * pilot that may have thousands: a primary-key lookup each instead of the whole list).
   */
  getKeyTypes(pilotId: string, keys?: readonly string[]): Promise<Map<string, ValueType>>;
  /**
   * Records types for keys not yet known in the pilot (first writer wins, also across processes)
   * and returns the pilot's types for those keys as stored afterwards.
   */
  claimKeyTypes(pilotId: string, keys: Map<string, ValueType>): Promise<Map<string, ValueType>>;
  /**
   * The keys a device has sent, with their types (at most its cap, so the API's queries ask only for
   * these). `complete` is false for devices registered before keys were tracked per device.
   */
  getDeviceKeys(deviceId: string): Promise<{ keys: Map<string, ValueType>; complete: boolean }>;
  /**
   * Adds keys to a device's set within the caps, atomically (also across processes): a key new to
   * the pilot is typed as asked (unless the pilot is full); a key of another type than the pilot's is
   * returned with the pilot's type and not added to the device.
   */
  claimDeviceKeys(
    pilotId: string,
    deviceId: string,
    keys: Map<string, ValueType>,
    caps: KeyCaps,
  ): Promise<KeyClaim>;
}

/**
 * Device presence, written by the broker in batches (about once a second). With several broker nodes
 * each reports as its `node`: a device is online while any live node reports a connection of it, and a
 * node that stops renewing (`nodeHeartbeat`) has its connections cleared (docs/DESIGN.md, "Presence").
 */
export interface PresenceStore {
  recordPresence(
    updates: readonly { deviceId: string; online: boolean; lastSeenAt: number }[],
    node?: string,
  ): Promise<void>;
  /**
   * At a broker's start: the devices it had connected before a crash are not connected. With `node`,
   * only that node's connections (other nodes' devices stay online); without, every device.
   */
  markAllOffline(node?: string): Promise<void>;
  /**
   * Node `node` is alive for `ttlMs` more; the connections of nodes past their expiry are cleared.
   * Resolves false when `node` itself had expired (its connections are gone: report them again).
   */
  nodeHeartbeat(node: string, ttlMs: number): Promise<boolean>;
}

/** The numbered log of credential changes (rotations, deletions) that brokers poll to drop sessions. */
export interface CredentialChangeLog {
  /**
   * Devices whose credentials changed after change number `since` (a batch; poll again for more).
   * With nothing newer, `lastChange` is the head, so a caller starting at -1 learns where to go on.
   */
  credentialChangesSince(since: number): Promise<{ lastChange: number; deviceIds: string[] }>;
}

/** The whole registry: every facet, as one store implements it. Components take the facets they use. */
export interface RegistryStore
  extends PartnerStore,
    PilotStore,
    DeviceStore,
    DeviceErrorLog,
    KeyTypeStore,
    PresenceStore,
    CredentialChangeLog,
    CommandStore,
    TwinStore {
  /** For /readyz: rejects when the store is unusable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
