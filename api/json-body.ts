/**
 * The API's `application/json` body parser: Fastify's own (with its prototype-poisoning protection),
 * behind two checks of ours. Empty means no body: clients that always send
 * `Content-Type: application/json` may POST nothing to routes that take nothing (e.g. credential
 * rotation). And a body nested deeper than MAX_JSON_DEPTH is a 400 naming the field, before it is
 * parsed: 5,000 levels of metadata made the size check's JSON.stringify throw (a 500).
 */
import type { FastifyInstance } from 'fastify';
import { jsonDepthExceededAt, MAX_JSON_DEPTH, topLevelKeyAt } from '../core/json-depth.js';
import { validationError } from './errors.js';

export function installJsonBodyParser(app: FastifyInstance): void {
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    const deep = jsonDepthExceededAt(text, MAX_JSON_DEPTH);
    if (deep >= 0) {
      const key = topLevelKeyAt(text, deep);
      const path = key === undefined ? 'body' : `body.${key}`;
      return done(
        validationError([{ path, message: `nested more than ${MAX_JSON_DEPTH} levels deep` }]),
        undefined,
      );
    }
    return jsonParser(request, text, done);
  });
}
