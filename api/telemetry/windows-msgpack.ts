/**
 * The windows route's JSON written from InfluxDB's MessagePack answer (what the 1.x backend asks
 * for: it costs influxd less CPU than JSON; docs/DESIGN.md, "Reads in MessagePack"). Each cell is
 * written as JSON.stringify writes the number into one text buffer, and windows-write.ts copies the
 * items out. Anything else in the answer (strings, a message, an error, tags, another shape) returns
 * undefined and the caller decodes the same bytes the general way. test/windows-msgpack.test.ts
 * checks that both ways give the same bytes.
 */
import { bytesAt, latin1 } from '../../core/bytes.js';
import {
  arrayHeader,
  type Cursor,
  MsgpackError,
  mapHeader,
  NOT_SCALAR,
  readScalar,
  strHeader,
} from '../../core/influx/msgpack.js';
import {
  isTime,
  noWindows,
  releaseScan,
  reserveRow,
  scan,
  type WindowsShape,
  writeWindows,
} from './windows-write.js';

const RESULTS = latin1('results');
const STATEMENT_ID = latin1('statement_id');
const SERIES = latin1('series');
const NAME = latin1('name');
const COLUMNS = latin1('columns');
const VALUES = latin1('values');
const LITERALS = latin1('nulltruefalse');

/** Names, then the literals, then the numbers of the answer being transcoded, as JSON text; reused. */
let text = Buffer.allocUnsafe(1 << 16);
const KEPT_TEXT = 1 << 22;
/** The answer's numbers in cell order, and the cell (its index in `scan.cells`) of each; reused. */
const numbers: number[] = [];
let numberCells: Int32Array = new Int32Array(4096);

/** The response body `{"items":[...],"nextCursor":null}`, or undefined when the answer is not plain. */
export function windowsMsgpack(body: Buffer, shape: WindowsShape): Buffer | undefined {
  try {
    return transcode({ b: body, i: 0 }, shape);
  } catch (err) {
    // Truncated or malformed: the general way decodes the same bytes and reports it.
    if (err instanceof RangeError || err instanceof MsgpackError) return undefined;
    throw err;
  } finally {
    releaseScan();
    numbers.length = 0;
    if (text.length > KEPT_TEXT) text = Buffer.allocUnsafe(1 << 16);
    if (numberCells.length > KEPT_TEXT) numberCells = new Int32Array(4096);
  }
}

// InfluxDB writes {"results":[{"statement_id":0,"series":[{"name","columns","values"}]}]}, the
// series left out when empty as an empty array (services/httpd/response_writer.go, msgpackFormatter).
function transcode(c: Cursor, shape: WindowsShape): Buffer | undefined {
  if (mapHeader(c) !== 1 || !key(c, RESULTS) || arrayHeader(c) !== 1) return undefined;
  if (mapHeader(c) !== 2 || !key(c, STATEMENT_ID) || readScalar(c) !== 0 || !key(c, SERIES)) return undefined;
  const nseries = arrayHeader(c);
  if (nseries === 0) return c.i === c.b.length ? noWindows() : undefined;
  if (nseries !== 1 || mapHeader(c) !== 3 || !key(c, NAME)) return undefined;
  const nameBytes = strHeader(c);
  if (nameBytes < 0) return undefined;
  c.i += nameBytes;
  if (!key(c, COLUMNS)) return undefined;
  const ncol = arrayHeader(c);
  if (ncol < 2) return undefined;
  // Column names copied into the text as [start, end) ranges, then null, true and false once.
  const names: number[] = [];
  let p = 0;
  for (let k = 0; k < ncol; k++) {
    const n = strHeader(c);
    if (n < 0 || !plainName(c.b, c.i, c.i + n)) return undefined;
    room(p, n);
    names.push(p, p + c.b.copy(text, p, c.i, c.i + n));
    p += n;
    c.i += n;
  }
  if (!isTime(text, names[0]!, names[1]!) || !key(c, VALUES)) return undefined;
  room(p, LITERALS.length);
  const literals = p;
  p += LITERALS.copy(text, p);
  const rows = arrayHeader(c);
  if (rows < 0) return undefined;
  const hasValue = new Uint8Array(ncol);
  const view = new DataView(c.b.buffer, c.b.byteOffset, c.b.byteLength);
  let cellBytes = 0;
  for (let r = 0; r < rows; r++) {
    if (arrayHeader(c) !== ncol) return undefined;
    reserveRow(r, ncol);
    const time = readScalar(c);
    if (typeof time !== 'number' || !Number.isSafeInteger(time)) return undefined;
    scan.times[r] = time;
    const cells = scan.cells;
    for (let k = 1, cell = (r * ncol + 1) * 2; k < ncol; k++, cell += 2) {
      // float64, what mean() and float fields answer, read inline; anything else by readScalar.
      const v = c.b[c.i] === 0xcb && c.i + 9 <= c.b.length ? float64(c, view) : readScalar(c);
      if (typeof v === 'number') {
        hasValue[k] = 1;
        if (numbers.length === numberCells.length) numberCells = grow(numberCells);
        numberCells[numbers.length] = cell;
        numbers.push(v);
        continue;
      }
      if (v === NOT_SCALAR) return undefined; // a string: the general way escapes it
      const s = v === null ? literals : v ? literals + 4 : literals + 8;
      const e = v === false ? s + 5 : s + 4;
      if (v !== null) hasValue[k] = 1;
      cells[cell] = s;
      cells[cell + 1] = e;
      cellBytes += e - s;
    }
  }
  if (c.i !== c.b.length) return undefined;
  cellBytes += writeNumbers(p);
  return writeWindows({ text, names, hasValue, rows, cellBytes }, shape);
}

