/** The tests' one polling helper. */

/**
 * Polls `check` until it returns a truthy value, and resolves with it; throws once `timeoutMs` passed
 * (naming `what`). An error thrown by `check` is not swallowed: it fails the wait at once. The third
 * argument is the polling interval in ms or a description of what is awaited.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyOrWhat: number | string = 20,
): Promise<NonNullable<T>> {
  const everyMs = typeof everyOrWhat === 'number' ? everyOrWhat : 20;
  const what = typeof everyOrWhat === 'string' ? everyOrWhat : 'the condition';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
