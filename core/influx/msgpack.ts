/**
 * MessagePack as InfluxDB 1.x answers `/query` with `Accept: application/x-msgpack`, which costs
 * influxd less CPU than JSON (docs/DESIGN.md, "Reads in MessagePack"). The formats follow the spec
 * (github.com/msgpack/msgpack, spec.md); bin and ext, which InfluxDB does not send when `epoch` is
 * set, are refused. Maps become plain objects as JSON.parse builds them.
 */

export class MsgpackError extends Error {
  constructor(message: string) {
    super(`MessagePack: ${message}`);
    this.name = 'MsgpackError';
  }
}

/** A position in a buffer; readers step `i` past what they read. */
export interface Cursor {
  b: Buffer;
  i: number;
}

/** What readScalar answers for a value that is not nil, a boolean or a number (cursor unmoved). */
export const NOT_SCALAR: unique symbol = Symbol('not a scalar');

const TWO_32 = 4294967296;

/** Elements of the array at the cursor, stepping past its header; -1 (unmoved) when not an array. */
export const arrayHeader = (c: Cursor): number => header(c, 0x90, 0x0f, undefined, 0xdc, 0xdd);

/** Entries of the map at the cursor, stepping past its header; -1 (unmoved) when not a map. */
export const mapHeader = (c: Cursor): number => header(c, 0x80, 0x0f, undefined, 0xde, 0xdf);

/** Bytes of the string at the cursor, stepping past its header only; -1 (unmoved) when not a string. */
export function strHeader(c: Cursor): number {
  const n = header(c, 0xa0, 0x1f, 0xd9, 0xda, 0xdb);
  if (c.i + n > c.b.length) throw new MsgpackError('a string runs past the end');
  return n;
}

/** A length in the fix form (`fix` with the length in `mask`'s bits) or after an 8/16/32-bit type. */
function header(
  c: Cursor,
  fix: number,
  mask: number,
  t8: number | undefined,
  t16: number,
  t32: number,
): number {
  const t = c.b[c.i];
  if (t === undefined) return -1;
  if ((t & ~mask) === fix) return step(c, 1, t & mask);
  if (t === t8) return step(c, 2, c.b.readUInt8(c.i + 1));
  if (t === t16) return step(c, 3, c.b.readUInt16BE(c.i + 1));
  if (t === t32) return step(c, 5, c.b.readUInt32BE(c.i + 1));
  return -1;
}

/** nil, a boolean or a number (int64 beyond 2^53 rounded, as JSON.parse rounds it). */
export function readScalar(c: Cursor): number | boolean | null | typeof NOT_SCALAR {
  const { b } = c;
  const t = b[c.i];
  if (t === undefined) return NOT_SCALAR;
  if (t <= 0x7f) return step(c, 1, t);
  if (t >= 0xe0) return step(c, 1, t - 0x100);
  const i = c.i + 1;
  switch (t) {
    case 0xc0:
      return step(c, 1, null);
    case 0xc2:
      return step(c, 1, false);
    case 0xc3:
      return step(c, 1, true);
    case 0xca:
      return step(c, 5, b.readFloatBE(i));
    case 0xcb:
      return step(c, 9, b.readDoubleBE(i));
    case 0xcc:
      return step(c, 2, b.readUInt8(i));
    case 0xcd:
      return step(c, 3, b.readUInt16BE(i));
    case 0xce:
      return step(c, 5, b.readUInt32BE(i));
    case 0xcf:
      return step(c, 9, b.readUInt32BE(i) * TWO_32 + b.readUInt32BE(i + 4));
    case 0xd0:
      return step(c, 2, b.readInt8(i));
    case 0xd1:
      return step(c, 3, b.readInt16BE(i));
    case 0xd2:
      return step(c, 5, b.readInt32BE(i));
    case 0xd3:
      return step(c, 9, b.readInt32BE(i) * TWO_32 + b.readUInt32BE(i + 4));
    default:
      return NOT_SCALAR;
  }
}

/** Any value InfluxDB sends: a scalar, a string, an array or a map. */
export function readValue(c: Cursor, depth = 0): unknown {
  if (depth > 32) throw new MsgpackError('nested too deep');
  const scalar = readScalar(c);
  if (scalar !== NOT_SCALAR) return scalar;
  const n = strHeader(c);
  if (n >= 0) return step(c, n, c.b.toString('utf8', c.i, c.i + n));
  const len = arrayHeader(c);
  if (len >= 0) {
    const out: unknown[] = [];
    for (let k = 0; k < len; k++) out.push(readValue(c, depth + 1));
    return out;
  }
  const entries = mapHeader(c);
  if (entries < 0) throw new MsgpackError(`type 0x${(c.b[c.i] ?? 0).toString(16)} at byte ${c.i}`);
  const out: Record<string, unknown> = {};
  for (let k = 0; k < entries; k++) {
    const key = readValue(c, depth + 1);
    if (typeof key !== 'string') throw new MsgpackError(`a map key that is not a string at byte ${c.i}`);
    // As JSON.parse does: "__proto__" becomes an own property, not the prototype.
    Object.defineProperty(out, key, {
      value: readValue(c, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** One whole value; throws on a malformed or truncated buffer, or bytes after the value. */
export function decodeMsgpack(b: Buffer): unknown {
  const c = { b, i: 0 };
  let value: unknown;
  try {
    value = readValue(c);
  } catch (err) {
    if (err instanceof RangeError) throw new MsgpackError('the answer ends inside a value');
    throw err;
  }
  if (c.i !== b.length) throw new MsgpackError(`${b.length - c.i} bytes after the value`);
  return value;
}

function step<T>(c: Cursor, bytes: number, value: T): T {
  c.i += bytes;
  return value;
}
