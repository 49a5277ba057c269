/** Helpers that start a resource close it themselves at the end of the test that started it. */
import { onTestFinished } from 'vitest';

type Closable = { close(): Promise<void> | void };

/**
 * Makes `resource.close()` idempotent and, when called inside a test, registers it to run when that
 * test finishes (in reverse order of registration). Called outside a test (in beforeAll) it registers
 * nothing: a resource shared by a file's tests is closed by that file's afterAll.
 */
export function closeAfterTest<T extends Closable>(resource: T): T {
  const close = resource.close.bind(resource);
  let closing: Promise<void> | undefined;
  resource.close = () => {
    closing ??= Promise.resolve(close());
    return closing;
  };
  try {
    onTestFinished(() => resource.close());
  } catch {
    // not inside a test
  }
  return resource;
}
