/**
 * The windows route's JSON written straight from InfluxDB's answer bytes, without parsing it into
 * objects and serialising those again (about half the API's CPU per 1,440-window response; see
 * bench/RESULTS.md, "telemetry query"). Numbers, nulls and booleans are copied as InfluxDB wrote them
 * (Go's encoding/json formats floats as ES6 does); anything else in the answer (strings, a message,
 * an error, another shape) returns undefined and the caller parses the same bytes the general way.
 * test/windows-json.test.ts checks that both ways give the same JSON value.
 */
import { writeTsAscii } from './time.js';

export interface WindowsShape {
  /** `mean(*)` answers `mean_<key>` columns: strip this prefix from every column name. */
  stripPrefix: string | undefined;
  /** No `keys` asked for: leave out columns without a value in any window. */
  dropEmptyColumns: boolean;
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const HEAD = latin1('{"results":[{"statement_id":0,"series":[{"name":"');
const COLUMNS = latin1('","columns":[');
const VALUES = latin1('],"values":[');
const TAIL = latin1(']}]}]}');
const NO_SERIES = latin1('{"results":[{"statement_id":0}]}');
const OPEN = latin1('{"items":[');
const CLOSE = latin1('],"nextCursor":null}');
const ITEM_TS = latin1('{"ts":"');
const ITEM_VALUES = latin1('","values":{"');
const ITEM_VALUES_EMPTY = latin1('","values":{');
const COMMA = latin1(',"');
const KEY_END = latin1('":');
const NULL = latin1('null');
const TRUE = latin1('true');
const FALSE = latin1('false');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

// Cell offsets and row times of the answer being transcoded (single-threaded and synchronous: reused).
let cells: Int32Array = new Int32Array(4096);
let times: Float64Array = new Float64Array(1024);

/** Larger offset arrays, grown by a big answer, are dropped after it rather than kept for the next. */
const KEPT_CELLS = 1 << 20;

/** The response body `{"items":[...],"nextCursor":null}`, or undefined when the answer is not plain. */
export function windowsJson(body: Buffer, shape: WindowsShape): Buffer | undefined {
  try {
    return transcode(body, shape);
  } finally {
    if (cells.length > KEPT_CELLS) cells = new Int32Array(4096);
    if (times.length > KEPT_CELLS) times = new Float64Array(1024);
  }
}

function transcode(body: Buffer, shape: WindowsShape): Buffer | undefined {
  if (at(body, 0, NO_SERIES) && onlySpace(body, NO_SERIES.length)) return Buffer.concat([OPEN, CLOSE]);
  let i = at(body, 0, HEAD) ? HEAD.length : -1;
  if (i < 0) return undefined;
  i = skipString(body, i);
  if (i < 0 || !at(body, i, COLUMNS)) return undefined;
  i += COLUMNS.length;
  // Column names as [start, end) byte ranges.
  const names: number[] = [];
  while (true) {
    if (body[i] !== QUOTE) return undefined;
    const end = skipString(body, i + 1);
    if (end < 0) return undefined;
    names.push(i + 1, end);
    i = end + 1;
    if (body[i] === 0x2c) i++;
    else break;
  }
  const ncol = names.length / 2;
  if (ncol < 2 || !isTime(body, names[0]!, names[1]!) || !at(body, i, VALUES)) return undefined;
  i += VALUES.length;
  const hasValue = new Uint8Array(ncol);
  let rows = 0;
  let cellBytes = 0;
  if (body[i] !== 0x5d) {
    while (true) {
      if (body[i++] !== 0x5b) return undefined;
      if ((rows + 1) * ncol * 2 > cells.length) cells = grow(cells, (rows + 1) * ncol * 2);
      if (rows >= times.length) times = growF(times, rows + 1);
      const base = rows * ncol * 2;
      for (let c = 0; c < ncol; c++) {
        if (c > 0 && body[i++] !== 0x2c) return undefined;
        const end = c === 0 ? scanTime(body, i, rows) : scanValue(body, i);
        if (end < 0) return undefined;
        if (c > 0 && body[i] !== 0x6e) hasValue[c] = 1;
        cells[base + 2 * c] = i;
        cells[base + 2 * c + 1] = end;
        cellBytes += end - i;
        i = end;
      }
      if (body[i++] !== 0x5d) return undefined;
      rows++;
      if (body[i] === 0x2c) i++;
      else break;
    }
  }
  if (!at(body, i, TAIL) || !onlySpace(body, i + TAIL.length)) return undefined;
  return write(body, names, hasValue, rows, cellBytes, shape);
}

function write(
  body: Buffer,
  names: number[],
  hasValue: Uint8Array,
  rows: number,
  cellBytes: number,
  shape: WindowsShape,
): Buffer | undefined {
  const ncol = names.length / 2;
  const prefix = shape.stripPrefix === undefined ? undefined : latin1(shape.stripPrefix);
  // Per kept column: its cell's index and what precedes the cell (`","values":{"name":` for the
  // first, `,"name":` after), the prefix stripped from the name.
  const cols: number[] = [];
  const leads: Buffer[] = [];
  for (let c = 1; c < ncol; c++) {
    if (shape.dropEmptyColumns && !hasValue[c]) continue;
    let s = names[2 * c]!;
    const e = names[2 * c + 1]!;
    if (prefix && s + prefix.length <= e && at(body, s, prefix)) s += prefix.length;
    if (isTime(body, s, e)) return undefined; // the general way drops a key named "time"
    leads.push(Buffer.concat([cols.length === 0 ? ITEM_VALUES : COMMA, body.subarray(s, e), KEY_END]));
    cols.push(c);
  }
  const perRow = 64 + leads.reduce((n, k) => n + k.length, 0);
  const out = Buffer.allocUnsafe(OPEN.length + CLOSE.length + rows * perRow + cellBytes);
  const o = view(out);
  const from = view(body);
  const leadViews = leads.map(view);
  let p = put(o, 0, OPEN_V, 0, OPEN.length);
  for (let r = 0; r < rows; r++) {
    if (r > 0) out[p++] = 0x2c;
    p = put(o, p, ITEM_TS_V, 0, ITEM_TS.length);
    p = writeTsAscii(out, p, times[r]!);
    if (cols.length === 0) p = put(o, p, ITEM_VALUES_EMPTY_V, 0, ITEM_VALUES_EMPTY.length);
    const base = r * ncol * 2;
    for (let k = 0; k < cols.length; k++) {
      const lead = leadViews[k]!;
      p = put(o, p, lead, 0, lead.byteLength);
      const s = cells[base + 2 * cols[k]!]!;
      const e = cells[base + 2 * cols[k]! + 1]!;
      // JSON.stringify(-0) is "0"; Go writes "-0".
      if (e - s === 2 && body[s] === 0x2d && body[s + 1] === 0x30) out[p++] = 0x30;
      else p = put(o, p, from, s, e);
    }
    out[p++] = 0x7d;
    out[p++] = 0x7d;
  }
  p = put(o, p, CLOSE_V, 0, CLOSE.length);
  return out.subarray(0, p);
}

const view = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const OPEN_V = view(OPEN);
const CLOSE_V = view(CLOSE);
const ITEM_TS_V = view(ITEM_TS);
const ITEM_VALUES_EMPTY_V = view(ITEM_VALUES_EMPTY);

/**
 * Bytes [s, e) of `from` into `out` at `p`, four at a time: the pieces are a few to a few dozen bytes,
 * where Buffer#copy's call costs more than it saves, and a byte loop takes three times as long.
 */
function put(out: DataView, p: number, from: DataView, s: number, e: number): number {
  let i = s;
  for (; i + 4 <= e; i += 4, p += 4) out.setUint32(p, from.getUint32(i, true), true);
  for (; i < e; i++) out.setUint8(p++, from.getUint8(i));
  return p;
}

function at(b: Buffer, i: number, lit: Buffer): boolean {
  if (i + lit.length > b.length) return false;
  for (let k = 0; k < lit.length; k++) if (b[i + k] !== lit[k]) return false;
  return true;
}

function onlySpace(b: Buffer, i: number): boolean {
  for (; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x0a && c !== 0x0d && c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/** From inside a string to its closing quote; -1 for escapes and control bytes (not plain). */
function skipString(b: Buffer, i: number): number {
  for (; i < b.length; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

function isTime(b: Buffer, s: number, e: number): boolean {
  return e - s === 4 && b[s] === 0x74 && b[s + 1] === 0x69 && b[s + 2] === 0x6d && b[s + 3] === 0x65;
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** An integer of epoch ms into times[row]; the end of the cell or -1. */
function scanTime(b: Buffer, i: number, row: number): number {
  const neg = b[i] === 0x2d;
  if (neg) i++;
  if (!isDigit(b[i]) || (b[i] === 0x30 && isDigit(b[i + 1]))) return -1;
  let v = 0;
  for (; isDigit(b[i]); i++) v = v * 10 + (b[i]! - 0x30);
  if (!Number.isSafeInteger(v)) return -1;
  times[row] = neg ? -v : v;
  return i;
}

/** A JSON number, null, true or false (RFC 8259 section 6); the end of the cell or -1. */
function scanValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === 0x6e) return at(b, i, NULL) ? i + 4 : -1;
  if (c === 0x74) return at(b, i, TRUE) ? i + 4 : -1;
  if (c === 0x66) return at(b, i, FALSE) ? i + 5 : -1;
  if (c === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    if (!isDigit(b[++i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

function grow(a: Int32Array, min: number): Int32Array {
  const next = new Int32Array(Math.max(min, a.length * 2));
  next.set(a);
  return next;
}

function growF(a: Float64Array, min: number): Float64Array {
  const next = new Float64Array(Math.max(min, a.length * 2));
  next.set(a);
  return next;
}
