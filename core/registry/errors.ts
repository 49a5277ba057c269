/**
 * Errors a registry store throws for bad input, so the API can map them to the contract's 4xx
 * without knowing the storage engine. Also the opaque list cursor, shared by every store.
 */

/** A unique constraint was hit (e.g. a partner name already taken). The API answers 409. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** A cursor that this store did not issue (or issued for another list). The API answers 400. */
export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

/**
 * Cursors are base64url JSON `{l: list, k: lastKey}`. Opaque to clients; tagged with the list so a
 * device-list cursor cannot be replayed against a pilot list.
 */
export function encodeCursor(list: string, lastKey: number): string {
  return Buffer.from(JSON.stringify({ l: list, k: lastKey }), 'utf8').toString('base64url');
}

export function decodeCursor(list: string, cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  try {
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new InvalidCursorError();
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      (parsed as { l?: unknown }).l === list &&
      Number.isSafeInteger((parsed as { k?: unknown }).k)
    ) {
      return (parsed as { k: number }).k;
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}
