/**
 * One nesting limit for every JSON the platform accepts from outside: API bodies (api/app.ts) and
 * device payloads over MQTT and HTTP (core/telemetry.ts). Checked on the text *before* JSON.parse:
 * V8 parses 100,000 nested arrays without a stack overflow but spends ~70 ms on them, and code
 * walking the result recursively (JSON.stringify in a size check) throws a RangeError.
 */

/** Levels of arrays and objects; the contract's deepest shape (a batch of readings) has 3. */
export const MAX_JSON_DEPTH = 64;

/** Byte or code unit classes: 1 quote, 2 opening bracket, 3 closing bracket. */
const CLASS = new Uint8Array(256);
CLASS[0x22] = 1;
CLASS[0x5b] = 2;
CLASS[0x7b] = 2;
CLASS[0x5d] = 3;
CLASS[0x7d] = 3;

/**
 * Where the JSON text first opens its `max + 1`-th level of arrays and objects, or -1. Brackets
 * inside strings do not count. Works on UTF-8 bytes (multi-byte sequences never hold ASCII bytes)
 * and on strings; malformed JSON is left to JSON.parse to refuse.
 */
export function jsonDepthExceededAt(json: Uint8Array | string, max = MAX_JSON_DEPTH): number {
  return typeof json === 'string' ? scanText(json, max) : scanBytes(json, max);
}

// Two copies of one loop: indexing a Buffer is about twice as fast as charCodeAt, and device
// payloads arrive as Buffers (about 1 ns per byte, a fifth of JSON.parse's time on a batch).
function scanBytes(b: Uint8Array, max: number): number {
  let depth = 0;
  const n = b.length;
  for (let i = 0; i < n; i++) {
    const k = CLASS[b[i] as number] as number;
    if (k === 0) continue;
    if (k === 1) {
      for (i++; i < n; i++) {
        const d = b[i] as number;
        if (d === 0x22) break;
        if (d === 0x5c) i++; // skip the escaped character
      }
    } else if (k === 2) {
      if (++depth > max) return i;
    } else depth--;
  }
  return -1;
}

function scanText(s: string, max: number): number {
  let depth = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const k = c < 256 ? (CLASS[c] as number) : 0;
    if (k === 0) continue;
    if (k === 1) {
      for (i++; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x22) break;
        if (d === 0x5c) i++;
      }
    } else if (k === 2) {
      if (++depth > max) return i;
    } else depth--;
  }
  return -1;
}

/**
 * The member of the top-level object that holds position `at` (e.g. `metadata`), for an error that
 * names the field; undefined when the text is not an object or the key cannot be read.
 */
export function topLevelKeyAt(text: string, at: number): string | undefined {
  let depth = 0;
  let lastKey: string | undefined;
  for (let i = 0; i < at && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      // A string at depth 1 directly before the deep value is the key of its member.
      if (depth === 1) lastKey = text.slice(start, i + 1);
    } else if (c === 0x5b || c === 0x7b) {
      if (depth === 0 && c !== 0x7b) return undefined;
      depth++;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  if (lastKey === undefined) return undefined;
  try {
    return JSON.parse(lastKey) as string;
  } catch {
    return undefined;
  }
}
