/**
 * Device profiles: per device type, the keys it reports with their signal shapes, and how often.
 * Built in: `environment`, `energy-meter`, `door`. More come from a JSON (or YAML) file:
 * `{"profiles": [{"name": ..., "intervalMs": ..., "jitterMs": ..., "keys": {...}, "commands": [...]}]}`,
 * a bare array of profiles, or a single profile.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { KEY_PATTERN, RESERVED_KEYS, type Reading, type TelemetryValue as Value } from '../core/reading.js';
import { createRng, createSignal, hashSeed, type Signal, signalSpecSchema } from './signals.js';

export { KEY_PATTERN };

export const profileSchema = z
  .strictObject({
    name: z.string().min(1).max(64),
    intervalMs: z.number().int().min(1).max(86_400_000).default(1000),
    jitterMs: z.number().int().min(0).max(86_400_000).default(0),
    keys: z.record(z.string(), signalSpecSchema),
    /** Commands the device answers (device-sim/control.ts); others get status "error". */
    commands: z.array(z.enum(['setInterval', 'reboot'])).default(['setInterval', 'reboot']),
    /** Reported in the twin. */
    firmwareVersion: z.string().min(1).max(64).default('1.0.0'),
  })
  .superRefine((p, ctx) => {
    if (Object.keys(p.keys).length === 0)
      ctx.addIssue({ code: 'custom', message: 'a profile needs at least one key', path: ['keys'] });
    for (const [key, spec] of Object.entries(p.keys)) {
      // Checked here rather than on the record's key schema, whose error would not say why.
      if (!KEY_PATTERN.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['keys', key],
          message: 'a key is a letter, then letters, digits, _ . or -, at most 64 characters',
        });
      }
      if (RESERVED_KEYS.has(key))
        ctx.addIssue({ code: 'custom', path: ['keys', key], message: 'key is reserved (time, device)' });
      if (
        spec.type === 'onoff' &&
        spec.initial !== undefined &&
        typeof spec.initial !== typeof spec.states[0]
      ) {
        ctx.addIssue({
          code: 'custom',
          message: 'initial must have the type of the states',
          path: ['keys', key, 'initial'],
        });
      }
    }
  });

export type Profile = z.output<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;

const builtinInputs: ProfileInput[] = [
  {
    name: 'environment',
    intervalMs: 5000,
    jitterMs: 500,
    keys: {
      temperature: { type: 'sine', base: 21, amplitude: 3, periodMs: 86_400_000, noise: 0.2, decimals: 2 },
      humidity: { type: 'walk', start: 45, step: 0.5, min: 20, max: 80, decimals: 1 },
      co2: { type: 'sine', base: 650, amplitude: 250, periodMs: 3_600_000, noise: 20, decimals: 0 },
      pressure: { type: 'walk', start: 1013, step: 0.2, min: 980, max: 1040, decimals: 1 },
      battery: { type: 'walk', start: 100, step: 0.01, drift: -0.005, min: 0, max: 100, decimals: 2 },
    },
  },
  {
    name: 'energy-meter',
    intervalMs: 2000,
    jitterMs: 100,
    keys: {
      power: { type: 'sine', base: 1200, amplitude: 800, periodMs: 900_000, noise: 50, decimals: 1 },
      energy: { type: 'counter', start: 0, incrementMin: 0.0005, incrementMax: 0.002, decimals: 4 },
      voltage: { type: 'sine', base: 230, amplitude: 2, periodMs: 600_000, noise: 0.5, decimals: 1 },
      current: { type: 'walk', start: 5, step: 0.3, min: 0, max: 32, decimals: 2 },
    },
  },
  {
    name: 'door',
    intervalMs: 10_000,
    jitterMs: 2000,
    keys: {
      door: { type: 'onoff', states: ['closed', 'open'], switchProbability: 0.1 },
      tamper: { type: 'onoff', states: [false, true], switchProbability: 0.01 },
      battery: { type: 'walk', start: 100, step: 0.005, drift: -0.002, min: 0, max: 100, decimals: 2 },
    },
  },
];

export const BUILTIN_PROFILES: ReadonlyMap<string, Profile> = new Map(
  builtinInputs.map((p) => [p.name, profileSchema.parse(p)]),
);

// The file's shape is chosen by inspection (not a zod union) so errors name the bad field.
const wrappedSchema = z.strictObject({ profiles: z.array(profileSchema).min(1) });
const listSchema = z.array(profileSchema).min(1);

/** Parses profile file text (JSON; YAML when the file name ends in .yaml/.yml). Throws naming the field. */
export async function parseProfiles(text: string, fileName = 'profiles.json'): Promise<Profile[]> {
  let raw: unknown;
  if (/\.ya?ml$/i.test(fileName)) {
    // `yaml` ships with the toolchain (swagger, vite) but is not a declared dependency: load lazily.
    const yaml = (await import('yaml').catch(() => {
      throw new Error(`${fileName}: YAML profiles need the "yaml" package; use JSON or install it`);
    })) as { parse(text: string): unknown };
    raw = yaml.parse(text);
  } else {
    raw = JSON.parse(text);
  }
  const parsed = Array.isArray(raw)
    ? listSchema.safeParse(raw)
    : typeof raw === 'object' && raw !== null && 'profiles' in raw
      ? wrappedSchema.transform((w) => w.profiles).safeParse(raw)
      : profileSchema.transform((p) => [p]).safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(
      `${fileName}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`,
    );
  }
  return parsed.data;
}

export async function loadProfileFile(file: string): Promise<Profile[]> {
  return parseProfiles(await readFile(file, 'utf8'), file);
}

/** Resolves a name against file profiles first, then built-ins. */
export function resolveProfile(name: string, extra: readonly Profile[] = []): Profile {
  const found = extra.find((p) => p.name === name) ?? BUILTIN_PROFILES.get(name);
  if (!found) {
    const known = [...extra.map((p) => p.name), ...BUILTIN_PROFILES.keys()];
    throw new Error(`unknown profile "${name}"; known: ${known.join(', ')}`);
  }
  return found;
}

/** Makes readings for one device: one generator per key, seeded from (seed, device, key). */
export function createReadingGenerator(
  profile: Profile,
  seed: number,
  deviceId: string,
): (ts: number) => Reading {
  const signals: [string, Signal][] = Object.entries(profile.keys).map(([key, spec]) => [
    key,
    createSignal(spec, createRng(hashSeed(seed, deviceId, key))),
  ]);
  return (ts) => {
    const values: Record<string, Value> = {};
    for (const [key, signal] of signals) values[key] = signal(ts);
    return { ts, values };
  };
}
