/**
 * The contract's error shape, `{"error": {"code", "message", "details"?}}`, produced in one place.
 * Routes throw `ApiError`s (or the helpers below); everything else becomes a generic 500 whose real
 * cause goes only to the log.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ApiError as CoreApiError, type FieldProblem as CoreFieldProblem } from '../core/api-error.js';
import { ConflictError, InvalidCursorError } from '../core/registry/errors.js';
import { type ErrorReason, type FieldCode, fieldCodeOf } from './error-codes.js';

export type { ErrorReason, FieldCode };

export type ErrorCode =
  | 'bad_request'
  | 'validation_error'
  | 'unauthorized'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'request_timeout'
  | 'rate_limited'
  | 'too_many_streams'
  | 'internal'
  | 'unavailable';

export type FieldProblem = CoreFieldProblem & { code?: FieldCode };

/** The contract's error with one of our codes. */
export class ApiError extends CoreApiError<ErrorCode> {}

// The reason (api/error-codes.ts) goes to `details.reason`; callers that give none keep the old shape.
const withReason = (reason: ErrorReason | undefined) => (reason === undefined ? undefined : { reason });
export const unauthorized = (message = 'missing or invalid API key', reason?: ErrorReason) =>
  new ApiError(401, 'unauthorized', message, withReason(reason));
export const notFound = (what: string) =>
  new ApiError(
    404,
    'not_found',
    `${what} not found`,
    withReason(what === 'pilot' || what === 'device' ? `${what}_not_found` : undefined),
  );
export const conflict = (message: string, reason?: ErrorReason) =>
  new ApiError(409, 'conflict', message, withReason(reason));
export const validationError = (details: FieldProblem[]) =>
  new ApiError(400, 'validation_error', details.map((d) => `${d.path}: ${d.message}`).join('; '), details);

export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

// Fastify's name for each part of the request, mapped to the names used in `details[].path`.
const CONTEXT_NAMES: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

/** Turns zod issues (as fastify-type-provider-zod reports them) into `{path, message}` entries. */
function fieldProblems(error: FastifyError): FieldProblem[] {
  const context = CONTEXT_NAMES[error.validationContext ?? 'body'] ?? 'body';
  const problems: FieldProblem[] = [];
  for (const v of error.validation ?? []) {
    const segments = v.instancePath.split('/').filter((s) => s.length > 0);
    const base = [context, ...segments].join('.');
    // z.strictObject reports all unknown keys in one issue at the object's path: name each one.
    const keys = (v.params as { keys?: unknown }).keys;
    if (v.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
      for (const key of keys)
        problems.push({ path: `${base}.${String(key)}`, message: 'unknown field', code: 'unknown_field' });
    } else {
      const params = (v.params ?? {}) as Record<string, unknown>;
      problems.push({
        path: base,
        message: v.message ?? 'invalid value',
        ...fieldCodeOf(v.keyword, v.message, params),
      });
    }
  }
  return problems;
}

function toApiError(error: FastifyError): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof InvalidCursorError) {
    return validationError([
      { path: 'query.cursor', message: 'not a cursor returned by this list', code: 'invalid_cursor' },
    ]);
  }
  // The registry's only unique constraint a caller can hit is a name.
  if (error instanceof ConflictError) return conflict(error.message, 'name_taken');
  if (hasZodFastifySchemaValidationErrors(error)) return validationError(fieldProblems(error));
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return validationError([{ path: 'body', message: 'expected a JSON body', code: 'invalid_json' }]);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'expected Content-Type: application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'payload_too_large', 'request body too large');
  }
  if (error.statusCode === 429) return new ApiError(429, 'rate_limited', 'too many requests; retry later');
  // Other client errors Fastify raises itself (e.g. a malformed header); their messages are generic.
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return validationError([{ path: 'request', message: error.message }]);
  }
  return undefined;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(error);
    if (apiError) {
      return reply
        .status(apiError.statusCode)
        .send(errorBody(apiError.code, apiError.message, apiError.details));
    }
    // The real cause is logged, never returned (it may name tables, files or internals).
    request.log.error({ err: error }, 'request failed');
    const status = error.statusCode === 503 ? 503 : 500;
    return reply
      .status(status)
      .send(
        errorBody(
          status === 503 ? 'unavailable' : 'internal',
          status === 503 ? 'service unavailable' : 'internal error',
        ),
      );
  });
  // Fastify answers a known path with another method 404 too (no 405), in this same shape.
  app.setNotFoundHandler((request, reply) => {
    const path = (request.url.split('?')[0] ?? '').slice(0, 200);
    reply
      .status(404)
      .send(errorBody('not_found', `no route ${request.method} ${path}`, { reason: 'route_not_found' }));
  });
}

/** Errors of Fastify's router, before any route or hook runs (`frameworkErrors` option). */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return reply.status(414).send(errorBody('uri_too_long', 'a path segment is too long'));
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    return reply.status(400).send(errorBody('bad_request', 'malformed URL (invalid percent-encoding)'));
  }
  return reply.status(500).send(errorBody('internal', 'internal error'));
}

/** Node's HTTP parser errors worth naming; everything else is a plain malformed request. */
const PARSER_ERRORS: Record<string, [number, ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'request line and headers exceed the size limit (16 KiB)'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request took too long to arrive'],
  HPE_INVALID_HEADER_TOKEN: [400, 'bad_request', 'malformed request: invalid character in a header'],
  HPE_INVALID_METHOD: [400, 'bad_request', 'malformed request: unknown method'],
};

/**
 * Answers what Node's HTTP parser refuses before Fastify sees a request (an oversized header, a NUL
 * byte in a header, a bad method or framing), in the contract's shape, then closes the connection:
 * after a parse error the stream cannot be trusted (Fastify's `clientErrorHandler` option).
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // Reset by the peer, or already gone: there is no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = PARSER_ERRORS[err.code ?? ''] ?? [
    400,
    'bad_request',
    'malformed HTTP request',
  ];
  const inResponse = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && inResponse?.headersSent !== true) {
    const body = JSON.stringify(errorBody(code, message));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}
