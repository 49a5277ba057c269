/**
 * What a running process opened, closed in reverse order. If starting fails part-way, closing the
 * stack releases exactly what was opened so far. A part that fails to close is reported and the
 * rest still close.
 */
import type { Logger } from './log.js';

export interface CloseStack {
  /** Adds `close` to run before everything added earlier; returns `value` for chaining. */
  push<T>(name: string, value: T, close: (value: T) => Promise<void> | void): T;
  /** Closes everything (once; later calls wait for the same close). */
  close(): Promise<void>;
}

export function createCloseStack(logger?: Logger): CloseStack {
  const parts: { name: string; close: () => Promise<void> | void }[] = [];
  let closing: Promise<void> | undefined;
  return {
    push(name, value, close) {
      parts.push({ name, close: () => close(value) });
      return value;
    },
    close() {
      closing ??= (async () => {
        for (const part of parts.splice(0).reverse()) {
          try {
            await part.close();
            logger?.debug({ part: part.name }, 'stopped');
          } catch (err) {
            logger?.error({ err, part: part.name }, 'error while stopping');
          }
        }
      })();
      return closing;
    },
  };
}

/** Runs `start` with a fresh stack; on failure closes what it opened and rethrows. */
export async function startWithCloseStack<T>(
  logger: Logger | undefined,
  start: (stack: CloseStack) => Promise<T>,
): Promise<T & { close(): Promise<void> }> {
  const stack = createCloseStack(logger);
  try {
    const result = await start(stack);
    return Object.assign(result as T & object, { close: () => stack.close() }) as T & {
      close(): Promise<void>;
    };
  } catch (err) {
    await stack.close();
    throw err;
  }
}
