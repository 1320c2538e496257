/**
 * The decision log, live: the last page of GET /events, then GET /events/stream (Server-Sent
 * Events). One feed for the whole console, opened at sign-in and closed at sign-out, so leaving
 * the decisions view neither loses what arrived meanwhile nor drops and reopens the stream.
 * EventSource reconnects by itself and sends Last-Event-ID, from which Echonet replays what it
 * missed.
 */
import { messageOf, type Api } from './api.js';
import type { DecisionEvent } from './types.js';

/** Decisions kept; older ones are dropped. */
const MAX_EVENTS = 300;

export type FeedState = 'connecting' | 'live' | 'down';

export interface FeedListener {
  /** New decisions (already added to `events`). */
  decisions(added: DecisionEvent[]): void;
  state(state: FeedState, error?: string): void;
}

export class LiveFeed {
  /** Newest first. */
  readonly events: DecisionEvent[] = [];
  #state: FeedState = 'connecting';
  #error: string | undefined;
  readonly #seen = new Set<string>();
  readonly #listeners = new Set<FeedListener>();
  #source: EventSource | undefined;
  #closed = false;

  constructor(private readonly api: Api) {}

  get state(): FeedState {
    return this.#state;
  }

  get error(): string | undefined {
    return this.#error;
  }

  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async start(): Promise<void> {
    try {
      const page = await this.api.get<{ events: DecisionEvent[] }>('/events?limit=50');
      this.#add(page.events);
    } catch (err) {
      this.#setState('connecting', `Could not read the decision log: ${messageOf(err)}`);
    }
    if (this.#closed) return;
    const source = new EventSource(this.api.streamUrl('/events/stream'));
    this.#source = source;
    source.addEventListener('open', () => this.#setState('live'));
    source.addEventListener('error', () => {
      // An HTTP error (a revoked key) closes an EventSource for good; a dropped one retries.
      if (source.readyState === EventSource.CLOSED) {
        this.#setState(
          'down',
          'The live feed was refused (is the key still valid?). Reload the page to try again.',
        );
      } else this.#setState('down');
    });
    source.addEventListener('decision', (message) => {
      this.#add([JSON.parse((message as MessageEvent<string>).data) as DecisionEvent]);
    });
  }

  close(): void {
    this.#closed = true;
    this.#source?.close();
    this.#listeners.clear();
  }

  #add(list: DecisionEvent[]): void {
    const added = list.filter((e) => !this.#seen.has(e.id));
    if (added.length === 0) return;
    for (const e of added) this.#seen.add(e.id);
    this.events.push(...added);
    this.events.sort((a, b) => b.seq - a.seq);
    for (const dropped of this.events.splice(MAX_EVENTS)) this.#seen.delete(dropped.id);
    for (const l of this.#listeners) l.decisions(added);
  }

  #setState(state: FeedState, error?: string): void {
    this.#state = state;
    this.#error = error;
    for (const l of this.#listeners) l.state(state, error);
  }
}
