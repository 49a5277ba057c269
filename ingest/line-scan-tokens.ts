/**
 * The tokens of the ingest fast path (line-scan.ts), each a function of the payload's bytes: where a
 * token that the fast path takes ends, or NO when it must go to the general path. Stateless, so the
 * scanner's class keeps only what a reading needs to remember.
 */
import { bytesAt } from '../core/bytes.js';
import { MAX_STRING_BYTES, MAX_TS_MS } from '../core/reading.js';

/** A failed scan: the general path takes the payload. */
export const NO = -1;

// Byte classes for keys: 1 a letter (may start a key), 2 a digit, `_`, `.` or `-`.
const KEY_BYTE = new Uint8Array(256);
for (let c = 0x41; c <= 0x5a; c++) KEY_BYTE[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) KEY_BYTE[c] = 1;
for (let c = 0x30; c <= 0x39; c++) KEY_BYTE[c] = 2;
for (const c of [0x5f, 0x2e, 0x2d]) KEY_BYTE[c] = 2;

const MAX_KEY_LENGTH = 64;
/** Longer number tokens take the general path: a short decimal without exponent is always finite. */
const MAX_NUMBER_LENGTH = 32;
const MAX_TS_DIGITS = String(MAX_TS_MS).length;

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

export const TRUE = Buffer.from('true');
export const FALSE = Buffer.from('false');

/** `true` or `false` at `i` (`lit`); the position after it. */
export function literalEnd(b: Buffer, i: number, lit: Buffer): number {
  return bytesAt(b, i, lit) ? i + lit.length : NO;
}

export function skipSpace(b: Buffer, i: number, n: number): number {
  while (i < n) {
    const c = b[i] as number;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** A key of KEY_PATTERN from its first byte `k` (after the quote) to its closing quote. */
export function keyEnd(b: Buffer, k: number, n: number): number {
  if (KEY_BYTE[b[k] as number] !== 1) return NO;
  let e = k + 1;
  while (e < n && KEY_BYTE[b[e] as number] !== 0) e++;
  return b[e] !== 0x22 || e - k > MAX_KEY_LENGTH ? NO : e;
}

/** An integer from 0 to MAX_TS_MS (JSON: no leading zeros). */
export function timestampEnd(b: Buffer, i: number, n: number): number {
  const s = i;
  if (b[i] === 0x30) i++;
  else while (i < n && isDigit(b[i])) i++;
  const len = i - s;
  if (len === 0 || len > MAX_TS_DIGITS) return NO;
  const c = b[i];
  if (c === 0x2e || c === 0x65 || c === 0x45 || isDigit(c)) return NO;
  if (len === MAX_TS_DIGITS && Number(b.toString('latin1', s, i)) > MAX_TS_MS) return NO;
  return i;
}

/** A string of printable ASCII without escapes, from its opening quote; the position after it. */
export function plainStringEnd(b: Buffer, i: number, n: number): number {
  const s = i;
  for (i++; i < n; i++) {
    const d = b[i] as number;
    if (d === 0x22) break;
    if (d < 0x20 || d > 0x7e || d === 0x5c) return NO; // escapes, controls, non-ASCII
  }
  if (i >= n || i - s - 1 > MAX_STRING_BYTES) return NO;
  return i + 1;
}

/** JSON's number grammar without an exponent; -0 (stored as -0 by InfluxDB, as 0 by the general path) is not taken. */
export function numberEnd(b: Buffer, i: number, n: number): number {
  const s = i;
  let nonZero = false;
  if (b[i] === 0x2d) i++;
  const d0 = i;
  if (b[i] === 0x30) i++;
  else {
    while (i < n && isDigit(b[i])) {
      nonZero = true;
      i++;
    }
  }
  if (i === d0) return NO;
  if (b[i] === 0x2e) {
    const f = ++i;
    while (i < n && isDigit(b[i])) {
      if (b[i] !== 0x30) nonZero = true;
      i++;
    }
    if (i === f) return NO;
  }
  const c = b[i];
  if (c === 0x65 || c === 0x45 || isDigit(c)) return NO;
  if (i - s > MAX_NUMBER_LENGTH || (b[s] === 0x2d && !nonZero)) return NO;
  return i;
}
