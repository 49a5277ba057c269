/** core/close-stack.ts: what a process opened is closed in reverse order, also after a failed start. */
import { describe, expect, it } from 'vitest';
import { createCloseStack, startWithCloseStack } from '../core/close-stack.js';

describe('close stack', () => {
  it('closes in reverse order, once, and goes on past a part that fails to close', async () => {
    const closed: string[] = [];
    const stack = createCloseStack();
    stack.push('a', 'A', (v) => {
      closed.push(v);
    });
    stack.push('b', 'B', () => {
      throw new Error('b will not close');
    });
    stack.push('c', 'C', async (v) => {
      closed.push(v);
    });
    await Promise.all([stack.close(), stack.close()]);
    expect(closed).toEqual(['C', 'A']);
  });

  it('closes what a failed start had opened, then rethrows', async () => {
    const closed: string[] = [];
    await expect(
      startWithCloseStack(undefined, async (stack) => {
        stack.push('first', 1, () => {
          closed.push('first');
        });
        throw new Error('second part failed');
      }),
    ).rejects.toThrow('second part failed');
    expect(closed).toEqual(['first']);
  });
});
