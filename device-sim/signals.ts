/**
 * Signal shapes for simulated keys. Each key gets its own generator, fed by a seeded PRNG, so a
 * seed reproduces the same series for the same timestamps. Every shape returns one value type
 * for its whole life (the contract fixes a key's type at its first value).
 */
import { z } from 'zod';
import type { Value } from './types.js';

/** mulberry32: small, fast, good enough for simulated noise; deterministic for a seed. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit FNV-1a hash, to derive per-device, per-key seeds from names. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const decimals = z.number().int().min(0).max(10).optional();

export const signalSpecSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('sine'),
    base: finite,
    amplitude: finite,
    periodMs: finite.refine((v) => v > 0, 'expected a positive period'),
    noise: finite.min(0).default(0),
    decimals,
  }),
  z.strictObject({
    type: z.literal('walk'),
    start: finite,
    step: finite.min(0),
    /** Added each reading (e.g. a slowly draining battery). */
    drift: finite.default(0),
    min: finite.optional(),
    max: finite.optional(),
    decimals,
  }),
  z.strictObject({
    type: z.literal('counter'),
    start: finite.default(0),
    /** Increment per reading, drawn uniformly from [min, max]; never negative (a counter). */
    incrementMin: finite.min(0),
    incrementMax: finite.min(0),
    decimals,
  }),
  z.strictObject({
    type: z.literal('onoff'),
    /** Two states of one type: strings (`open`/`closed`) or booleans. */
    states: z
      .union([z.tuple([z.string(), z.string()]), z.tuple([z.boolean(), z.boolean()])])
      .default([true, false]),
    /** Chance per reading of switching to the other state. */
    switchProbability: z.number().min(0).max(1),
    initial: z.union([z.string(), z.boolean()]).optional(),
  }),
  z.strictObject({ type: z.literal('constant'), value: z.union([finite, z.boolean(), z.string()]) }),
]);

export type SignalSpec = z.output<typeof signalSpecSchema>;
export type SignalInput = z.input<typeof signalSpecSchema>;

/** A generator: called once per reading with the reading's timestamp. */
export type Signal = (ts: number) => Value;

const round = (v: number, places: number | undefined) => {
  if (places === undefined) return v;
  const f = 10 ** places;
  return Math.round(v * f) / f;
};
const clamp = (v: number, min?: number, max?: number) =>
  Math.min(max ?? Number.POSITIVE_INFINITY, Math.max(min ?? Number.NEGATIVE_INFINITY, v));

export function createSignal(spec: SignalSpec, rng: () => number): Signal {
  switch (spec.type) {
    case 'sine': {
      // A random phase per device, so a fleet's sensors do not move in lockstep.
      const phase = rng() * 2 * Math.PI;
      return (ts) => {
        const wave = Math.sin((2 * Math.PI * ts) / spec.periodMs + phase);
        return round(spec.base + spec.amplitude * wave + (rng() * 2 - 1) * spec.noise, spec.decimals);
      };
    }
    case 'walk': {
      let v = spec.start;
      return () => {
        v = clamp(v + spec.drift + (rng() * 2 - 1) * spec.step, spec.min, spec.max);
        return round(v, spec.decimals);
      };
    }
    case 'counter': {
      let v = spec.start;
      const lo = Math.min(spec.incrementMin, spec.incrementMax);
      const hi = Math.max(spec.incrementMin, spec.incrementMax);
      return () => {
        v += lo + rng() * (hi - lo);
        return round(v, spec.decimals);
      };
    }
    case 'onoff': {
      const [a, b] = spec.states;
      let state: Value = spec.initial ?? a;
      return () => {
        if (rng() < spec.switchProbability) state = state === a ? b : a;
        return state;
      };
    }
    case 'constant':
      return () => spec.value;
  }
}
