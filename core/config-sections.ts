/**
 * Every environment variable the platform reads, once: one section per owner, each variable as
 * `name: ['ENV_VAR', schema]`; types come from the schemas (core/config.ts). Names are public.
 */
import path from 'node:path';
import { z } from 'zod';
import { influxCombinationProblems, influxConfigFrom } from './config-influx.js';
import { mqttListenersSection } from './config-listeners.js';

// Environment values are strings; an empty string means "unset" (as in `FOO= npm start`).
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);

const intIn = (min: number, max: number, what = 'an integer') =>
  z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^\d+$/, `expected ${what} from ${min} to ${max}`)
      .transform(Number)
      .refine((n) => n >= min && n <= max, `expected ${what} from ${min} to ${max}`),
  );
const port = () => intIn(0, 65535, 'a port number');
const str = () => z.preprocess(unsetIfEmpty, z.string().min(1));
const bool = () =>
  z.preprocess(
    unsetIfEmpty,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );
const httpUrl = (example: string) =>
  z.preprocess(
    unsetIfEmpty,
    z.string().refine((v) => {
      try {
        return ['http:', 'https:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `expected an http(s) URL such as ${example}`),
  );
const logLevel = () =>
  z.preprocess(
    unsetIfEmpty,
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'expected one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
  );

/** A URL with one of `schemes` (without the colon), e.g. postgres://user:pass@host:5432/db. */
const urlOf = (schemes: string[], example: string) =>
  z.preprocess(
    unsetIfEmpty,
    z.string().refine((v) => {
      try {
        return schemes.includes(new URL(v).protocol.slice(0, -1));
      } catch {
        return false;
      }
    }, `expected a URL such as ${example}`),
  );

/** `scheme://host[:port]`, exactly as a browser sends it in `Origin`. */
function isOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return ['http:', 'https:'].includes(u.protocol) && u.origin === value;
  } catch {
    return false;
  }
}
const origins = () =>
  z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((o) => o.trim())
          .filter((o) => o.length > 0),
      )
      .refine(
        (list) => list.every(isOrigin),
        'expected comma-separated origins such as https://dash.example.com,http://localhost:3000',
      )
      .default([]),
  );

type Spec = Record<string, readonly [string, z.ZodType]>;
type Out<S extends Spec> = { [K in keyof S]: z.output<S[K][1]> };

/** A section: the schema reads the variables' names, the result has the spec's names. */
function section<S extends Spec>(spec: S) {
  const shape = Object.fromEntries(Object.values(spec).map(([env, schema]) => [env, schema]));
  return z
    .object(shape)
    .transform(
      (raw) => Object.fromEntries(Object.entries(spec).map(([key, [env]]) => [key, raw[env]])) as Out<S>,
    );
}

