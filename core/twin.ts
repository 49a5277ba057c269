/**
 * The device twin's rules, shared by the API and the broker: JSON merge patches (RFC 7396) with a
 * per-leaf update time, the delta (desired values the device has not reported), and the limits
 * (document size, nesting depth, key grammar) checked before anything is stored.
 */
import type { TwinChange, TwinDoc, TwinMeta, TwinRecord } from './registry/command-types.js';

/** Largest desired or reported document, as JSON bytes (TWIN_MAX_BYTES). */
export const TWIN_MAX_BYTES = 8 * 1024;
/** Levels of nested objects and arrays in a patch or document, the outermost object counting 1. */
export const TWIN_MAX_DEPTH = 6;
/** Twin keys: a letter, then letters, digits, `_` or `-`, at most 64 characters. */
export const TWIN_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** A refused patch: which field (`desired.a.b`), a stable code, and words. */
export class TwinLimitError extends Error {
  constructor(
    readonly path: string,
    readonly code: 'invalid_key' | 'too_deep' | 'too_big' | 'invalid_type',
    message: string,
    readonly limit?: number,
  ) {
    super(`${path}: ${message}`);
    this.name = 'TwinLimitError';
  }
}

/** The If-Match version was not the current one (the API answers 412). */
export class TwinVersionConflict extends Error {
  constructor(readonly current: number) {
    super(`twin version is ${current}`);
    this.name = 'TwinVersionConflict';
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a merge patch's shape, keys and depth; `root` names it in errors (`desired`). */
export function checkTwinPatch(patch: unknown, root: string): TwinDoc {
  if (!isPlainObject(patch)) throw new TwinLimitError(root, 'invalid_type', 'expected a JSON object');
  walk(patch, root, 1);
  return patch;
}

function walk(value: unknown, path: string, depth: number): void {
  if (depth > TWIN_MAX_DEPTH) {
    throw new TwinLimitError(path, 'too_deep', `nested deeper than ${TWIN_MAX_DEPTH} levels`, TWIN_MAX_DEPTH);
  }
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object' && item !== null) walk(item, path, depth + 1);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    if (!TWIN_KEY_PATTERN.test(key)) {
      throw new TwinLimitError(
        `${path}.${key.slice(0, 80)}`,
        'invalid_key',
        'a key is a letter, then letters, digits, "_" or "-", at most 64 characters',
      );
    }
    if (typeof inner === 'object' && inner !== null) walk(inner, `${path}.${key}`, depth + 1);
  }
}

const clone = <T>(v: T): T => structuredClone(v);

/**
 * RFC 7396 merge of `patch` into copies of `doc` and its update times: null deletes, an object
 * merges, anything else (arrays too) replaces. Leaves that change get `now`.
 */
export function mergeTwinPatch(
  doc: TwinDoc,
  meta: TwinMeta,
  patch: TwinDoc,
  now: number,
): { doc: TwinDoc; meta: TwinMeta; changed: boolean } {
  const out = clone(doc);
  const outMeta = clone(meta);
  const changed = mergeInto(out, outMeta, patch, now);
  return { doc: out, meta: outMeta, changed };
}

function mergeInto(doc: TwinDoc, meta: TwinMeta, patch: TwinDoc, now: number): boolean {
  let changed = false;
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      if (key in doc) changed = true;
      delete doc[key];
      delete meta[key];
    } else if (isPlainObject(value)) {
      if (!isPlainObject(doc[key])) {
        doc[key] = {};
        meta[key] = {};
        changed = true;
      }
      if (typeof meta[key] !== 'object') meta[key] = {};
      if (mergeInto(doc[key] as TwinDoc, meta[key] as TwinMeta, value, now)) changed = true;
    } else if (!sameJson(doc[key], value)) {
      doc[key] = clone(value);
      meta[key] = now;
      changed = true;
    }
  }
  return changed;
}

export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as TwinDoc)[k], (b as TwinDoc)[k]));
}

/** What the device still has to do: each desired value that the reported state does not equal. */
export function twinDelta(desired: TwinDoc, reported: TwinDoc): TwinDoc {
  const delta: TwinDoc = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = reported[key];
    if (isPlainObject(want) && isPlainObject(have)) {
      const inner = twinDelta(want, have);
      if (Object.keys(inner).length > 0) delta[key] = inner;
    } else if (!sameJson(want, have)) delta[key] = clone(want);
  }
  return delta;
}

function checkSize(doc: TwinDoc, root: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(doc));
  if (bytes > TWIN_MAX_BYTES) {
    throw new TwinLimitError(
      root,
      'too_big',
      `the ${root} document would be ${bytes} bytes, more than ${TWIN_MAX_BYTES}`,
      TWIN_MAX_BYTES,
    );
  }
}

/** A partner's change of the desired state; `ifVersion` (If-Match) must be the current version. */
export function desiredChange(patch: TwinDoc, now: number, ifVersion?: number): TwinChange {
  return (twin) => {
    if (ifVersion !== undefined && ifVersion !== twin.version) throw new TwinVersionConflict(twin.version);
    const merged = mergeTwinPatch(twin.desired, twin.desiredMeta, patch, now);
    if (!merged.changed) return twin;
    checkSize(merged.doc, 'desired');
    return {
      ...twin,
      desired: merged.doc,
      desiredMeta: merged.meta,
      version: twin.version + 1,
      updatedAt: now,
    };
  };
}

/** The device's report, merged into the reported state. */
export function reportedChange(patch: TwinDoc, now: number): TwinChange {
  return (twin) => {
    const merged = mergeTwinPatch(twin.reported, twin.reportedMeta, patch, now);
    if (!merged.changed) return twin;
    checkSize(merged.doc, 'reported');
    return {
      ...twin,
      reported: merged.doc,
      reportedMeta: merged.meta,
      reportedVersion: twin.reportedVersion + 1,
      updatedAt: now,
    };
  };
}

export const emptyTwin = (deviceId: string): TwinRecord => ({
  deviceId,
  desired: {},
  reported: {},
  desiredMeta: {},
  reportedMeta: {},
  version: 0,
  reportedVersion: 0,
  updatedAt: 0,
});
