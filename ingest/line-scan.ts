/**
 * The fast path of ingest: a payload of the shapes devices send every time (a batch of `{ts, values}`,
 * one such reading, a flat object) scanned byte by byte straight into line protocol, with no object per
 * reading. It accepts only a strict subset of what core/telemetry.ts accepts and answers undefined for
 * anything else (a string ts, escapes, non-ASCII, exponents, duplicates, any error): the caller then
 * takes the general path, which decides and words every refusal. test/ingest-line-scan.test.ts
 * compares both paths on generated payloads (fast-check).
 */
import type { ValueType } from '../core/reading.js';
import * as token from './line-scan-tokens.js';
import { NO } from './line-scan-tokens.js';
import { timestampText } from './points.js';

/** Whether readings with these keys and value types are stored as they are (no claim, no cap, no conflict). */
export type LayoutCheck = (keys: readonly string[], types: readonly ValueType[]) => boolean;

export interface ScannedLines {
  /** `count` lines of line protocol joined by `\n`. */
  text: string;
  count: number;
}

/** Readings with more keys take the general path (the key caps trim them there). */
const MAX_FAST_KEYS = 64;
const TS_KEY = Buffer.from('"ts"');
const VALUES_KEY = Buffer.from('"values"');
const TYPES: readonly ValueType[] = ['number', 'boolean', 'string'];
const EMPTY = Buffer.alloc(0);

/**
 * Line protocol for every reading of `payload`, each line starting with `prefix` (measurement and
 * device tag, escaped, printable ASCII), or undefined when the general path must decide. All or nothing.
 */
export function scanLines(
  payload: Buffer,
  receivedAt: number,
  prefix: string,
  accepts: LayoutCheck,
): ScannedLines | undefined {
  return scanner.scan(payload, receivedAt, prefix, accepts);
}

/** The scanner's state in fields (module-level `let`s cost a check per access); one per process, never re-entered. */
class Scanner {
  private b: Buffer = EMPTY;
  private n = 0;
  private out = Buffer.allocUnsafe(1 << 16);
  private o = 0;
  // The keys of the reading being scanned: offsets into `b`, lengths, types (0 number, 1 boolean, 2 string).
  private readonly keyAt = new Int32Array(MAX_FAST_KEYS);
  private readonly keyLen = new Int32Array(MAX_FAST_KEYS);
  private readonly keyType = new Uint8Array(MAX_FAST_KEYS);
  private keyCount = 0;
  // The last layout accepted in this payload.
  private readonly refAt = new Int32Array(MAX_FAST_KEYS);
  private readonly refLen = new Int32Array(MAX_FAST_KEYS);
  private readonly refType = new Uint8Array(MAX_FAST_KEYS);
  private refCount = 0;
  private tsAt = 0;
  private tsLen = 0;
  private check: LayoutCheck = () => false;
  /** Scanning a flat object, where a `ts` key is refused (a misplaced timestamp). */
  private flatMode = false;
  private prefixBytes = EMPTY;
  private prefixText = '';

  scan(payload: Buffer, receivedAt: number, prefix: string, accepts: LayoutCheck): ScannedLines | undefined {
    this.b = payload;
    this.n = payload.length;
    this.o = 0;
    this.refCount = 0;
    this.flatMode = false;
    this.check = accepts;
    try {
      const count = this.scanTop(0, receivedAt, prefix);
      if (count <= 0) return undefined;
      return { text: this.out.toString('latin1', 0, this.o - 1), count };
    } finally {
      this.b = EMPTY; // do not keep the payload alive
      this.check = REFUSE_ALL;
    }
  }

  private ws(i: number): number {
    return token.skipSpace(this.b, i, this.n);
  }

