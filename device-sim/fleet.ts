/**
 * A fleet of simulated devices: the library entry point for the CLI, the quick start, tests and
 * benchmarks. `startFleet` opens each device's offline buffer, connects every device and starts the
 * outage plan and the load driver; `close()` persists what is unacknowledged and disconnects.
 */
import path from 'node:path';
import { type Logger, silentLogger } from '../core/log.js';
import { addCounters, type DeviceCounters, zeroCounters } from './counters.js';
import { type DeviceHooks, SimDevice } from './device.js';
import { type LoadDriver, type LoadOptions, startLoad } from './load.js';
import { type OutagePlan, startOutages } from './outages.js';
import { type Profile, resolveProfile } from './profiles.js';
import type { DeviceCredentials } from './types.js';

export const DEFAULT_PROFILES = ['environment', 'energy-meter', 'door'] as const;

export interface FleetOptions extends DeviceHooks {
  credentials: readonly DeviceCredentials[];
  /** One buffer file per device lives here; reuse it across runs to resend what was buffered. */
  bufferDir: string;
  /** Overrides each credential's `mqttUrl`. */
  brokerUrl?: string | undefined;
  /**
   * Profiles assigned round-robin (names or profile objects). A credential's own `profile` wins.
   * Default: environment, energy-meter, door.
   */
  profiles?: readonly (string | Profile)[] | undefined;
  /** Extra named profiles (e.g. from a profile file), looked up before the built-ins. */
  profileLibrary?: readonly Profile[] | undefined;
  /** Seeds every signal, jitter and random outage. Default 1. */
  seed?: number | undefined;
  /** Override every profile's interval / jitter. */
  intervalMs?: number | undefined;
  jitterMs?: number | undefined;
  outages?: OutagePlan | undefined;
  /** Load mode: readings are sent by the load driver instead of on each profile's interval. */
  load?: LoadOptions | undefined;
  /** Readings per offline-buffer batch message. Default 500. */
  flushBatchSize?: number | undefined;
  reconnectPeriodMs?: number | undefined;
  connectTimeoutMs?: number | undefined;
  keepaliveSeconds?: number | undefined;
  /** How long `close()` waits for messages in flight before persisting them. Default 3000. */
  closeTimeoutMs?: number | undefined;
}

export interface FleetDeps {
  logger?: Logger;
  /** The clock readings are stamped with (epoch ms). */
  now?: () => number;
}

export interface FleetStats extends DeviceCounters {
  devices: number;
  /** Devices connected right now. */
  connected: number;
  /** Devices in a simulated outage right now. */
  offline: number;
  /** Messages sent and not yet acknowledged, right now. */
  inFlight: number;
  /** Readings waiting in offline buffers, right now. */
  buffered: number;
  /** Load mode `rate`: messages that found no device able to send. */
  loadSkipped: number;
  elapsedMs: number;
}

export interface Fleet {
  devices: readonly SimDevice[];
  stats(): FleetStats;
  /** Resolves once every device is connected (rejects after the timeout). */
  waitConnected(timeoutMs?: number): Promise<void>;
  /** Resolves once no device has anything buffered or in flight (rejects after the timeout). */
  waitIdle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const OPEN_CONCURRENCY = 64;

export async function startFleet(options: FleetOptions, deps: FleetDeps = {}): Promise<Fleet> {
  const logger = deps.logger ?? silentLogger();
  const devices = createDevices(options, logger, deps.now ?? Date.now);
  for (let i = 0; i < devices.length; i += OPEN_CONCURRENCY) {
    await Promise.all(devices.slice(i, i + OPEN_CONCURRENCY).map((d) => d.start()));
  }
  const started = performance.now();
  const outages = options.outages ? startOutages(devices, options.outages, options.seed ?? 1) : undefined;
  const load: LoadDriver | undefined = options.load ? startLoad(devices, options.load) : undefined;
  logger.info({ devices: devices.length, load: options.load?.mode ?? null }, 'simulated fleet started');
  const stats = () => fleetStats(devices, load?.skipped ?? 0, performance.now() - started);
  let closing: Promise<void> | undefined;
  return {
    devices,
    stats,
    waitConnected: (timeoutMs = 10_000) =>
      waitUntil('all devices to connect', () => devices.every((d) => d.connected), timeoutMs),
    waitIdle: (timeoutMs = 30_000) =>
      waitUntil(
        'buffers to drain',
        () => devices.every((d) => d.buffered === 0 && d.inFlight === 0),
        timeoutMs,
      ),
    close() {
      closing ??= (async () => {
        load?.stop();
        outages?.stop();
        await Promise.all(devices.map((d) => d.close(options.closeTimeoutMs ?? 3000)));
        logger.info({ buffered: stats().buffered }, 'simulated fleet stopped');
      })();
      return closing;
    },
  };
}

function createDevices(options: FleetOptions, logger: Logger, now: () => number): SimDevice[] {
  const assigned = options.profiles ?? DEFAULT_PROFILES;
  const library = options.profileLibrary ?? [];
  const pick = (p: string | Profile) => (typeof p === 'string' ? resolveProfile(p, library) : p);
  return options.credentials.map((credentials, i) => {
    const brokerUrl = options.brokerUrl ?? credentials.mqttUrl;
    if (!brokerUrl)
      throw new Error(`device ${credentials.deviceId}: no broker URL (set brokerUrl or mqttUrl)`);
    const profile = credentials.profile
      ? resolveProfile(credentials.profile, library)
      : pick(assigned[i % assigned.length]!);
    return new SimDevice({
      credentials,
      profile,
      brokerUrl,
      bufferDir: path.resolve(options.bufferDir),
      seed: options.seed ?? 1,
      intervalMs: options.intervalMs,
      jitterMs: options.jitterMs,
      periodic: !options.load,
      flushBatchSize: options.flushBatchSize ?? 500,
      reconnectPeriodMs: options.reconnectPeriodMs ?? 1000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      keepaliveSeconds: options.keepaliveSeconds ?? 30,
      hooks: { onReading: options.onReading, onAck: options.onAck, onError: options.onError },
      now,
      logger,
    });
  });
}

function fleetStats(devices: readonly SimDevice[], loadSkipped: number, elapsedMs: number): FleetStats {
  const total = zeroCounters();
  let connected = 0;
  let offline = 0;
  let inFlight = 0;
  let buffered = 0;
  for (const d of devices) {
    addCounters(total, d.counters);
    if (d.connected) connected++;
    if (d.isOffline) offline++;
    inFlight += d.inFlight;
    buffered += d.buffered;
  }
  return {
    ...total,
    devices: devices.length,
    connected,
    offline,
    inFlight,
    buffered,
    loadSkipped,
    elapsedMs,
  };
}

const waitUntil = (what: string, done: () => boolean, timeoutMs: number) =>
  new Promise<void>((resolve, reject) => {
    const deadline = performance.now() + timeoutMs;
    const check = () => {
      if (done()) return resolve();
      if (performance.now() > deadline) return reject(new Error(`fleet: timed out waiting for ${what}`));
      setTimeout(check, 20);
    };
    check();
  });
