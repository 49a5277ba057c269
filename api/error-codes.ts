/**
 * Stable, fine-grained error identifiers, so a client (the console) can show a translated message
 * for every error without parsing English. They ride inside the contract's shape without changing
 * it: the top-level `code` stays the coarse family (`unauthorized`, `not_found`, ...); a 401, 404 or
 * 409 carries `details: {reason}`, and each `validation_error` detail carries its own `code`.
 * Values are only ever added, never renamed.
 */

/** The top-level `error.code`: the coarse family, one per kind of answer (an enum in OpenAPI). */
export const ERROR_CODES = [
  'bad_request',
  'validation_error',
  'unauthorized',
  'not_found',
  'conflict',
  'precondition_failed',
  'payload_too_large',
  'unsupported_media_type',
  'uri_too_long',
  'headers_too_large',
  'request_timeout',
  'rate_limited',
  'too_many_streams',
  'internal',
  'unavailable',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** `details.reason` of 401, 404, 409 and 412 answers (and of the 429 `too_many_open_commands`). */
export type ErrorReason =
  | 'api_key_missing'
  | 'api_key_invalid'
  | 'admin_key_required'
  | 'partner_key_required'
  | 'device_credentials_invalid'
  | 'stream_token_invalid'
  | 'stream_token_expired'
  | 'stream_token_used'
  | 'pilot_not_found'
  | 'device_not_found'
  | 'route_not_found'
  | 'already_member'
  | 'name_taken'
  | 'command_not_found'
  | 'command_not_queued'
  | 'command_closed'
  | 'twin_version_stale'
  | 'too_many_open_commands';

/** `details[].code` of a `validation_error`. */
export type FieldCode =
  | 'required'
  | 'invalid_type'
  | 'too_short'
  | 'too_long'
  | 'too_small'
  | 'too_big'
  | 'invalid_format'
  | 'invalid_value'
  | 'unknown_field'
  | 'invalid_json'
  | 'invalid_cursor'
  | 'no_such_partner'
  | 'invalid_time'
  | 'invalid_duration'
  | 'from_after_to'
  | 'too_many_windows'
  | 'invalid_key'
  | 'reserved_key'
  | 'too_many_keys'
  | 'agg_needs_numbers'
  | 'forbidden_characters'
  | 'unknown_country'
  | 'too_deep'
  | 'invalid';

/** A zod issue (as fastify-type-provider-zod reports it) to a field code and its limit, if any. */
export function fieldCodeOf(
  keyword: string,
  message: string | undefined,
  params: Record<string, unknown>,
): { code: FieldCode; limit?: number } {
  const limitOf = (v: unknown) => (typeof v === 'number' || typeof v === 'bigint' ? Number(v) : undefined);
  const sized = params.origin === 'string' || params.origin === 'array';
  switch (keyword) {
    case 'invalid_type':
      // zod 4 does not report the input; its message names what it received.
      return { code: /received undefined$/.test(message ?? '') ? 'required' : 'invalid_type' };
    case 'too_small':
      return withLimit(sized ? 'too_short' : 'too_small', limitOf(params.minimum));
    case 'too_big':
      return withLimit(sized ? 'too_long' : 'too_big', limitOf(params.maximum));
    case 'invalid_format':
      return { code: 'invalid_format' };
    case 'invalid_value':
    case 'invalid_union':
      return { code: 'invalid_value' };
    case 'unrecognized_keys':
      return { code: 'unknown_field' };
    case 'custom': {
      // Our own refinements name their code in the zod issue's params (schemas.ts).
      const own = (params.params as { fieldCode?: unknown } | undefined)?.fieldCode;
      return { code: typeof own === 'string' ? (own as FieldCode) : 'invalid' };
    }
    default:
      return { code: 'invalid' };
  }
}

function withLimit(code: FieldCode, limit: number | undefined): { code: FieldCode; limit?: number } {
  return limit === undefined ? { code } : { code, limit };
}
