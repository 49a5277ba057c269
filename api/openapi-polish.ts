/**
 * What the route schemas cannot say, added to the OpenAPI document so generated clients know it:
 * 413 and 415 on every route that takes a body (Fastify's body limit and content-type check), 429 on
 * every /v1 route (per-key rate, failed-login slowdown, device rate), the CSV answer and its cursor
 * header, the server-sent event streams, and a status text instead of "Default Response".
 */
import { STATUS_CODES } from 'node:http';

type Json = Record<string, unknown>;
type Operation = { operationId?: string; responses?: Record<string, Json>; requestBody?: unknown };

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const errorResponse = (status: string): Json => ({
  description: STATUS_CODES[Number(status)] ?? 'Error',
  content: { 'application/json': { schema: ERROR_REF } },
});

/** Routes that answer `text/csv` when asked (`Accept: text/csv`); the value: its cursor header. */
export const CSV_OPERATIONS: Record<string, string | undefined> = {
  getDeviceTelemetry: 'x-next-cursor',
  getPilotTelemetry: undefined,
};
/** Routes that answer `text/event-stream`. */
export const SSE_OPERATIONS = ['streamDeviceTelemetry', 'streamPilotTelemetry'];

const CURSOR_HEADER = {
  description:
    "With `Accept: text/csv`: the next page's cursor (pass it as `cursor`); absent on the last page",
  schema: { type: 'string' },
};

function polishOperation(path: string, method: string, op: Operation): void {
  op.responses ??= {};
  const responses = op.responses;
  const add = (status: string) => {
    responses[status] ??= errorResponse(status);
  };
  if (['post', 'put', 'patch'].includes(method)) {
    add('413');
    add('415');
  }
  if (path.startsWith('/v1/')) add('429');
  const id = op.operationId ?? '';
  const ok = responses['200'];
  if (ok && id in CSV_OPERATIONS) {
    ok.content ??= {};
    const content = ok.content as Json;
    content['text/csv'] = { schema: { type: 'string', description: 'RFC 4180 CSV with a header row' } };
    const header = CSV_OPERATIONS[id];
    if (header) ok.headers = { ...(ok.headers as Json | undefined), [header]: CURSOR_HEADER };
  }
  if (SSE_OPERATIONS.includes(id)) {
    responses['200'] = {
      description: 'A stream of server-sent events: `event: reading`, data `{"deviceId", "ts", "values"}`',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    };
    for (const status of ['400', '401', '404', '429']) add(status);
  }
  for (const [status, response] of Object.entries(responses))
    if (response.description === 'Default Response' && Number(status) >= 400)
      response.description = STATUS_CODES[Number(status)] ?? 'Error';
}

export function polishOpenApi<T>(doc: T): T {
  const paths = (doc as { paths?: Record<string, Record<string, Operation>> }).paths ?? {};
  for (const [path, methods] of Object.entries(paths))
    for (const [method, op] of Object.entries(methods)) polishOperation(path, method, op);
  return doc;
}
