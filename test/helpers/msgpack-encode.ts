/**
 * A MessagePack encoder for tests and benchmarks, writing what InfluxDB 1.x writes for `/query`
 * (tinylib/msgp: the smallest integer form, floats as float64). `wide` picks a wider valid form for
 * integers and headers, so readers are tested on every form the spec allows.
 */

export interface EncodeOptions {
  /** For each integer, string or container: a wider form than the smallest (true) or not. */
  wide?: () => boolean;
  /** Numbers that are floats in InfluxDB (written as float64 even when integral). */
  isFloat?: (n: number) => boolean;
}

export function encodeMsgpack(value: unknown, opts: EncodeOptions = {}): Buffer {
  const out: number[] = [];
  const wide = opts.wide ?? (() => false);
  const isFloat = opts.isFloat ?? ((n: number) => !Number.isSafeInteger(n) || Object.is(n, -0));
  const bytes = (n: number, v: number | bigint) => {
    const b = Buffer.alloc(n);
    if (n === 1) b.writeUInt8(Number(v));
    else if (n === 2) b.writeUInt16BE(Number(v));
    else if (n === 4) b.writeUInt32BE(Number(v));
    else b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(v)));
    out.push(...b);
  };
  const header = (len: number, fix: number, fixMax: number, t16: number, t32: number, t8?: number) => {
    if (len <= fixMax && !wide()) out.push(fix | len);
    else if (t8 !== undefined && len <= 0xff && !wide()) out.push(t8, len);
    else if (len <= 0xffff && !wide()) {
      out.push(t16);
      bytes(2, len);
    } else {
      out.push(t32);
      bytes(4, len);
    }
  };
  const int = (n: number) => {
    if (n >= 0 && n <= 0x7f && !wide()) out.push(n);
    else if (n < 0 && n >= -32 && !wide()) out.push(n + 0x100);
    else if (n >= -0x80 && n <= 0x7f && !wide()) out.push(0xd0, n & 0xff);
    else if (n >= 0 && n <= 0xff && !wide()) out.push(0xcc, n);
    else if (n >= -0x8000 && n <= 0x7fff && !wide()) {
      out.push(0xd1);
      bytes(2, n & 0xffff);
    } else if (n >= 0 && n <= 0xffff && !wide()) {
      out.push(0xcd);
      bytes(2, n);
    } else if (n >= -0x80000000 && n <= 0x7fffffff && !wide()) {
      out.push(0xd2);
      bytes(4, n >>> 0);
    } else if (n >= 0 && n <= 0xffffffff && !wide()) {
      out.push(0xce);
      bytes(4, n);
    } else {
      out.push(n >= 0 && wide() ? 0xcf : 0xd3);
      bytes(8, BigInt(n));
    }
  };
  const write = (v: unknown): void => {
    if (v === null) out.push(0xc0);
    else if (v === false) out.push(0xc2);
    else if (v === true) out.push(0xc3);
    else if (typeof v === 'number') {
      if (isFloat(v)) {
        const b = Buffer.alloc(9);
        b[0] = 0xcb;
        b.writeDoubleBE(v, 1);
        out.push(...b);
      } else int(v);
    } else if (typeof v === 'string') {
      const b = Buffer.from(v);
      header(b.length, 0xa0, 31, 0xda, 0xdb, 0xd9);
      out.push(...b);
    } else if (Array.isArray(v)) {
      header(v.length, 0x90, 15, 0xdc, 0xdd);
      for (const e of v) write(e);
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as object);
      header(entries.length, 0x80, 15, 0xde, 0xdf);
      for (const [k, e] of entries) {
        write(k);
        write(e);
      }
    } else throw new Error(`cannot encode ${typeof v}`);
  };
  write(value);
  return Buffer.from(out);
}
