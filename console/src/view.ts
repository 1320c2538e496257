/** What every view gets and gives back. */
import type { Api } from './api.js';
import type { LiveFeed } from './live-feed.js';

export interface ViewContext {
  readonly api: Api;
  /** The decision log, live, for as long as the reader is signed in. */
  readonly feed: LiveFeed;
}

export interface View {
  readonly title: string;
  readonly el: HTMLElement;
  /** Stops timers and streams when the reader leaves the view. */
  dispose?(): void;
}
