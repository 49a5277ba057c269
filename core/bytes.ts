/** Byte-literal helpers for the scanners that read payloads and InfluxDB answers without decoding them. */

/** A literal's bytes, e.g. latin1('"results"'). */
export const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** True when `lit`'s bytes are at `b[i]`. */
export function bytesAt(b: Buffer, i: number, lit: Buffer): boolean {
  if (i < 0 || i + lit.length > b.length) return false;
  for (let k = 0; k < lit.length; k++) if (b[i + k] !== lit[k]) return false;
  return true;
}
