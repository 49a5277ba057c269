/**
 * The live feed behind `/telemetry/stream`. Ingest publishes every stored batch as a JSON array of
 * `{ts, values}` on `$platform/stored/{pilotId}/{deviceId}` (QoS 0); the API subscribes to
 * `$platform/stored/+/+` as `svc:api` and fans each batch out to the open streams. Going through the
 * broker (rather than an in-process emitter) is what makes streams work when the API and ingest run
 * in separate processes. QoS 0 on purpose: a live view that missed a reading during a reconnect is
 * still correct after a reload, which reads InfluxDB.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { TelemetryValue as Value } from '../../core/reading.js';
import {
  type LiveInterest,
  liveInterestTopic,
  parseStoredTopic,
  SERVICE_USERNAMES,
  STORED_TOPIC_FILTER,
} from '../../core/topics.js';

export interface LiveReading {
  /** Epoch ms. */
  ts: number;
  values: Record<string, Value>;
}

export interface StoredBatch {
  pilotId: string;
  deviceId: string;
  readings: LiveReading[];
}

/** A whole pilot, or one device of it. */
export interface LiveFilter {
  pilotId: string;
  deviceId?: string | undefined;
}

export type LiveListener = (batch: StoredBatch) => void;

export interface LiveFeed {
  /** Returns the unsubscribe function. */
  subscribe(filter: LiveFilter, listener: LiveListener): () => void;
  /**
   * Resolves once ingest can know about the latest subscription (the live interest reached the
   * broker); a stream waits for it before it answers, so readings stored after the answer reach it.
   */
  interestSent?(): Promise<void>;
  /** Listeners currently subscribed (for tests and metrics). */
  listenerCount(): number;
  close(): Promise<void>;
}

/** In-process fan-out, keyed by pilot so a batch visits only its pilot's listeners. */
export class LiveHub {
  private readonly byPilot = new Map<string, Set<{ filter: LiveFilter; listener: LiveListener }>>();
  private count = 0;
  /** Called when the set of watched pilots and devices may have changed. */
  onChange: (() => void) | undefined;

  /** What the open streams watch: whole pilots and single devices. */
  interest(): LiveInterest {
    const pilots: string[] = [];
    const devices = new Set<string>();
    for (const [pilotId, set] of this.byPilot) {
      if ([...set].some((e) => e.filter.deviceId === undefined)) pilots.push(pilotId);
      else for (const { filter } of set) devices.add(filter.deviceId!);
    }
    return { pilots, devices: [...devices] };
  }

  subscribe(filter: LiveFilter, listener: LiveListener): () => void {
    const entry = { filter, listener };
    let set = this.byPilot.get(filter.pilotId);
    if (!set) {
      set = new Set();
      this.byPilot.set(filter.pilotId, set);
    }
    set.add(entry);
    this.count++;
    this.onChange?.();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.count--;
      set.delete(entry);
      if (set.size === 0) this.byPilot.delete(filter.pilotId);
      this.onChange?.();
    };
  }

  /** Whether a batch of this device would reach any listener (checked before parsing it). */
  wants(pilotId: string, deviceId: string): boolean {
    const set = this.byPilot.get(pilotId);
    if (!set) return false;
    for (const { filter } of set) {
      if (filter.deviceId === undefined || filter.deviceId === deviceId) return true;
    }
    return false;
  }

  publish(batch: StoredBatch, logger?: Logger): void {
    for (const { filter, listener } of [...(this.byPilot.get(batch.pilotId) ?? [])]) {
      if (filter.deviceId !== undefined && filter.deviceId !== batch.deviceId) continue;
      try {
        listener(batch);
      } catch (err) {
        logger?.warn({ err }, 'live listener failed');
      }
    }
  }

  listenerCount(): number {
    return this.count;
  }
}

/** A feed fed in-process (`publish`), for a deployment without a broker between ingest and API, and tests of the query routes. */
export function createLocalLiveFeed(): LiveFeed & { publish(batch: StoredBatch): void } {
  const hub = new LiveHub();
  return {
    subscribe: (filter, listener) => hub.subscribe(filter, listener),
    listenerCount: () => hub.listenerCount(),
    publish: (batch) => hub.publish(batch),
    async close() {},
  };
}

