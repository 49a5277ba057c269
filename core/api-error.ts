/**
 * The contract's error, `{"error": {"code", "message", "details"}}` with its HTTP status: thrown by the
 * API, and rebuilt from a response by its clients (the simulator, the console). No Node imports.
 */
export interface FieldProblem {
  /** Where the problem is, e.g. `body.country`, `query.limit`, `params.deviceId`. */
  path: string;
  message: string;
  /** Stable and translatable (api/error-codes.ts); the message is English for people. */
  code?: string;
  /** The bound a too_short/too_long/too_small/too_big value broke. */
  limit?: number;
}

export class ApiError<Code extends string = string> extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: Code,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The HTTP status, as clients name it (`statusCode` is Fastify's name). */
  get status(): number {
    return this.statusCode;
  }

  /** `details.reason` of a 401, 404 or 409 (api/error-codes.ts). */
  get reason(): string | undefined {
    const d = this.details as { reason?: unknown } | undefined;
    return typeof d?.reason === 'string' ? d.reason : undefined;
  }

  /** The field problems of a validation error. */
  get fields(): FieldProblem[] {
    return Array.isArray(this.details) ? (this.details as FieldProblem[]) : [];
  }
}
