/**
 * The windows route's JSON written straight from InfluxDB's answer bytes, without parsing it into
 * objects and serialising those again (about half the API's CPU per 1,440-window response; see
 * bench/RESULTS.md, "telemetry query"). Numbers, nulls and booleans are copied as InfluxDB wrote them
 * (Go's encoding/json formats floats as ES6 does); anything else in the answer (strings, a message,
 * an error, another shape) returns undefined and the caller parses the same bytes the general way.
 * windows-write.ts writes the items; test/windows-json.test.ts checks that both ways give the same
 * JSON value. (The 1.x backend asks for MessagePack, windows-msgpack.ts; this serves JSON answers.)
 */
import { bytesAt, latin1 } from '../../core/bytes.js';
import {
  isTime,
  noWindows,
  releaseScan,
  reserveRow,
  scan,
  type WindowsShape,
  writeWindows,
} from './windows-write.js';

export type { WindowsShape } from './windows-write.js';

const HEAD = latin1('{"results":[{"statement_id":0,"series":[{"name":"');
const COLUMNS = latin1('","columns":[');
const VALUES = latin1('],"values":[');
const TAIL = latin1(']}]}]}');
const NO_SERIES = latin1('{"results":[{"statement_id":0}]}');
const NULL = latin1('null');
const TRUE = latin1('true');
const FALSE = latin1('false');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The response body `{"items":[...],"nextCursor":null}`, or undefined when the answer is not plain. */
export function windowsJson(body: Buffer, shape: WindowsShape): Buffer | undefined {
  try {
    return transcode(body, shape);
  } finally {
    releaseScan();
  }
}

function transcode(body: Buffer, shape: WindowsShape): Buffer | undefined {
  if (bytesAt(body, 0, NO_SERIES) && onlySpace(body, NO_SERIES.length)) return noWindows();
  let i = bytesAt(body, 0, HEAD) ? HEAD.length : -1;
  if (i < 0) return undefined;
  i = skipString(body, i);
  if (i < 0 || !bytesAt(body, i, COLUMNS)) return undefined;
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
  if (ncol < 2 || !isTime(body, names[0]!, names[1]!) || !bytesAt(body, i, VALUES)) return undefined;
  i += VALUES.length;
  const hasValue = new Uint8Array(ncol);
  let rows = 0;
  let cellBytes = 0;
  if (body[i] !== 0x5d) {
    while (true) {
      if (body[i++] !== 0x5b) return undefined;
      reserveRow(rows, ncol);
      const cells = scan.cells;
      const base = rows * ncol * 2;
      for (let c = 0; c < ncol; c++) {
        if (c > 0 && body[i++] !== 0x2c) return undefined;
        const end = c === 0 ? scanTime(body, i, rows) : scanValue(body, i);
        if (end < 0) return undefined;
        if (c > 0 && body[i] !== 0x6e) hasValue[c] = 1;
        // Go writes "-0" where JSON.stringify writes "0": the cell starts after the sign.
        const start = end - i === 2 && body[i] === 0x2d && body[i + 1] === 0x30 ? i + 1 : i;
        cells[base + 2 * c] = start;
        cells[base + 2 * c + 1] = end;
        cellBytes += end - start;
        i = end;
      }
      if (body[i++] !== 0x5d) return undefined;
      rows++;
      if (body[i] === 0x2c) i++;
      else break;
    }
  }
  if (!bytesAt(body, i, TAIL) || !onlySpace(body, i + TAIL.length)) return undefined;
  return writeWindows({ text: body, names, hasValue, rows, cellBytes }, shape);
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

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** An integer of epoch ms into scan.times[row]; the end of the cell or -1. */
function scanTime(b: Buffer, i: number, row: number): number {
  const neg = b[i] === 0x2d;
  if (neg) i++;
  if (!isDigit(b[i]) || (b[i] === 0x30 && isDigit(b[i + 1]))) return -1;
  let v = 0;
  for (; isDigit(b[i]); i++) v = v * 10 + (b[i]! - 0x30);
  if (!Number.isSafeInteger(v)) return -1;
  scan.times[row] = neg ? -v : v;
  return i;
}

/** A JSON number, null, true or false (RFC 8259 section 6); the end of the cell or -1. */
function scanValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === 0x6e) return bytesAt(b, i, NULL) ? i + 4 : -1;
  if (c === 0x74) return bytesAt(b, i, TRUE) ? i + 4 : -1;
  if (c === 0x66) return bytesAt(b, i, FALSE) ? i + 5 : -1;
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