/**
 * The numbers as JSON.stringify writes them (the general way's bytes by construction: -0 as 0, a
 * non-finite number as null), in one call: V8 formats an array of numbers without a string per
 * number, twice as fast as String() each. Points each number's cell at its text; returns the bytes.
 */
function writeNumbers(p: number): number {
  if (numbers.length === 0) return 0;
  const json = JSON.stringify(numbers);
  room(p, json.length);
  text.write(json, p, 'latin1');
  const { cells } = scan;
  // Each number ends at the next comma (the last at "]"), found in the string: indexOf outruns a
  // byte loop over the buffer.
  let s = 1; // after "["
  for (let n = 0; n < numbers.length; n++) {
    let e = json.indexOf(',', s);
    if (e < 0) e = json.length - 1;
    const cell = numberCells[n]!;
    cells[cell] = p + s;
    cells[cell + 1] = p + e;
    s = e + 1;
  }
  return json.length - numbers.length - 1; // less "[", the commas and "]"
}

/** A float64 at the cursor (its type byte checked by the caller), through the answer's DataView. */
function float64(c: Cursor, view: DataView): number {
  const v = view.getFloat64(c.i + 1);
  c.i += 9;
  return v;
}

/** The next value is the string `lit` (a map key): steps past it; otherwise leaves the cursor. */
function key(c: Cursor, lit: Buffer): boolean {
  const start = c.i;
  const n = strHeader(c);
  if (n !== lit.length || !bytesAt(c.b, c.i, lit)) {
    c.i = start;
    return false;
  }
  c.i += n;
  return true;
}

/** A name JSON.stringify writes as its bytes: no quote, backslash or control byte; valid UTF-8. */
function plainName(b: Buffer, s: number, e: number): boolean {
  let ascii = true;
  for (let i = s; i < e; i++) {
    const ch = b[i]!;
    if (ch === 0x22 || ch === 0x5c || ch < 0x20) return false;
    if (ch >= 0x80) ascii = false;
  }
  return ascii || Buffer.from(b.toString('utf8', s, e)).equals(b.subarray(s, e));
}

/** Room for `n` more bytes of text after `p`, the text so far kept. */
function room(p: number, n: number): void {
  if (p + n <= text.length) return;
  const next = Buffer.allocUnsafe(Math.max(p + n, text.length * 2));
  text.copy(next, 0, 0, p);
  text = next;
}

function grow(a: Int32Array): Int32Array {
  const next = new Int32Array(a.length * 2);
  next.set(a);
  return next;
}
