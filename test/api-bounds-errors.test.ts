// biome-ignore-all lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field
/**
 * Issue 19, item 7: every error answers `{"error": {"code", "message"}}`, also those that Node's HTTP
 * parser (431, a NUL byte in a header, a bad method or framing) or Fastify's router (414, a bad
 * percent-encoding) produce before any route runs. These need a real listening server and raw
 * sockets; the server keeps serving others afterwards. The rest (404, wrong method, 415, 413,
 * malformed JSON) is checked through the same server.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPartner, startTestApi, type TestApi } from './helpers/api-app.js';

let api: TestApi;
let port: number;
let partnerKey: string;

beforeAll(async () => {
  api = await startTestApi();
  partnerKey = (await createPartner(api, 'Parser')).apiKey;
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  port = (api.app.server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await api?.close();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** Writes `request` as bytes on a fresh socket; resolves with the answer once the server closes it. */
function rawRequest(request: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer; got ${data.toString()}`));
    }, 5000);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = data.toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = body;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: parsed });
    });
  });
}

const get = (target: string, extra = '') =>
  `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`;

function expectContractError(res: RawAnswer, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
  expect(res.body.error.message.length).toBeGreaterThan(0);
}

describe("errors raised before a route runs, in the contract's shape", () => {
  it('431 for headers (or a request line) past 16 KiB', async () => {
    expectContractError(
      await rawRequest(get('/healthz', `X-Big: ${'b'.repeat(20_000)}\r\n`)),
      431,
      'headers_too_large',
    );
    expectContractError(
      await rawRequest(get(`/v1/pilots?x=${'a'.repeat(20_000)}`)),
      431,
      'headers_too_large',
    );
  });

  it('414 for a path segment past the router limit', async () => {
    expectContractError(await rawRequest(get(`/v1/devices/${'d'.repeat(500)}`)), 414, 'uri_too_long');
  });

  it('400 for a NUL byte or another bad character in a header', async () => {
    expectContractError(await rawRequest(get('/healthz', 'X-Evil: a\0b\r\n')), 400, 'bad_request');
    expectContractError(await rawRequest(get('/healthz', 'X Bad Name: 1\r\n')), 400, 'bad_request');
    const nulInKey = Buffer.from(get('/v1/pilots', `Authorization: Bearer ${partnerKey}\0\r\n`));
    expectContractError(await rawRequest(nulInKey), 400, 'bad_request');
  });

  it('400 for an unknown method, bad framing or a bad percent-encoding', async () => {
    expectContractError(
      await rawRequest('FOO /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      400,
      'bad_request',
    );
    expectContractError(
      await rawRequest(
        'POST /v1/pilots HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n{}',
      ),
      400,
      'bad_request',
    );
    expectContractError(
      await rawRequest(
        'POST /v1/pilots HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
      ),
      400,
      'bad_request',
    );
    expectContractError(await rawRequest(get('/v1/devices/%E0%A4%A')), 400, 'bad_request');
  });

  it('keeps serving everyone after those', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/partners/me`, {
      headers: { authorization: `Bearer ${partnerKey}` },
    });
    expect(res.status).toBe(200);
  });
});

describe('errors of routing and bodies, in the same shape with stable codes', () => {
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const auth = () => ({ authorization: `Bearer ${partnerKey}` });

  it.each([
    ['unknown route', 'GET', '/v1/nothing-here', {}, undefined, 404, 'not_found'],
    [
      'another method on a known path (Fastify answers 404, not 405)',
      'PUT',
      '/healthz',
      {},
      '',
      404,
      'not_found',
    ],
    [
      'unknown media type',
      'POST',
      '/v1/pilots',
      { 'content-type': 'application/xml' },
      '<a/>',
      415,
      'unsupported_media_type',
    ],
    [
      'malformed JSON',
      'POST',
      '/v1/pilots',
      { 'content-type': 'application/json' },
      '{"name": ',
      400,
      'validation_error',
    ],
    [
      'body past 1 MiB',
      'POST',
      '/v1/pilots',
      { 'content-type': 'application/json' },
      `"${'x'.repeat(1_100_000)}"`,
      413,
      'payload_too_large',
    ],
  ] as const)('%s', async (_what, method, path, headers, body, status, code) => {
    const res = await send(method, path, { ...auth(), ...headers }, body);
    expect(res.status).toBe(status);
    const json = (await res.json()) as any;
    expect(json.error.code).toBe(code);
    expect(typeof json.error.message).toBe('string');
  });
});