  /** Readings written, or NO. */
  private scanTop(i: number, receivedAt: number, prefix: string): number {
    i = this.ws(i);
    let count = 0;
    if (this.b[i] === 0x5b) {
      i = this.ws(i + 1);
      if (this.b[i] === 0x5d) return NO; // empty batch: refused by the general path
      for (;;) {
        i = this.reading(i, prefix);
        if (i === NO) return NO;
        count++;
        i = this.ws(i);
        if (this.b[i] === 0x2c) i = this.ws(i + 1);
        else if (this.b[i] === 0x5d) break;
        else return NO;
      }
      i++;
    } else if (this.b[i] === 0x7b) {
      const first = this.ws(i + 1);
      // `{"ts"...` or `{"values"...`: one reading; anything else: a flat object.
      if (this.isKey(first, TS_KEY) || this.isKey(first, VALUES_KEY)) i = this.reading(i, prefix);
      else i = this.flat(i, receivedAt, prefix);
      if (i === NO) return NO;
      count = 1;
    } else return NO;
    return this.ws(i) === this.n ? count : NO;
  }

  private isKey(i: number, key: Buffer): boolean {
    if (i + key.length > this.n) return false;
    for (let k = 0; k < key.length; k++) if (this.b[i + k] !== key[k]) return false;
    return true;
  }

  /** `{"ts": <integer>, "values": {...}}` in either order, exactly these two keys; the position after it. */
  private reading(i: number, prefix: string): number {
    if (this.b[i] !== 0x7b) return NO;
    const start = this.o;
    this.write(prefix);
    let sawTs = false;
    let sawValues = false;
    i = this.ws(i + 1);
    for (;;) {
      if (this.isKey(i, TS_KEY) && !sawTs) {
        sawTs = true;
        i = this.ws(i + TS_KEY.length);
        if (this.b[i] !== 0x3a) return NO;
        i = this.ts(this.ws(i + 1));
      } else if (this.isKey(i, VALUES_KEY) && !sawValues) {
        sawValues = true;
        i = this.ws(i + VALUES_KEY.length);
        if (this.b[i] !== 0x3a) return NO;
        i = this.values(this.ws(i + 1));
      } else return NO;
      if (i === NO) return NO;
      i = this.ws(i);
      if (this.b[i] === 0x2c) i = this.ws(i + 1);
      else if (this.b[i] === 0x7d) break;
      else return NO;
    }
    if (!sawTs || !sawValues) return NO;
    // The fields were written after the prefix; the time goes last.
    this.ensure(this.tsLen + 2);
    this.out[this.o++] = 0x20;
    this.copy(this.tsAt, this.tsAt + this.tsLen);
    this.out[this.o++] = 0x0a;
    return this.o > start ? i + 1 : NO;
  }

  /** A timestamp token (line-scan-tokens.ts), remembered for the line's end. */
  private ts(i: number): number {
    const e = token.timestampEnd(this.b, i, this.n);
    this.tsAt = i;
    this.tsLen = e - i;
    return e;
  }

  /** A flat object: every member a value, stamped `receivedAt`. */
  private flat(i: number, receivedAt: number, prefix: string): number {
    this.flatMode = true;
    this.write(prefix);
    i = this.members(i);
    if (i === NO) return NO;
    const time = timestampText(receivedAt);
    this.ensure(time.length + 2);
    this.out[this.o++] = 0x20;
    this.o += this.out.write(time, this.o, 'latin1');
    this.out[this.o++] = 0x0a;
    return i;
  }

  /** A values object (at least one member); its fields are written. */
  private values(i: number): number {
    return this.b[i] === 0x7b ? this.members(i) : NO;
  }

  /** `{"key": value, ...}` with keys of KEY_PATTERN, not reserved, no duplicates, accepted by `check`. */
  private members(i: number): number {
    this.keyCount = 0;
    i = this.ws(i + 1);
    if (this.b[i] === 0x7d) return NO; // no keys: refused by the general path
    for (;;) {
      if (this.keyCount === MAX_FAST_KEYS || this.b[i] !== 0x22) return NO;
      const k = i + 1;
      const e = token.keyEnd(this.b, k, this.n);
      if (e === NO) return NO;
      this.ensure(e - k + 2);
      if (this.keyCount > 0) this.out[this.o++] = 0x2c;
      this.copy(k, e);
      this.out[this.o++] = 0x3d;
      this.keyAt[this.keyCount] = k;
      this.keyLen[this.keyCount] = e - k;
      i = this.ws(e + 1);
      if (this.b[i] !== 0x3a) return NO;
      i = this.value(this.ws(i + 1));
      if (i === NO) return NO;
      this.keyCount++;
      i = this.ws(i);
      if (this.b[i] === 0x2c) i = this.ws(i + 1);
      else if (this.b[i] === 0x7d) break;
      else return NO;
    }
    return this.sameLayout() || this.newLayout() ? i + 1 : NO;
  }

