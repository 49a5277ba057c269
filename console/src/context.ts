/** What every view gets: the API, who is signed in, and navigation. */
import type { Api, Partner } from './api.js';

export type Who = { kind: 'admin' } | { kind: 'partner'; partner: Partner };

export interface Ctx {
  api: Api;
  who: Who;
  go(hash: string): void;
  signOut(message?: string): void;
}

/** Renders into `main`; returns what to stop when the view is left (streams, timers, charts). */
export type View = (ctx: Ctx, main: HTMLElement, param: string) => Promise<(() => void) | undefined>;
