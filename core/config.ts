/**
 * The platform's configuration from environment variables: `loadConfig(env, sections)` validates the
 * sections a component owns (core/config-sections.ts) and reports every bad variable at once. Only
 * entrypoints (`main/*.ts`) pass `process.env` in here.
 */
import type { z } from 'zod';
import type { InfluxConfig } from './config-influx.js';
import { SECTIONS } from './config-sections.js';

export type SectionName = keyof typeof SECTIONS;
export type PlatformConfig = { [K in SectionName]: z.output<(typeof SECTIONS)[K]> };

export type CommonConfig = PlatformConfig['common'];
export type HttpConfig = PlatformConfig['http'];
export type MqttConfig = PlatformConfig['mqtt'];
export type BrokerConfig = PlatformConfig['broker'];
export type MqttListenersConfig = PlatformConfig['mqttListeners'];
export type { InfluxConfig };
export type IngestConfig = PlatformConfig['ingest'];
export type JournalConfig = PlatformConfig['journal'];
export type RegistryConfig = PlatformConfig['registry'];
export type SimConfig = PlatformConfig['sim'];
export type MetricsConfig = PlatformConfig['metrics'];
export type ClusterConfig = PlatformConfig['cluster'];

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
  const out: Partial<Record<SectionName, unknown>> = {};
  // An empty value means unset (`FOO= npm start`), also where a default or `optional()` wraps a field.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  for (const name of wanted) {
    const parsed = SECTIONS[name].safeParse(set);
    if (parsed.success) {
      out[name] = parsed.data;
      continue;
    }
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? name);
      problems.push({ variable, message: issue.message, value: env[variable] });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Pick<PlatformConfig, S>;
}

/** Every section, for the one-process start (`npm start`). */
export const ALL_SECTIONS: readonly SectionName[] = Object.keys(SECTIONS) as SectionName[];

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

/** Every environment variable a section reads (its zod object's keys, under any refinements and transforms). */
export function sectionVariables(name: SectionName): string[] {
  let schema: unknown = SECTIONS[name];
  for (let i = 0; i < 8 && schema; i++) {
    const def = (schema as { def?: { type?: string; in?: unknown; shape?: Record<string, unknown> } }).def;
    if (def?.type === 'object' && def.shape) return Object.keys(def.shape);
    schema = def?.in;
  }
  throw new Error(`section ${name}: no object schema found`);
}

/** Every environment variable the platform reads, once, sorted. */
export function configVariables(): string[] {
  return [...new Set(ALL_SECTIONS.flatMap(sectionVariables))].sort();
}
