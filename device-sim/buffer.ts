/**
 * A device's on-disk offline buffer, oldest first: a JSON-lines journal per device, each change
 * appended and fdatasync'd before it resolves, `{"drop": n}` lines for acknowledged readings;
 * replayed and compacted on open. docs/DESIGN.md, "The simulator".
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Reading } from './types.js';

const isReading = (v: unknown): v is Reading =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Reading).ts === 'number' &&
  typeof (v as Reading).values === 'object' &&
  (v as Reading).values !== null;

/** File name for a device id; ids are `dev_...`, but never let an id escape the directory. */
export const bufferFileName = (deviceId: string) => `${deviceId.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl`;

export class OfflineBuffer {
  private items: Reading[];
  private pending = 0;
  private journalLines: number;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly file: string,
    items: Reading[],
    journalLines: number,
  ) {
    this.items = items;
    this.journalLines = journalLines;
  }

  static async open(dir: string, deviceId: string): Promise<OfflineBuffer> {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, bufferFileName(deviceId));
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let items: Reading[] = [];
    let head = 0;
    let lines = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      lines++;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue; // a torn write from a crash: the reading was never acknowledged as buffered
      }
      if (isReading(parsed)) items.push(parsed);
      else if (typeof (parsed as { drop?: unknown })?.drop === 'number')
        head += (parsed as { drop: number }).drop;
    }
    items = items.slice(head);
    const buffer = new OfflineBuffer(file, items, lines);
    if (lines !== items.length) await buffer.run(() => buffer.rewrite());
    return buffer;
  }

  /** Readings in the buffer, counting appends not yet on disk. */
  get size(): number {
    return this.items.length + this.pending;
  }

  /** Timestamp of the newest buffered reading (readings on disk only). */
  get lastTs(): number | undefined {
    return this.items.at(-1)?.ts;
  }

  /** Appends readings (newer than everything buffered); resolves once they are fsync'd. */
  append(readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return Promise.resolve();
    this.pending += readings.length;
    return this.run(async () => {
      try {
        await this.write(readings.map((r) => `${JSON.stringify(r)}\n`).join(''), 'a');
        this.items.push(...readings);
        this.journalLines += readings.length;
      } finally {
        this.pending -= readings.length;
      }
    });
  }

  /** The oldest `n` readings, after every earlier append has landed. */
  peek(n: number): Promise<Reading[]> {
    return this.run(async () => this.items.slice(0, n));
  }

  /** Forgets the oldest `n` readings (they were acknowledged). */
  remove(n: number): Promise<void> {
    return this.run(async () => {
      const count = Math.min(n, this.items.length);
      if (count === 0) return;
      this.items.splice(0, count);
      if (this.items.length === 0 || this.journalLines > 2 * this.items.length + 1000) {
        await this.rewrite();
      } else {
        await this.write(`${JSON.stringify({ drop: count })}\n`, 'a');
        this.journalLines++;
      }
    });
  }

  /**
   * Puts back readings that were sent but not acknowledged (at shutdown or when going offline). They
   * may be older than what is buffered, so the buffer is re-sorted by timestamp and rewritten.
   */
  restore(readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return Promise.resolve();
    this.pending += readings.length;
    return this.run(async () => {
      this.pending -= readings.length;
      const known = new Set(this.items.map((r) => r.ts));
      this.items.push(...readings.filter((r) => !known.has(r.ts)));
      this.items.sort((a, b) => a.ts - b.ts);
      await this.rewrite();
    });
  }

  /** Waits for every queued operation. */
  settled(): Promise<void> {
    return this.run(async () => {});
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(op);
    this.chain = next.catch(() => {});
    return next;
  }

  private async write(text: string, flag: 'a' | 'w', file = this.file): Promise<void> {
    const handle = await open(file, flag, 0o600);
    try {
      if (text) await handle.write(text);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  /** Replaces the journal with the current readings: write a temp file, fsync, rename over. */
  private async rewrite(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await this.write(this.items.map((r) => `${JSON.stringify(r)}\n`).join(''), 'w', tmp);
    await rename(tmp, this.file);
    this.journalLines = this.items.length;
  }
}
