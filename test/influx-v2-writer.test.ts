/**
 * The v2 writer (core/influx/v2-writer.ts): the official client against a small real HTTP server
 * that answers what InfluxDB 2.x/3.x answer, and every answer mapped to one outcome: stored, refused
 * data (400, 422, a single line too large), split (413), configuration fault (401, 403, unknown org or
 * bucket), unavailable (429 and 503 with Retry-After, network). One request per write, never a retry
 * of the client's own.
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../core/influx/managed.js';
import { influxV2Writer } from '../core/influx/v2-writer.js';
import {
  type PointWriter,
  WriteConfigurationError,
  WriteRefusedError,
  WriteUnavailableError,
} from '../core/influx/write.js';
import { startV2Server, type V2Server } from './helpers/v2-server.js';

let server: V2Server;
let writer: PointWriter;
const lines = (n: number, from = 0) =>
  Array.from(
    { length: n },
    (_, i) => `plt_a,device=dev_a temperature=${from + i} ${1_700_000_000_000 + from + i}`,
  );

function writerFor(url: string, token = 'right-token', org = 'acme', bucket = 'iot'): PointWriter {
  return influxV2Writer({ client: new InfluxDB({ url, token, timeout: 5000 }), org, bucket });
}

beforeEach(async () => {
  server = await startV2Server();
  writer = writerFor(server.url);
});
afterEach(async () => {
  await server.close();
});

describe('v2 writer: stored', () => {
  it('sends line protocol with ms precision, org, bucket and the token, gzipped above 1 KB', async () => {
    await writer.write(lines(2));
    await writer.write(lines(100, 2));
    expect(server.writes).toHaveLength(2);
    const [small, big] = server.writes;
    expect(small).toMatchObject({
      org: 'acme',
      bucket: 'iot',
      precision: 'ms',
      authorization: 'Token right-token',
    });
    expect(small?.gzip).toBe(false);
    expect(big?.gzip).toBe(true);
    expect(server.stored).toEqual(lines(102));
  });

  it('never buffers across calls: concurrent writes are separate requests', async () => {
    await Promise.all([writer.write(lines(3, 0)), writer.write(lines(3, 3)), writer.write(lines(3, 6))]);
    expect(server.writes.map((w) => w.lines.length)).toEqual([3, 3, 3]);
    expect([...server.stored].sort()).toEqual(lines(9).sort());
  });
});

describe('v2 writer: refused data', () => {
  for (const status of [400, 422]) {
    it(`maps ${status} to refused data with the server's message, after one request`, async () => {
      server.onWrite = () => ({
        status,
        body: { code: 'invalid', message: 'partial write: field type conflict: input field "temperature"' },
      });
      const err = await writer.write(lines(5)).catch((e) => e);
      expect(err).toBeInstanceOf(WriteRefusedError);
      expect((err as WriteRefusedError).status).toBe(status);
      expect((err as WriteRefusedError).reason).toBe(
        'partial write: field type conflict: input field "temperature"',
      );
      expect(server.writes).toHaveLength(1);
    });
  }

  it('splits a batch the server finds too large (413) and remembers the size for later writes', async () => {
    server.onWrite = (w) =>
      w.lines.join('\n').length > 500
        ? { status: 413, body: { code: 'request too large', message: 'too large' } }
        : undefined;
    await writer.write(lines(40));
    expect([...server.stored].sort()).toEqual(lines(40).sort());
    const firstRound = server.writes.length;
    expect(firstRound).toBeGreaterThan(2);
    // Later writes are cut below the learned limit: no more 413s.
    const before = server.writes.length;
    await writer.write(lines(40, 40));
    const later = server.writes.slice(before);
    expect(later.every((w) => w.lines.join('\n').length <= 500)).toBe(true);
    expect(server.stored).toHaveLength(80);
  });

  it('refuses a single line that alone is too large (413) as data', async () => {
    server.onWrite = (w) => (w.lines.some((l) => l.includes('huge')) ? { status: 413, body: {} } : undefined);
    const batch = [...lines(3), 'plt_a,device=dev_a note="huge" 1700000000999'];
    const err = await writer.write(batch).catch((e) => e);
    expect(err).toBeInstanceOf(WriteRefusedError);
    expect((err as WriteRefusedError).status).toBe(413);
    expect(server.stored).toEqual(expect.arrayContaining(lines(2)));
  });
});

describe('v2 writer: configuration faults', () => {
  it('a wrong token is a configuration fault naming INFLUX_TOKEN', async () => {
    const err = await writerFor(server.url, 'wrong-token')
      .write(lines(1))
      .catch((e) => e);
    expect(err).toBeInstanceOf(WriteConfigurationError);
    expect((err as Error).message).toContain('INFLUX_TOKEN');
    expect((err as WriteConfigurationError).summary).toBe(
      'configuration: InfluxDB refused INFLUX_TOKEN (401)',
    );
    expect(server.writes).toHaveLength(1);
  });

  it('an unknown bucket or org is a configuration fault naming INFLUX_ORG and INFLUX_BUCKET', async () => {
    for (const w of [
      writerFor(server.url, 'right-token', 'acme', 'nope'),
      writerFor(server.url, 'right-token', 'x'),
    ]) {
      const err = await w.write(lines(1)).catch((e) => e);
      expect(err).toBeInstanceOf(WriteConfigurationError);
      expect((err as Error).message).toMatch(/INFLUX_ORG .*INFLUX_BUCKET/);
    }
  });

  it('a token without write permission (403) is a configuration fault', async () => {
    server.onWrite = () => ({
      status: 403,
      body: { code: 'forbidden', message: 'insufficient permissions for write' },
    });
    const err = await writer.write(lines(1)).catch((e) => e);
    expect(err).toBeInstanceOf(WriteConfigurationError);
    expect((err as Error).message).toContain('insufficient permissions for write');
  });
});

describe('v2 writer: unavailable', () => {
  it('429 with Retry-After in seconds, and 503 with an HTTP date, carry the delay', async () => {
    server.onWrite = () => ({
      status: 429,
      headers: { 'retry-after': '7' },
      body: { code: 'too many requests' },
    });
    const limited = await writer.write(lines(1)).catch((e) => e);
    expect(limited).toBeInstanceOf(WriteUnavailableError);
    expect(limited).not.toBeInstanceOf(WriteConfigurationError);
    expect((limited as WriteUnavailableError).retryAfterMs).toBe(7000);
    const at = new Date(Date.now() + 30_000).toUTCString();
    server.onWrite = () => ({ status: 503, headers: { 'retry-after': at }, body: { code: 'unavailable' } });
    const busy = (await writer.write(lines(1)).catch((e) => e)) as WriteUnavailableError;
    expect(busy.retryAfterMs).toBeGreaterThan(25_000);
    expect(busy.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(server.writes).toHaveLength(2); // no retry of the client's own
  });

  it('a server that is not there is unavailable, promptly', async () => {
    const nobody = writerFor(`http://127.0.0.1:${await freePort()}`);
    const err = await nobody.write(lines(1)).catch((e) => e);
    expect(err).toBeInstanceOf(WriteUnavailableError);
    expect((err as WriteUnavailableError).summary).toBe('InfluxDB unreachable');
  });
});
