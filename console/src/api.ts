/**
 * The console's only way to the platform: the public HTTP API on this origin, with the key from
 * sessionStorage in the Authorization header (never in a URL). Errors keep the API's stable `code`
 * and `details` (reason or field codes) so i18n/api-errors.ts can translate them.
 */
import { ApiError, type FieldProblem } from '../../core/api-error.js';

export { ApiError, type FieldProblem };

/** The API could not be reached at all. */
export class NetworkError extends Error {}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** PATCH with extra headers (e.g. If-Match). */
  patch<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<T>;
  del(path: string): Promise<void>;
  /** A text response (e.g. CSV) and its headers. */
  text(path: string, accept: string): Promise<{ text: string; headers: Headers }>;
  /** Every item of a paged list (bounded by `maxPages`). */
  all<T>(path: string, maxPages?: number): Promise<T[]>;
}

export function createApi(getKey: () => string | null, onKeyRejected: (err: ApiError) => void): Api {
  async function request(
    method: string,
    path: string,
    body?: unknown,
    accept = 'application/json',
    extra: Record<string, string> = {},
  ) {
    const headers: Record<string, string> = { accept, ...extra };
    const key = getKey();
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (err) {
      throw new NetworkError((err as Error).message);
    }
    if (res.ok) return res;
    let payload: { error?: { code?: string; message?: string; details?: unknown } } = {};
    try {
      payload = await res.json();
    } catch {
      // not JSON (a proxy's page): keep the status only
    }
    const e = payload.error ?? {};
    const err = new ApiError(res.status, e.code ?? 'unknown', e.message ?? res.statusText, e.details);
    if (res.status === 401 && err.reason === 'api_key_invalid') onKeyRejected(err);
    throw err;
  }

  const api: Api = {
    async get<T>(path: string) {
      return (await (await request('GET', path)).json()) as T;
    },
    async post<T>(path: string, body?: unknown) {
      return (await (await request('POST', path, body ?? {})).json()) as T;
    },
    async patch<T>(path: string, body: unknown, headers: Record<string, string> = {}) {
      return (await (await request('PATCH', path, body, 'application/json', headers)).json()) as T;
    },
    async del(path) {
      await request('DELETE', path);
    },
    async text(path, accept) {
      const res = await request('GET', path, undefined, accept);
      return { text: await res.text(), headers: res.headers };
    },
    async all<T>(path: string, maxPages = 20) {
      const items: T[] = [];
      let cursor: string | null = null;
      const sep = path.includes('?') ? '&' : '?';
      for (let i = 0; i < maxPages; i++) {
        const url: string = `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page: Page<T> = await api.get<Page<T>>(url);
        items.push(...page.items);
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      return items;
    },
  };
  return api;
}

// What the API returns, as the console uses it.
export interface Partner {
  id: string;
  name: string;
  country: string;
  kind: 'hardware' | 'software' | 'both';
}
export interface Pilot {
  id: string;
  name: string;
  description: string | null;
  memberIds: string[];
  createdAt: string;
}
export interface Device {
  id: string;
  pilotId: string;
  name: string;
  model: string | null;
  firmwareVersion: string | null;
  createdAt: string;
  status: { online: boolean; lastSeenAt: string | null };
}
export interface Credentials {
  username: string;
  password: string;
  mqttUrl: string;
  /** Every URL the platform serves the device at (mqtts, ws, wss only when on). */
  urls?: { mqtt: string; mqtts?: string; ws?: string; wss?: string; http: string };
  topic: string;
}
export type Value = number | boolean | string;
export interface Latest {
  deviceId: string;
  values: Record<string, { ts: string; value: Value }>;
}
