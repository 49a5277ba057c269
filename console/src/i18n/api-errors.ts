/**
 * API errors in the user's language. The API's stable identifiers (api/error-codes.ts) pick the
 * message: `details[].code` per wrong field, else `details.reason`, else the top-level `code`. The
 * API's English message is never shown; an identifier the console does not know yet falls back to
 * its family's message.
 */
import { ApiError, type FieldProblem, NetworkError } from '../api.js';
import { formatNumber } from '../format.js';
import { hasMessage, t } from './index.js';

export function fieldLabel(path: string): string {
  const name = path.split('.')[1] ?? path;
  const key = `field.${name}`;
  return hasMessage(key) ? t(key) : name;
}

function fieldMessage(f: FieldProblem): string {
  const key = `fieldError.${f.code ?? 'invalid'}`;
  const limit = f.limit === undefined ? '' : formatNumber(f.limit);
  return hasMessage(key) ? t(key, { limit }) : t('fieldError.invalid');
}

/**
 * A key that is really an id (`prt_...` pasted where `pk_...` belongs): the 401's `details.looksLike`
 * names what it is (partner_id, pilot_id, device_id), and the hint says which key to use instead.
 */
export function looksLikeHint(err: ApiError): string {
  const kind = (err.details as { looksLike?: unknown } | undefined)?.looksLike;
  const key = `error.looksLike.${String(kind)}`;
  return typeof kind === 'string' && hasMessage(key) ? ` ${t(key)}` : '';
}

export function describeError(err: unknown): string {
  if (err instanceof NetworkError) return t('error.network');
  if (!(err instanceof ApiError)) return t('error.unexpected');
  if (err.code === 'validation_error' && err.fields.length > 0) {
    return err.fields.map((f) => `${fieldLabel(f.path)}: ${fieldMessage(f)}`).join('; ');
  }
  const reasonKey = `error.reason.${err.reason}`;
  if (err.reason && hasMessage(reasonKey)) return t(reasonKey) + looksLikeHint(err);
  const codeKey = `error.code.${err.code}`;
  if (hasMessage(codeKey)) return t(codeKey);
  return t('error.status', { status: err.statusCode });
}
