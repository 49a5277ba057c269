/**
 * When the drain loop (pipeline.ts) sleeps and what wakes it: a finished write always, an append
 * (the journal's watch) only while no write is in flight; appends during a write are read when it
 * returns, one read per write instead of one per commit. No wake-up is lost: what happened since the
 * last read ends the next sleep at once.
 */
export class DrainWake {
  private appended = false;
  private written = false;
  private wakeOnAppend = true;
  private wake: (() => void) | undefined;

  /** Called before each read: what happens from now on wakes the loop again. */
  reset(): void {
    this.appended = false;
    this.written = false;
  }

  /** The journal's watch listener. */
  readonly appendSeen = (): void => {
    this.appended = true;
    if (this.wakeOnAppend) this.fire();
  };

  /** After every finished write, and on stop. */
  readonly writeDone = (): void => {
    this.written = true;
    this.fire();
  };

  /** Sleeps up to `ms`, or until a write returns, or with `onAppend` until an append. */
  async sleep(ms: number, onAppend: boolean): Promise<void> {
    this.wakeOnAppend = onAppend;
    if (this.written || (onAppend && this.appended)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      this.wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    this.wake = undefined;
  }

  private fire(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
