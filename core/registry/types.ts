/**
 * The registry's storage boundary. Each component depends on the narrow facet it needs (the broker on
 * `DeviceAuthStore`, ingest on `TelemetrySchemaStore` and `DeviceErrorLog`, the API on all of them),
 * so a Postgres implementation later has to satisfy only these interfaces.
 *
 * All times are epoch milliseconds inside the store; the API formats them as RFC 3339.
 * Ids are opaque strings with a type prefix: `prt_` partner, `plt_` pilot, `dev_` device.
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

/** The type a key was first seen with inside a pilot (contract: "a key keeps the type of its first value"). */
export type ValueType = 'number' | 'boolean' | 'string';

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

/** What the broker needs: verify a device fast, learn about revocations, record presence. */
export interface DeviceAuthStore {
  /** The stored secret hash of a live (not deleted) device, or undefined. */
  getDeviceCredential(
    deviceId: string,
  ): { deviceId: string; pilotId: string; secretHash: string } | undefined;
  /**
   * Devices whose credentials changed (rotated or deleted) after change number `since`.
   * The broker polls this to drop sessions and invalidate its cache, also when the API runs in
   * another process.
   */
  credentialChangesSince(since: number): { lastChange: number; deviceIds: string[] };
  /** Writes presence in one transaction (the broker batches these). */
  recordPresence(updates: { deviceId: string; online: boolean; lastSeenAt: number }[]): void;
  /**
   * Marks every device offline. The broker calls it at start: after a crash, devices it had marked
   * online are not connected any more (they reconnect and are marked online again).
   */
  markAllOffline(): void;
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

/** What ingest needs to route and type-check readings. */
export interface TelemetrySchemaStore {
  /** The pilot of a device, also of a deleted device (its late readings still belong somewhere). */
  getDevicePilot(deviceId: string): string | undefined;
  /** Known key types of a pilot. */
  getKeyTypes(pilotId: string): Map<string, ValueType>;
  /**
   * Records types for keys not yet known in the pilot (first writer wins, also across processes)
   * and returns the pilot's types for those keys as stored afterwards.
   */
  claimKeyTypes(pilotId: string, keys: Map<string, ValueType>): Map<string, ValueType>;
  /**
   * The keys a device has sent, with their types (at most its cap, so the API's queries ask only for
   * these). `complete` is false for devices registered before keys were tracked per device.
   */
  getDeviceKeys(deviceId: string): { keys: Map<string, ValueType>; complete: boolean };
  /**
   * Adds keys to a device's set within the caps, in one transaction (also across processes): a key
   * new to the pilot is typed as asked (unless the pilot is full), a key of another type than the
   * pilot's is returned with the pilot's type and not added to the device.
   */
  claimDeviceKeys(pilotId: string, deviceId: string, keys: Map<string, ValueType>, caps: KeyCaps): KeyClaim;
}

/** Rejected messages, bounded per device. Written by the broker and ingest, read by the API. */
export interface DeviceErrorLog {
  recordDeviceErrors(errors: { deviceId: string; at: number; reason: string; payloadPrefix: string }[]): void;
  listDeviceErrors(deviceId: string, page: PageRequest): Page<DeviceErrorRecord>;
}

export interface NewDevice {
  name: string;
  model?: string | null | undefined;
  firmwareVersion?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** The partner/pilot/device registry that the API manages. */
export interface RegistryStore extends DeviceAuthStore, TelemetrySchemaStore, DeviceErrorLog {
  // partners and API keys (keys are stored as hashes only)
  createPartner(input: { name: string; country: string; kind: PartnerKind }, apiKeyHash: string): Partner;
  getPartner(partnerId: string): Partner | undefined;
  /** The partner owning an API key hash. */
  findPartnerByApiKeyHash(apiKeyHash: string): Partner | undefined;

  // admin key: stored hashed, set once at first start
  getAdminKeyHash(): string | undefined;
  setAdminKeyHash(hash: string): void;

  // pilots (always seen through a member partner)
  createPilot(input: { name: string; description?: string | null | undefined; memberIds: string[] }): Pilot;
  /** The pilot, when `partnerId` is a member; otherwise undefined (never reveal existence). */
  getPilotForPartner(pilotId: string, partnerId: string): Pilot | undefined;
  listPilotsForPartner(partnerId: string, page: PageRequest): Page<Pilot>;
  /** Returns false when already a member. */
  addPilotMember(pilotId: string, partnerId: string): boolean;

  // devices
  createDevice(pilotId: string, input: NewDevice, secretHash: string): Device;
  /** The device, when `partnerId` is a member of its pilot and it is not deleted. */
  getDeviceForPartner(deviceId: string, partnerId: string): Device | undefined;
  listDevices(pilotId: string, page: PageRequest): Page<Device>;
  updateDevice(deviceId: string, patch: Partial<NewDevice>): Device | undefined;
  /** Soft delete: revokes the secret (a credential change) and hides the device. */
  deleteDevice(deviceId: string): boolean;
  /** Replaces the secret hash (a credential change). */
  rotateDeviceSecret(deviceId: string, secretHash: string): boolean;

  /** For /readyz. Throws when the database is unusable. */
  ping(): void;
  close(): void;
}