  /** A number (no exponent, not -0, short), `true`, `false` or a plain ASCII string; written as is. */
  private value(i: number): number {
    const c = this.b[i] as number;
    const s = i;
    if (c === 0x22) {
      i = token.plainStringEnd(this.b, i, this.n);
      if (i === NO) return NO;
      this.keyType[this.keyCount] = 2;
    } else if (c === 0x74 || c === 0x66) {
      i = token.literalEnd(this.b, i, c === 0x74 ? token.TRUE : token.FALSE);
      if (i === NO) return NO;
      this.keyType[this.keyCount] = 1;
    } else {
      i = token.numberEnd(this.b, i, this.n);
      if (i === NO) return NO;
      this.keyType[this.keyCount] = 0;
    }
    this.ensure(i - s);
    this.copy(s, i);
    return i;
  }

  /** The reading's keys and types equal the last accepted layout of this payload. */
  private sameLayout(): boolean {
    if (this.keyCount !== this.refCount) return false;
    for (let k = 0; k < this.keyCount; k++) {
      const len = this.keyLen[k] as number;
      if (len !== this.refLen[k] || this.keyType[k] !== this.refType[k]) return false;
      const a = this.keyAt[k] as number;
      const r = this.refAt[k] as number;
      for (let j = 0; j < len; j++) if (this.b[a + j] !== this.b[r + j]) return false;
    }
    return true;
  }

  /** A layout not seen yet in this payload: no duplicate or reserved keys, and stored as it is. */
  private newLayout(): boolean {
    const keys: string[] = new Array(this.keyCount);
    const types: ValueType[] = new Array(this.keyCount);
    const seen = new Set<string>();
    for (let k = 0; k < this.keyCount; k++) {
      const at = this.keyAt[k] as number;
      const key = this.b.toString('latin1', at, at + (this.keyLen[k] as number));
      if (seen.has(key) || key === 'time' || key === 'device' || (this.flatMode && key === 'ts'))
        return false;
      seen.add(key);
      keys[k] = key;
      types[k] = TYPES[this.keyType[k] as number] as ValueType;
    }
    if (!this.check(keys, types)) return false;
    this.refAt.set(this.keyAt.subarray(0, this.keyCount));
    this.refLen.set(this.keyLen.subarray(0, this.keyCount));
    this.refType.set(this.keyType.subarray(0, this.keyCount));
    this.refCount = this.keyCount;
    return true;
  }

  private ensure(bytes: number): void {
    if (this.o + bytes <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.o + bytes));
    this.out.copy(bigger, 0, 0, this.o);
    this.out = bigger;
  }

  /** Bytes `s..e` of the payload to the output (room ensured); a loop: Buffer#copy costs more for a few bytes. */
  private copy(s: number, e: number): void {
    for (let j = s; j < e; j++) this.out[this.o++] = this.b[j] as number;
  }

  /** The escaped prefix (printable ASCII: the caller checks). */
  private write(text: string): void {
    if (text !== this.prefixText) {
      this.prefixBytes = Buffer.from(text, 'latin1');
      this.prefixText = text;
    }
    const len = this.prefixBytes.length;
    this.ensure(len);
    for (let j = 0; j < len; j++) this.out[this.o++] = this.prefixBytes[j] as number;
  }
}

const REFUSE_ALL: LayoutCheck = () => false;
const scanner = new Scanner();
