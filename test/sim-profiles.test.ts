import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BUILTIN_PROFILES,
  createReadingGenerator,
  encodePayload,
  parseProfiles,
  type Reading,
} from '../device-sim/index.js';

// The contract's telemetry payload, strictly: {ts, values} or an array of them (oldest first).
const contractValue = z.union([z.number().refine(Number.isFinite), z.boolean(), z.string()]);
const contractReading = z.strictObject({
  ts: z.number().int().positive(),
  values: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/), contractValue),
});
const contractPayload = z.union([contractReading, z.array(contractReading).min(1)]);

const T0 = Date.UTC(2026, 10, 1);
const series = (profileName: string, seed: number, deviceId = 'dev_test', n = 500): Reading[] => {
  const gen = createReadingGenerator(BUILTIN_PROFILES.get(profileName)!, seed, deviceId);
  return Array.from({ length: n }, (_, i) => gen(T0 + i * 1000));
};
const typeOf = (v: unknown) => typeof v;

describe('built-in profiles', () => {
  it('has environment, energy-meter and door', () => {
    expect([...BUILTIN_PROFILES.keys()].sort()).toEqual(['door', 'energy-meter', 'environment']);
    expect(Object.keys(BUILTIN_PROFILES.get('environment')!.keys)).toEqual(
      expect.arrayContaining(['temperature', 'humidity', 'co2']),
    );
    expect(Object.keys(BUILTIN_PROFILES.get('energy-meter')!.keys)).toEqual(
      expect.arrayContaining(['power', 'energy', 'voltage']),
    );
    expect(Object.keys(BUILTIN_PROFILES.get('door')!.keys)).toEqual(
      expect.arrayContaining(['door', 'battery']),
    );
  });

  for (const name of BUILTIN_PROFILES.keys()) {
    it(`${name}: every reading and batch is a valid contract payload with stable key types`, () => {
      const readings = series(name, 7);
      for (const r of readings) contractPayload.parse(JSON.parse(encodePayload([r])));
      const batch = JSON.parse(encodePayload(readings));
      expect(Array.isArray(batch)).toBe(true);
      contractPayload.parse(batch);

      const keys = Object.keys(readings[0]!.values);
      for (const key of keys) {
        const types = new Set(readings.map((r) => typeOf(r.values[key])));
        expect(types.size, `${name}.${key} has one type`).toBe(1);
      }
      for (const r of readings) expect(Object.keys(r.values)).toEqual(keys);
    });
  }

  it('door events are open/closed strings that actually change', () => {
    const doors = series('door', 3).map((r) => r.values.door);
    expect(new Set(doors)).toEqual(new Set(['open', 'closed']));
  });

  it('the energy counter never decreases', () => {
    const energy = series('energy-meter', 3).map((r) => r.values.energy as number);
    for (let i = 1; i < energy.length; i++) expect(energy[i]!).toBeGreaterThanOrEqual(energy[i - 1]!);
    expect(energy.at(-1)!).toBeGreaterThan(energy[0]!);
  });

  it('is deterministic for a seed and device, and differs across seeds and devices', () => {
    expect(series('environment', 42)).toEqual(series('environment', 42));
    expect(series('environment', 42)).not.toEqual(series('environment', 43));
    expect(series('environment', 42, 'dev_a')).not.toEqual(series('environment', 42, 'dev_b'));
  });
});

describe('profile files', () => {
  const custom = {
    profiles: [
      {
        name: 'pump',
        intervalMs: 250,
        jitterMs: 20,
        keys: {
          rpm: { type: 'sine', base: 1500, amplitude: 200, periodMs: 60000, noise: 5 },
          'pressure.bar': { type: 'walk', start: 2, step: 0.05, min: 0, max: 6 },
          running: { type: 'onoff', states: [true, false], switchProbability: 0.05 },
          cycles: { type: 'counter', incrementMin: 1, incrementMax: 1 },
          site: { type: 'constant', value: 'north-1' },
        },
      },
    ],
  };

  it('parses JSON profiles and generates valid readings', async () => {
    const [pump] = await parseProfiles(JSON.stringify(custom));
    expect(pump!.name).toBe('pump');
    const gen = createReadingGenerator(pump!, 1, 'dev_x');
    for (let i = 0; i < 100; i++) contractPayload.parse(gen(T0 + i));
    expect(gen(T0 + 1000).values.site).toBe('north-1');
  });

  it('accepts a bare array or a single profile', async () => {
    expect(await parseProfiles(JSON.stringify(custom.profiles))).toHaveLength(1);
    expect(await parseProfiles(JSON.stringify(custom.profiles[0]))).toHaveLength(1);
  });

  it.each([
    ['a key starting with a digit', { '1bad': { type: 'constant', value: 1 } }, /keys/],
    ['a key too long', { ['k'.repeat(65)]: { type: 'constant', value: 1 } }, /keys/],
    ['a reserved key', { time: { type: 'constant', value: 1 } }, /reserved/],
    ['mixed-type states', { s: { type: 'onoff', states: ['on', false], switchProbability: 0.1 } }, /keys\.s/],
    [
      'an initial of another type',
      { s: { type: 'onoff', states: ['a', 'b'], initial: true, switchProbability: 0.1 } },
      /initial/,
    ],
    ['an unknown shape', { s: { type: 'square' } }, /keys\.s/],
    ['no keys', {}, /at least one key/],
  ])('rejects %s, naming the field', async (_what, keys, message) => {
    await expect(parseProfiles(JSON.stringify({ name: 'bad', keys }), 'bad.json')).rejects.toThrow(message);
  });
});
