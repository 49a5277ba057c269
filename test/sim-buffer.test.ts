import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OfflineBuffer, type Reading } from '../device-sim/index.js';

const reading = (ts: number): Reading => ({ ts, values: { temperature: ts / 1000, door: 'open', ok: true } });
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => reading(from + i));

describe('offline buffer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sim-buffer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('survives a restart and gives readings back oldest first', async () => {
    const first = await OfflineBuffer.open(dir, 'dev_a');
    await first.append(range(1000, 3));
    await first.append(range(1003, 2));
    expect(first.size).toBe(5);

    // "Restart": a new instance on the same directory, the old one simply abandoned.
    const second = await OfflineBuffer.open(dir, 'dev_a');
    expect(second.size).toBe(5);
    expect(await second.peek(10)).toEqual(range(1000, 5));
    expect(second.lastTs).toBe(1004);
  });

  it('removes only what was acknowledged, durably', async () => {
    const buf = await OfflineBuffer.open(dir, 'dev_a');
    await buf.append(range(1, 10));
    expect(await buf.peek(4)).toEqual(range(1, 4));
    await buf.remove(4);
    expect(await buf.peek(100)).toEqual(range(5, 6));

    const reopened = await OfflineBuffer.open(dir, 'dev_a');
    expect(await reopened.peek(100)).toEqual(range(5, 6));
    await reopened.remove(6);
    expect(reopened.size).toBe(0);
    expect(await readFile(reopened.file, 'utf8')).toBe('');
    expect((await OfflineBuffer.open(dir, 'dev_a')).size).toBe(0);
  });

  it('keeps devices apart', async () => {
    const a = await OfflineBuffer.open(dir, 'dev_a');
    const b = await OfflineBuffer.open(dir, 'dev_b');
    await a.append(range(1, 2));
    await b.append(range(100, 1));
    expect(await (await OfflineBuffer.open(dir, 'dev_a')).peek(10)).toEqual(range(1, 2));
    expect(await (await OfflineBuffer.open(dir, 'dev_b')).peek(10)).toEqual(range(100, 1));
  });

  it('skips a torn last line left by a crash', async () => {
    const buf = await OfflineBuffer.open(dir, 'dev_a');
    await buf.append(range(1, 2));
    await appendFile(buf.file, '{"ts":3,"values":{"temp');
    const reopened = await OfflineBuffer.open(dir, 'dev_a');
    expect(await reopened.peek(10)).toEqual(range(1, 2));
    await reopened.append(range(3, 1));
    expect(await (await OfflineBuffer.open(dir, 'dev_a')).peek(10)).toEqual(range(1, 3));
  });

  it('restores unacknowledged readings in timestamp order without duplicates', async () => {
    const buf = await OfflineBuffer.open(dir, 'dev_a');
    await buf.append(range(10, 3));
    await buf.restore([reading(5), reading(6), reading(11)]);
    expect((await buf.peek(10)).map((r) => r.ts)).toEqual([5, 6, 10, 11, 12]);
    expect((await (await OfflineBuffer.open(dir, 'dev_a')).peek(10)).map((r) => r.ts)).toEqual([
      5, 6, 10, 11, 12,
    ]);
  });

  it('counts appends that are not on disk yet in its size', async () => {
    const buf = await OfflineBuffer.open(dir, 'dev_a');
    const landed = buf.append(range(1, 3));
    expect(buf.size).toBe(3);
    await landed;
    expect(buf.size).toBe(3);
  });
});