export const SECTIONS = {
  common: section({
    dataDir: [
      'DATA_DIR',
      str()
        .default('./data')
        .transform((d) => path.resolve(d)),
    ],
    logLevel: ['LOG_LEVEL', logLevel()],
    /** How the services log in to the broker; unset: generated once into DATA_DIR/service-secret. */
    serviceSecret: ['SERVICE_SECRET', str().optional()],
  }),
  http: section({
    host: ['HTTP_HOST', str().default('127.0.0.1')],
    port: ['HTTP_PORT', port().default(8080)],
    adminApiKey: [
      'ADMIN_API_KEY',
      z.preprocess(unsetIfEmpty, z.string().min(16, 'expected at least 16 characters').optional()),
    ],
    rateLimitPerMinute: ['API_RATE_LIMIT_PER_MINUTE', intIn(1, 1_000_000).default(1200)],
    /** Live streams (SSE) open at once per API key. */
    maxStreamsPerKey: ['API_MAX_STREAMS_PER_KEY', intIn(1, 100_000).default(20)],
    /** Origins allowed by CORS; empty: CORS off. */
    corsOrigins: ['API_CORS_ORIGINS', origins()],
    consoleEnabled: ['CONSOLE_ENABLED', bool().default(true)],
  }),
  mqtt: section({
    host: ['MQTT_HOST', str().default('127.0.0.1')],
    port: ['MQTT_PORT', port().default(1883)],
    /** What device credentials advertise; defaults to mqtt://MQTT_HOST:port. */
    publicUrl: ['MQTT_PUBLIC_URL', str().optional()],
  }),
  /** mqtts, ws and wss beside MQTT_PORT (core/config-listeners.ts). */
  mqttListeners: mqttListenersSection,
  broker: section({
    persistence: [
      'BROKER_PERSISTENCE',
      z.preprocess(
        unsetIfEmpty,
        z.enum(['level', 'memory'], { error: 'expected level or memory' }).default('level'),
      ),
    ],
    maxPayloadBytes: ['MQTT_MAX_PAYLOAD_BYTES', intIn(64, 268_435_455).default(256 * 1024)],
    maxTopicLevels: ['MQTT_MAX_TOPIC_LEVELS', intIn(2, 64).default(8)],
    /** Over this rate a device is slowed down (its messages held), never dropped. */
    deviceMaxMessagesPerSecond: ['DEVICE_MAX_MESSAGES_PER_SECOND', intIn(1, 1_000_000).default(200)],
    /** Messages a device may send at once (token bucket size); unset: one second's worth. */
    deviceBurstMessages: ['DEVICE_BURST_MESSAGES', intIn(1, 100_000_000).optional()],
    connectTimeoutMs: ['MQTT_CONNECT_TIMEOUT_MS', intIn(100, 600_000).default(30_000)],
    allowAnonymous: ['MQTT_ALLOW_ANONYMOUS', bool().default(false)],
    /** Keepalive 0 or above this is treated as this (broker/keepalive.ts). */
    maxKeepaliveSeconds: ['MQTT_MAX_KEEPALIVE_SECONDS', intIn(1, 65_535).default(1200)],
    retainedMaxPerDevice: ['MQTT_RETAINED_MAX_PER_DEVICE', intIn(0, 1_000_000).default(100)],
    retainedMaxBytesPerDevice: [
      'MQTT_RETAINED_MAX_BYTES_PER_DEVICE',
      intIn(0, 1_073_741_824).default(1024 * 1024),
    ],
    /** Longest delay of a refused CONNACK (broker/connect-throttle.ts); 0: no slowdown. */
    authFailureMaxDelayMs: ['MQTT_AUTH_FAILURE_MAX_DELAY_MS', intIn(0, 60_000).default(2000)],
  }).transform((b) => ({ ...b, deviceBurstMessages: b.deviceBurstMessages ?? b.deviceMaxMessagesPerSecond })),
  influx: z
    .object({
      INFLUX_URL: httpUrl('http://127.0.0.1:8086').optional(),
      INFLUX_DATABASE: z.preprocess(
        unsetIfEmpty,
        z
          .string()
          .regex(
            /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
            'expected a database name: a letter, then letters, digits, _ or -',
          )
          .optional(),
      ),
      INFLUXD_PATH: str().default('influxd'),
      INFLUX_MANAGED_PORT: port().optional(),
      INFLUX_USERNAME: str().optional(),
      INFLUX_PASSWORD: str().optional(),
      INFLUX_TOKEN: str().optional(),
      INFLUX_ORG: str().optional(),
      INFLUX_BUCKET: str().optional(),
    })
    .superRefine((r, ctx) => {
      for (const p of influxCombinationProblems(r))
        ctx.addIssue({ code: 'custom', path: [p.variable], message: p.message });
    })
    .transform(influxConfigFrom),
  ingest: section({
    batchSize: ['INGEST_BATCH_SIZE', intIn(1, 100_000).default(5000)],
    flushMs: ['INGEST_FLUSH_MS', intIn(1, 60_000).default(100)],
    maxInFlight: ['INGEST_MAX_IN_FLIGHT', intIn(1, 64).default(4)],
    /** Caps on keys: a key past one is a device error, the rest of the reading is kept. */
    maxKeysPerReading: ['TELEMETRY_MAX_KEYS_PER_READING', intIn(1, 100_000).default(256)],
    /** Distinct keys of a device; `latest` without `keys` queries only these. */
    maxKeysPerDevice: ['TELEMETRY_MAX_KEYS_PER_DEVICE', intIn(1, 1_000_000).default(1000)],
    maxKeysPerPilot: ['TELEMETRY_MAX_KEYS_PER_PILOT', intIn(1, 10_000_000).default(10_000)],
  }),
  journal: section({
    /** Past this many entries the broker holds telemetry PUBACKs until half (the name predates the journal). */
    maxMessages: ['INGEST_SPOOL_MAX_MESSAGES', intIn(1000, 100_000_000).default(2_000_000)],
  }),
  registry: section({
    /** Device errors kept per device. */
    deviceErrorsKept: ['DEVICE_ERRORS_KEPT', intIn(1, 100_000).default(200)],
  }),
  /** `GET /metrics` of `npm run broker` and `npm run ingest` (the API serves its own on HTTP_PORT). */
  metrics: section({
    host: ['METRICS_HOST', str().default('127.0.0.1')],
    /** `npm run broker`: its /metrics on this port; unset: none (it relays to the API's instead). */
    brokerPort: ['BROKER_METRICS_PORT', port().optional()],
    /** `npm run ingest`: likewise. */
    ingestPort: ['INGEST_METRICS_PORT', port().optional()],
  }),
  /** Cluster mode (issue 12); all unset: the embedded default (SQLite, the local journal, LevelDB). */
  cluster: section({
    /** The registry in PostgreSQL; unset: SQLite in DATA_DIR. */
    databaseUrl: [
      'DATABASE_URL',
      urlOf(['postgres', 'postgresql'], 'postgres://platform:secret@127.0.0.1:5432/platform').optional(),
    ],
    /** MQTT across broker nodes and the telemetry journal in Redis; unset: LevelDB and SQLite in DATA_DIR. */
    redisUrl: ['REDIS_URL', urlOf(['redis', 'rediss'], 'redis://:secret@127.0.0.1:6379/0').optional()],
    /** This broker node's name, unique among live nodes; unset: `{hostname}-{MQTT_PORT}` (or pid). */
    nodeId: [
      'BROKER_NODE_ID',
      z.preprocess(
        unsetIfEmpty,
        z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1 to 64 letters, digits, dots, dashes or underscores')
          .optional(),
      ),
    ],
    /** A broker node silent this long counts as dead: its devices are marked offline by the others. */
    nodeTtlMs: ['BROKER_NODE_TTL_MS', intIn(1000, 3_600_000).default(15_000)],
    /** This ingest worker's name in the journal's consumer group; unset: `{hostname}-{pid}`. */
    workerId: ['INGEST_WORKER_ID', str().optional()],
    /** Entries a worker left unacknowledged this long are taken over by another (Redis journal). */
    reclaimIdleMs: ['INGEST_RECLAIM_IDLE_MS', intIn(1000, 3_600_000).default(60_000)],
  }),
  sim: section({
    devices: ['SIM_DEVICES', intIn(0, 100_000).default(5)],
    intervalMs: ['SIM_INTERVAL_MS', intIn(10, 3_600_000).default(1000)],
    /** `npm run sim`: the API it provisions devices through; unset: http://HTTP_HOST:HTTP_PORT. */
    apiUrl: ['SIM_API_URL', httpUrl('http://127.0.0.1:8080').optional()],
    /** `npm run sim`: the partner key it provisions with. */
    apiKey: ['SIM_API_KEY', str().optional()],
    /** `npm run sim`: the pilot it creates devices in. */
    pilotId: ['SIM_PILOT_ID', str().optional()],
  }),
} as const;
