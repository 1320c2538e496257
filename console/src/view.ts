/** What every view gets and gives back. */
import type { Api } from './api.js';

export interface ViewContext {
  readonly api: Api;
}

export interface View {
  readonly title: string;
  readonly el: HTMLElement;
  /** Stops timers and streams when the reader leaves the view. */
  dispose?(): void;
}
