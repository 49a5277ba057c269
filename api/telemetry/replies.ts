/**
 * How telemetry routes answer besides their schema's serialiser: plain JSON.stringify for the large
 * item lists, CSV, and JSON already written as bytes (windows-write.ts).
 */
import type { FastifyReply } from 'fastify';
import { CSV_CONTENT_TYPE } from './csv.js';

/**
 * Up to 10,000 items per response, shaped by the handler itself from InfluxDB's typed columns: the
 * schema documents them, and plain JSON.stringify spares a zod pass over every item (about 2 ms per
 * 1,440 windows; see bench/telemetry-query.ts). Error bodies are built by the error handler.
 */
export const plainJson = () => (data: unknown) => JSON.stringify(data);

/** CSV and ready JSON bytes bypass the response schema (Fastify serialises objects only). */
export function sendCsv(reply: FastifyReply, csv: string): FastifyReply {
  return reply.type(CSV_CONTENT_TYPE).send(csv);
}

export function sendJsonBytes(reply: FastifyReply, json: Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}
