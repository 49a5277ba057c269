/**
 * A small real HTTP server speaking the parts of the InfluxDB v2 API the platform uses, for what
 * VictoriaMetrics cannot show: refusals (400, 413, 422, 429), configuration faults, DBRP management,
 * the token on reads; reached through the official client. With `influx1` it is a v2 facade over a
 * real InfluxDB 1.x (writes to `/write`, `/query` passed through), for the whole read path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface WriteRequest {
  at: number;
  org: string | null;
  bucket: string | null;
  precision: string | null;
  authorization: string | undefined;
  gzip: boolean;
  lines: string[];
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface V2Server {
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** Scripted answers: return one to answer a write with it, undefined for the normal handling. */
  onWrite?: ((req: WriteRequest) => Answer | undefined) | undefined;
  /** Every write request, in order. */
  writes: WriteRequest[];
  /** Every line stored (in arrival order; a re-sent line appears again). */
  stored: string[];
  /** DBRP API: `absent` (404, like InfluxDB 3), or mappings with `allowCreate` deciding POSTs. */
  dbrp: { mode: 'absent' } | { mode: 'api'; mappings: Record<string, unknown>[]; allowCreate: boolean };
  /** Authorization headers seen on /query. */
  queryAuthorizations: (string | undefined)[];
  close(): Promise<void>;
}

const json = (res: http.ServerResponse, a: Answer) => {
  res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
  res.end(a.body === undefined ? undefined : JSON.stringify(a.body));
};

export async function startV2Server(
  opts: { token?: string; org?: string; bucket?: string; influx1?: { url: string; database: string } } = {},
): Promise<V2Server> {
  const state: V2Server = {
    url: '',
    token: opts.token ?? 'right-token',
    org: opts.org ?? 'acme',
    bucket: opts.bucket ?? 'iot',
    onWrite: undefined,
    writes: [],
    stored: [],
    dbrp: { mode: 'absent' },
    queryAuthorizations: [],
    close: async () => {},
  };
  const authorized = (req: http.IncomingMessage) => req.headers.authorization === `Token ${state.token}`;
  const unauthorized: Answer = {
    status: 401,
    body: { code: 'unauthorized', message: 'unauthorized access' },
  };

  async function write(req: http.IncomingMessage, res: http.ServerResponse, u: URL, body: Buffer) {
    const gzip = req.headers['content-encoding'] === 'gzip';
    const text = (gzip ? gunzipSync(body) : body).toString('utf8');
    const w: WriteRequest = {
      at: Date.now(),
      org: u.searchParams.get('org'),
      bucket: u.searchParams.get('bucket'),
      precision: u.searchParams.get('precision'),
      authorization: req.headers.authorization,
      gzip,
      lines: text.split('\n').filter((l) => l !== ''),
    };
    state.writes.push(w);
    if (!authorized(req)) return json(res, unauthorized);
    if (w.org !== state.org)
      return json(res, {
        status: 404,
        body: { code: 'not found', message: `organization name "${w.org}" not found` },
      });
    if (w.bucket !== state.bucket)
      return json(res, {
        status: 404,
        body: { code: 'not found', message: `bucket "${w.bucket}" not found` },
      });
    const scripted = state.onWrite?.(w);
    if (scripted) return json(res, scripted);
    if (opts.influx1) {
      const r = await fetch(
        `${opts.influx1.url}/write?db=${opts.influx1.database}&precision=${w.precision}`,
        {
          method: 'POST',
          body: w.lines.join('\n'),
        },
      );
      if (r.status !== 204)
        return json(res, { status: r.status, body: { code: 'invalid', message: await r.text() } });
    }
    state.stored.push(...w.lines);
    res.writeHead(204).end();
  }

  function dbrps(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) {
    if (state.dbrp.mode === 'absent')
      return json(res, { status: 404, body: { code: 'not found', message: 'path not found' } });
    if (!authorized(req)) return json(res, unauthorized);
    if (req.method === 'GET') return json(res, { status: 200, body: { content: state.dbrp.mappings } });
    if (!state.dbrp.allowCreate)
      return json(res, { status: 403, body: { code: 'forbidden', message: 'insufficient permissions' } });
    const created = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    state.dbrp.mappings.push(created);
    return json(res, { status: 201, body: { content: { id: '0001', ...created } } });
  }

  async function query(req: http.IncomingMessage, res: http.ServerResponse, u: URL) {
    state.queryAuthorizations.push(req.headers.authorization);
    if (!authorized(req)) return json(res, unauthorized);
    const db = u.searchParams.get('db') ?? '';
    if (state.dbrp.mode === 'api' && !state.dbrp.mappings.some((m) => m.database === db))
      return json(res, { status: 404, body: { code: 'not found', message: `database not found: ${db}` } });
    if (!opts.influx1)
      return json(res, { status: 404, body: { code: 'not found', message: 'path not found' } });
    const r = await fetch(`${opts.influx1.url}/query${u.search}`);
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const body = Buffer.concat(chunks);
      const route = async () => {
        if (u.pathname === '/ping') return void res.writeHead(204).end();
        if (u.pathname === '/api/v2/write' && req.method === 'POST') return write(req, res, u, body);
        if (u.pathname === '/api/v2/dbrps') return dbrps(req, res, body);
        if (u.pathname === '/api/v2/buckets')
          return json(res, { status: 200, body: { buckets: [{ id: 'b0001', name: state.bucket }] } });
        if (u.pathname === '/query') return query(req, res, u);
        json(res, { status: 404, body: { code: 'not found', message: 'path not found' } });
      };
      route().catch((err) => json(res, { status: 500, body: { code: 'internal', message: String(err) } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

/** `(measurement, device tag, timestamp)` of a line: what InfluxDB keeps one point for. */
export function pointKey(line: string): string {
  return `${line.slice(0, line.indexOf(' '))}@${line.slice(line.lastIndexOf(' ') + 1)}`;
}
