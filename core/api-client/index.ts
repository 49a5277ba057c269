/**
 * The platform's typed API client: openapi-fetch over the types generated from the API's OpenAPI
 * document (schema.ts, `npm run gen:client`). Paths, parameters, bodies and answers are checked by
 * the compiler against the routes as they are.
 */
import createClient from 'openapi-fetch';
import { ApiError } from '../api-error.js';
import type { components, paths } from './schema.js';

export type { components, operations, paths } from './schema.js';
export type ApiSchemas = components['schemas'];

export interface ApiClientOptions {
  apiUrl: string;
  /** Sent as `Authorization: Bearer`; omit for public routes or to set headers per request. */
  apiKey?: string;
  fetch?: typeof fetch;
}

export type ApiClient = ReturnType<typeof createClient<paths>>;

export function createApiClient(opts: ApiClientOptions): ApiClient {
  return createClient<paths>({
    baseUrl: opts.apiUrl.replace(/\/+$/, ''),
    headers: opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {},
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}

type ErrorBody = { error?: { code?: string; message?: string } };

/** The answer's data, or an ApiError with the contract's code and the request named. */
export function dataOf<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  const err = (result.error as ErrorBody | undefined)?.error;
  const status = result.response.status;
  throw new ApiError(
    status,
    err?.code ?? `http_${status}`,
    `${what}: ${status} ${err?.message ?? result.response.statusText}`,
    (result.error as { error?: { details?: unknown } } | undefined)?.error?.details,
  );
}
