/**
 * The windows route's response body `{"items":[...],"nextCursor":null}` written from scanned cells:
 * a scanner (windows-json.ts over InfluxDB's JSON, windows-msgpack.ts over its MessagePack) leaves
 * each row's time in `scan.times` and each cell's JSON text as a byte range of one buffer in
 * `scan.cells`, and this copies them out without building objects.
 */
import { bytesAt, latin1 } from '../../core/bytes.js';
import { writeTsAscii } from './time.js';

export interface WindowsShape {
  /** `mean(*)` answers `mean_<key>` columns: strip this prefix from every column name. */
  stripPrefix: string | undefined;
  /** No `keys` asked for: leave out columns without a value in any window. */
  dropEmptyColumns: boolean;
}

/** What a scanner found: column names and cells as [start, end) ranges of `text`. */
export interface ScannedWindows {
  text: Buffer;
  /** Column names (the first is `time`) as start, end pairs. */
  names: number[];
  /** Per column: 1 when some window has a value (not null). */
  hasValue: Uint8Array;
  rows: number;
  /** Bytes of all cells together, to size the output. */
  cellBytes: number;
}

const OPEN = latin1('{"items":[');
const CLOSE = latin1('],"nextCursor":null}');
const ITEM_TS = latin1('{"ts":"');
const ITEM_VALUES = latin1('","values":{"');
const ITEM_VALUES_EMPTY = latin1('","values":{');
const COMMA = latin1(',"');
const KEY_END = latin1('":');

/** Cell offsets (start, end per cell, row-major) and row times of the answer being scanned. */
export const scan: { cells: Int32Array; times: Float64Array } = {
  cells: new Int32Array(4096),
  times: new Float64Array(1024),
};

/** Larger offset arrays, grown by a big answer, are dropped after it rather than kept for the next. */
const KEPT_CELLS = 1 << 20;

/** Room in `scan` for row `row` (0-based) of `ncol` cells. */
export function reserveRow(row: number, ncol: number): void {
  const cells = (row + 1) * ncol * 2;
  if (cells > scan.cells.length) scan.cells = grow(scan.cells, cells);
  if (row >= scan.times.length) scan.times = growF(scan.times, row + 1);
}

/** After each answer: a single-threaded, synchronous scan reuses the arrays, unless one grew large. */
export function releaseScan(): void {
  if (scan.cells.length > KEPT_CELLS) scan.cells = new Int32Array(4096);
  if (scan.times.length > KEPT_CELLS) scan.times = new Float64Array(1024);
}

export const noWindows = (): Buffer => Buffer.concat([OPEN, CLOSE]);

/** The response body; undefined when a column's name is one the general way treats apart (`time`). */
export function writeWindows(found: ScannedWindows, shape: WindowsShape): Buffer | undefined {
  const { text, names, hasValue, rows, cellBytes } = found;
  const { cells, times } = scan;
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
    if (prefix && s + prefix.length <= e && bytesAt(text, s, prefix)) s += prefix.length;
    if (isTime(text, s, e)) return undefined; // the general way drops a key named "time"
    leads.push(Buffer.concat([cols.length === 0 ? ITEM_VALUES : COMMA, text.subarray(s, e), KEY_END]));
    cols.push(c);
  }
  const perRow = 64 + leads.reduce((n, k) => n + k.length, 0);
  const out = Buffer.allocUnsafe(OPEN.length + CLOSE.length + rows * perRow + cellBytes);
  const o = view(out);
  const from = view(text);
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
      p = put(o, p, from, cells[base + 2 * cols[k]!]!, cells[base + 2 * cols[k]! + 1]!);
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

/** Bytes [s, e) spell `time`. */
export function isTime(b: Buffer, s: number, e: number): boolean {
  return e - s === 4 && b[s] === 0x74 && b[s + 1] === 0x69 && b[s + 2] === 0x6d && b[s + 3] === 0x65;
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