/** The ingest's stored-batch payload, leniently: bad entries are skipped, never thrown. */
export function parseStoredPayload(payload: Buffer | string): LiveReading[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString());
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const out: LiveReading[] = [];
  for (const item of parsed) {
    if (typeof item !== 'object' || item === null) continue;
    const { ts, values } = item as { ts?: unknown; values?: unknown };
    const ms = typeof ts === 'number' ? ts : typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
    if (!Number.isFinite(ms) || typeof values !== 'object' || values === null || Array.isArray(values))
      continue;
    out.push({ ts: Math.trunc(ms), values: values as Record<string, Value> });
  }
  return out;
}

export interface ServiceMqttOptions {
  /** e.g. mqtt://127.0.0.1:1883 */
  url: string;
  serviceSecret: string;
  clientId?: string;
  /** Reconnect delay; default 1000 ms. */
  reconnectPeriodMs?: number;
}

/**
 * The API's one MQTT connection (user `svc:api`), shared by the live feed and HTTP ingest. Clean
 * session: the live feed wants only what happens from now on; mqtt.js re-subscribes on reconnect.
 */
export function connectServiceMqtt(opts: ServiceMqttOptions): MqttClient {
  return mqtt.connect(opts.url, {
    username: SERVICE_USERNAMES.api,
    password: opts.serviceSecret,
    // MQTT 3.1.1 section 3.1.3.1: brokers need only accept ids up to 23 characters.
    clientId: opts.clientId ?? `svc-api-${randomBytes(6).toString('hex')}`,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: opts.reconnectPeriodMs ?? 1000,
    connectTimeout: 10_000,
    // A QoS 0 publish while offline is pointless for us (nothing publishes QoS 0 here anyway).
    queueQoSZero: false,
  });
}

export interface MqttLiveFeed extends LiveFeed {
  /** Resolves once the stored-batch subscription is acknowledged (SUBACK) for the first time. */
  ready: Promise<void>;
}

/**
 * Subscribes `client` to the stored-batch topics and fans batches out. `close()` unsubscribes the
 * listeners; it ends the client only when `ownsClient` (the client may be shared with HTTP ingest).
 */
export function createMqttLiveFeed(
  client: MqttClient,
  opts: { logger?: Logger; ownsClient?: boolean } = {},
): MqttLiveFeed {
  const hub = new LiveHub();
  const onMessage = (topic: string, payload: Buffer) => {
    const where = parseStoredTopic(topic);
    // Batches nobody here watches (another API process's streams): skip their JSON entirely.
    if (!where || !hub.wants(where.pilotId, where.deviceId)) return;
    const readings = parseStoredPayload(payload);
    if (!readings) {
      opts.logger?.warn({ topic }, 'ignoring a stored-batch message that is not a JSON array');
      return;
    }
    if (readings.length > 0) hub.publish({ ...where, readings }, opts.logger);
  };
  client.on('message', onMessage);
  const ready = client.subscribeAsync(STORED_TOPIC_FILTER, { qos: 0 }).then((granted) => {
    if (granted.some((g) => g.qos === 128))
      throw new Error(`broker refused the subscription to ${STORED_TOPIC_FILTER}`);
  });
  ready.catch((err) => opts.logger?.error({ err }, 'live feed subscription failed'));

  // What this process's streams watch, retained so ingest (also one started later) knows it; ingest
  // fans out only those readings (core/topics.ts liveInterestTopic).
  const interestTopic = liveInterestTopic(randomBytes(6).toString('hex'));
  let sent: Promise<void> = Promise.resolve();
  const sendInterest = () => {
    if (!client.connected) return;
    sent = client.publishAsync(interestTopic, JSON.stringify(hub.interest()), { qos: 1, retain: true }).then(
      () => {},
      (err) => opts.logger?.warn({ err }, 'could not publish the live interest'),
    );
  };
  hub.onChange = sendInterest;
  client.on('connect', sendInterest);
  sendInterest();

  return {
    ready,
    subscribe: (filter, listener) => hub.subscribe(filter, listener),
    interestSent: () => sent,
    listenerCount: () => hub.listenerCount(),
    async close() {
      hub.onChange = undefined;
      client.off('message', onMessage);
      client.off('connect', sendInterest);
      // An empty retained message deletes the retained one (MQTT 3.1.1 section 3.3.1.3).
      if (client.connected)
        await client.publishAsync(interestTopic, '', { qos: 1, retain: true }).catch(() => {});
      if (opts.ownsClient) await client.endAsync();
    },
  };
}
