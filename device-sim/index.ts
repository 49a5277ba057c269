/** The device simulator's library API (used by the CLI, the quick start, tests and benchmarks). */
export { OfflineBuffer } from './buffer.js';
export type { DeviceCounters } from './counters.js';
export { type DeviceHooks, type DeviceOptions, SimDevice } from './device.js';
export {
  DEFAULT_PROFILES,
  type Fleet,
  type FleetDeps,
  type FleetOptions,
  type FleetStats,
  startFleet,
} from './fleet.js';
export type { LoadOptions } from './load.js';
export type { OutagePlan, OutageWindow, RandomOutages } from './outages.js';
export {
  BUILTIN_PROFILES,
  createReadingGenerator,
  KEY_PATTERN,
  loadProfileFile,
  type Profile,
  type ProfileInput,
  parseProfiles,
  profileSchema,
  resolveProfile,
} from './profiles.js';
export { formatSummary, type Progress, startProgress } from './progress.js';
export {
  type ApiClientOptions,
  ApiError,
  loadCredentials,
  type ProvisionOptions,
  provisionDevices,
  saveCredentials,
} from './provision.js';
export type { SignalInput, SignalSpec } from './signals.js';
export { type DeviceCredentials, encodePayload, type Reading, type Value } from './types.js';
