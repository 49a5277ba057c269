/**
 * The platform's configuration: one zod schema per concern, read from environment variables.
 *
 * Only entrypoints (`main/*.ts`) pass `process.env` in here; every component receives the typed
 * section it needs. `loadConfig(env, sections)` validates just those sections and reports every bad
 * variable at once, so an operator fixes a broken environment in one go.
 */
import path from 'node:path';
import { z } from 'zod';
import { type InfluxConfig, influxCombinationProblems, influxConfigFrom } from './config-influx.js';

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
const url = () =>
  z.preprocess(
    unsetIfEmpty,
    z.string().refine((v) => {
      try {
        return ['http:', 'https:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, 'expected an http(s) URL such as http://127.0.0.1:8086'),
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

/** Each section maps environment variable names to a parsed, typed value. */
const sections = {
  common: z.object({
    DATA_DIR: str().default('./data'),
    LOG_LEVEL: z.preprocess(
      unsetIfEmpty,
      z
        .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
          error: 'expected one of fatal, error, warn, info, debug, trace, silent',
        })
        .default('info'),
    ),
    /** Shared by broker, ingest and API: how the services log in to the broker. */
    SERVICE_SECRET: str().optional(),
  }),
  http: z.object({
    HTTP_HOST: str().default('127.0.0.1'),
    HTTP_PORT: port().default(8080),
    ADMIN_API_KEY: z.preprocess(
      unsetIfEmpty,
      z.string().min(16, 'expected at least 16 characters').optional(),
    ),
    API_RATE_LIMIT_PER_MINUTE: intIn(1, 1_000_000).default(1200),
    API_MAX_STREAMS_PER_KEY: intIn(1, 100_000).default(20),
    /** Comma-separated origins allowed to call the API from browsers; unset: CORS off. */
    API_CORS_ORIGINS: z.preprocess(
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
    ),
    CONSOLE_ENABLED: bool().default(true),
  }),
  mqtt: z.object({
    MQTT_HOST: str().default('127.0.0.1'),
    MQTT_PORT: port().default(1883),
    /** What device credentials advertise; defaults to mqtt://MQTT_HOST:port. */
    MQTT_PUBLIC_URL: str().optional(),
  }),
  broker: z.object({
    BROKER_PERSISTENCE: z.preprocess(
      unsetIfEmpty,
      z.enum(['level', 'memory'], { error: 'expected level or memory' }).default('level'),
    ),
    MQTT_MAX_PAYLOAD_BYTES: intIn(64, 268_435_455).default(256 * 1024),
    MQTT_MAX_TOPIC_LEVELS: intIn(2, 64).default(8),
    DEVICE_MAX_MESSAGES_PER_SECOND: intIn(1, 1_000_000).default(200),
    /** Unset: one second's worth (DEVICE_MAX_MESSAGES_PER_SECOND). */
    DEVICE_BURST_MESSAGES: intIn(1, 100_000_000).optional(),
    MQTT_CONNECT_TIMEOUT_MS: intIn(100, 600_000).default(30_000),
    MQTT_ALLOW_ANONYMOUS: bool().default(false),
    MQTT_MAX_KEEPALIVE_SECONDS: intIn(1, 65_535).default(1200),
    MQTT_RETAINED_MAX_PER_DEVICE: intIn(0, 1_000_000).default(100),
    MQTT_RETAINED_MAX_BYTES_PER_DEVICE: intIn(0, 1_073_741_824).default(1024 * 1024),
    MQTT_AUTH_FAILURE_MAX_DELAY_MS: intIn(0, 60_000).default(2000),
  }),
  influx: z
    .object({
      INFLUX_URL: url().optional(),
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
      INFLUX_USERNAME: str().optional(),
      INFLUX_PASSWORD: str().optional(),
      INFLUX_TOKEN: str().optional(),
      INFLUX_ORG: str().optional(),
      INFLUX_BUCKET: str().optional(),
    })
    .superRefine((r, ctx) => {
      for (const p of influxCombinationProblems(r))
        ctx.addIssue({ code: 'custom', path: [p.variable], message: p.message });
    }),
  ingest: z.object({
    INGEST_BATCH_SIZE: intIn(1, 100_000).default(5000),
    INGEST_FLUSH_MS: intIn(1, 60_000).default(100),
    INGEST_MAX_IN_FLIGHT: intIn(1, 64).default(4),
    TELEMETRY_MAX_KEYS_PER_READING: intIn(1, 100_000).default(256),
    TELEMETRY_MAX_KEYS_PER_DEVICE: intIn(1, 1_000_000).default(1000),
    TELEMETRY_MAX_KEYS_PER_PILOT: intIn(1, 10_000_000).default(10_000),
  }),
  journal: z.object({
    /** The name is older than the journal's own section; it stays, as every variable name is public. */
    INGEST_SPOOL_MAX_MESSAGES: intIn(1000, 100_000_000).default(2_000_000),
  }),
  registry: z.object({
    DEVICE_ERRORS_KEPT: intIn(1, 100_000).default(200),
  }),
  sim: z.object({
    SIM_DEVICES: intIn(0, 100_000).default(5),
    SIM_INTERVAL_MS: intIn(10, 3_600_000).default(1000),
  }),
} as const;

export type SectionName = keyof typeof sections;

export interface CommonConfig {
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Unset: generated once into DATA_DIR/service-secret. */
  serviceSecret: string | undefined;
}
export interface HttpConfig {
  host: string;
  port: number;
  adminApiKey: string | undefined;
  rateLimitPerMinute: number;
  /** Live streams (SSE) open at once per API key. */
  maxStreamsPerKey: number;
  /** Origins allowed by CORS; empty: CORS off. */
  corsOrigins: string[];
  /** Serve the browser console at /console/. */
  consoleEnabled: boolean;
}
export interface MqttConfig {
  host: string;
  port: number;
  publicUrl: string | undefined;
}
export interface BrokerConfig {
  persistence: 'level' | 'memory';
  maxPayloadBytes: number;
  maxTopicLevels: number;
  /** Over this rate a device is slowed down (its messages held), never dropped. */
  deviceMaxMessagesPerSecond: number;
  /** Messages a device may send at once before its rate applies (token bucket size). */
  deviceBurstMessages: number;
  connectTimeoutMs: number;
  allowAnonymous: boolean;
  /** Keepalive 0 or above this is treated as this (broker/keepalive.ts). */
  maxKeepaliveSeconds: number;
  retainedMaxPerDevice: number;
  retainedMaxBytesPerDevice: number;
  /** Longest delay of a refused CONNACK (broker/connect-throttle.ts); 0: no slowdown. */
  authFailureMaxDelayMs: number;
}
export type { InfluxConfig };
export interface IngestConfig {
  batchSize: number;
  flushMs: number;
  maxInFlight: number;
  /** Caps on keys: a key past one is a device error, the rest of the reading is kept. */
  maxKeysPerReading: number;
  /** Distinct keys of a device; `latest` without `keys` queries only these. */
  maxKeysPerDevice: number;
  maxKeysPerPilot: number;
}
export interface JournalConfig {
  /** Past this many journal entries the broker holds telemetry PUBACKs until half (backpressure). */
  maxMessages: number;
}
export interface RegistryConfig {
  /** Device errors kept per device. */
  deviceErrorsKept: number;
}
export interface SimConfig {
  devices: number;
  intervalMs: number;
}

export interface PlatformConfig {
  common: CommonConfig;
  http: HttpConfig;
  mqtt: MqttConfig;
  broker: BrokerConfig;
  influx: InfluxConfig;
  ingest: IngestConfig;
  journal: JournalConfig;
  registry: RegistryConfig;
  sim: SimConfig;
}

// biome-ignore lint/suspicious/noExplicitAny: the raw parsed section is reshaped below
type Raw = Record<string, any>;
const shape: { [K in SectionName]: (r: Raw) => PlatformConfig[K] } = {
  common: (r) => ({
    dataDir: path.resolve(r.DATA_DIR),
    logLevel: r.LOG_LEVEL,
    serviceSecret: r.SERVICE_SECRET,
  }),
  http: (r) => ({
    host: r.HTTP_HOST,
    port: r.HTTP_PORT,
    adminApiKey: r.ADMIN_API_KEY,
    rateLimitPerMinute: r.API_RATE_LIMIT_PER_MINUTE,
    maxStreamsPerKey: r.API_MAX_STREAMS_PER_KEY,
    corsOrigins: r.API_CORS_ORIGINS,
    consoleEnabled: r.CONSOLE_ENABLED,
  }),
  mqtt: (r) => ({ host: r.MQTT_HOST, port: r.MQTT_PORT, publicUrl: r.MQTT_PUBLIC_URL }),
  broker: (r) => ({
    persistence: r.BROKER_PERSISTENCE,
    maxPayloadBytes: r.MQTT_MAX_PAYLOAD_BYTES,
    maxTopicLevels: r.MQTT_MAX_TOPIC_LEVELS,
    deviceMaxMessagesPerSecond: r.DEVICE_MAX_MESSAGES_PER_SECOND,
    deviceBurstMessages: r.DEVICE_BURST_MESSAGES ?? r.DEVICE_MAX_MESSAGES_PER_SECOND,
    connectTimeoutMs: r.MQTT_CONNECT_TIMEOUT_MS,
    allowAnonymous: r.MQTT_ALLOW_ANONYMOUS,
    maxKeepaliveSeconds: r.MQTT_MAX_KEEPALIVE_SECONDS,
    retainedMaxPerDevice: r.MQTT_RETAINED_MAX_PER_DEVICE,
    retainedMaxBytesPerDevice: r.MQTT_RETAINED_MAX_BYTES_PER_DEVICE,
    authFailureMaxDelayMs: r.MQTT_AUTH_FAILURE_MAX_DELAY_MS,
  }),
  influx: (r) => influxConfigFrom(r as Parameters<typeof influxConfigFrom>[0]),
  ingest: (r) => ({
    batchSize: r.INGEST_BATCH_SIZE,
    flushMs: r.INGEST_FLUSH_MS,
    maxInFlight: r.INGEST_MAX_IN_FLIGHT,
    maxKeysPerReading: r.TELEMETRY_MAX_KEYS_PER_READING,
    maxKeysPerDevice: r.TELEMETRY_MAX_KEYS_PER_DEVICE,
    maxKeysPerPilot: r.TELEMETRY_MAX_KEYS_PER_PILOT,
  }),
  journal: (r) => ({ maxMessages: r.INGEST_SPOOL_MAX_MESSAGES }),
  registry: (r) => ({ deviceErrorsKept: r.DEVICE_ERRORS_KEPT }),
  sim: (r) => ({ devices: r.SIM_DEVICES, intervalMs: r.SIM_INTERVAL_MS }),
};

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string; value: string | undefined }[]) {
    super(
      `Invalid configuration:\n${problems
        .map((p) => `  ${p.variable}=${JSON.stringify(p.value ?? '')}: ${p.message}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Validates the named sections of `env` and returns them typed. Throws one ConfigError listing
 * every bad variable of those sections.
 */
export function loadConfig<S extends SectionName>(
  env: Record<string, string | undefined>,
  wanted: readonly S[],
): Pick<PlatformConfig, S> {
  const problems: ConfigError['problems'] = [];
  const out: Partial<PlatformConfig> = {};
  // An empty value means unset (`FOO= npm start`), also where a default or `optional()` wraps a field.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  for (const name of wanted) {
    const parsed = sections[name].safeParse(set);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const variable = String(issue.path[0] ?? name);
        problems.push({ variable, message: issue.message, value: env[variable] });
      }
      continue;
    }
    // biome-ignore lint/suspicious/noExplicitAny: index by the section name
    (out as any)[name] = shape[name](parsed.data as Raw);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Pick<PlatformConfig, S>;
}

/** Every variable the platform reads, for the README and `--help` output. */
export const ALL_SECTIONS: readonly SectionName[] = Object.keys(sections) as SectionName[];

/** The ingest section's caps on telemetry keys, as ingest and HTTP ingest use them. */
export function keyLimitsOf(
  ingest: Pick<IngestConfig, 'maxKeysPerReading' | 'maxKeysPerDevice' | 'maxKeysPerPilot'>,
) {
  return {
    perReading: ingest.maxKeysPerReading,
    perDevice: ingest.maxKeysPerDevice,
    perPilot: ingest.maxKeysPerPilot,
  };
}
