/**
 * Conversation sessions, one per source, kept in memory: a session is only worth having for a few
 * seconds, so losing them on restart costs nothing. Expiry always uses the server's clock.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';

export interface Session {
  readonly id: string;
  readonly target: string;
  readonly sourceId: string;
  readonly room: string | null;
  /** The client's `ts` (unix seconds) of the last utterance. */
  readonly lastTs: number;
  /** Server time (ms) after which the session is over. */
  readonly expiresAt: number;
  /** The front end of the utterance that opened it (`http`, `wyoming`, `mqtt`). */
  readonly frontEnd: string;
}

/**
 * Why a conversation ended: the target's `end_session`, a cancel phrase, its timeout passing (said
 * even when nobody speaks again), its target failing to take an utterance and no fallback taking
 * it, a wake phrase said again (`switched`: for another target or the same, a new conversation
 * follows), its target unregistered, or the API (`POST /sessions/{id}/end`).
 */
export type SessionEndReason =
  'end_session' | 'cancel' | 'timeout' | 'failed' | 'switched' | 'unregistered' | 'api';

/**
 * A conversation opening or ending, for front ends that tell their clients (MQTT's Hermes
 * sessionStarted / sessionEnded). `frontEnd` is the front end of the utterance that opened it.
 * Every session started is ended exactly once, expiry included.
 */
export type SessionEvent =
  | { readonly kind: 'started'; readonly session: Session; readonly frontEnd: string }
  | {
      readonly kind: 'ended';
      readonly session: Session;
      readonly frontEnd: string;
      readonly reason: SessionEndReason;
    };

export type SessionListener = (event: SessionEvent) => void;

/** A session as the API shows it. */
export interface SessionView {
  id: string;
  target: string;
  source_id: string;
  room: string | null;
  last_ts: number;
  expires_in_s: number;
}

/**
 * A source's place in the expiry queue: when its session was due when queued; when that time
 * comes, whatever session the source has then is checked.
 */
interface Due {
  readonly at: number;
  readonly sourceId: string;
}

export interface SessionTableOptions {
  /** Hears of every session started and ended (see SessionEvent); must not block. */
  readonly onSession?: SessionListener | undefined;
  /** Hears of a listener that threw (the table carries on). */
  readonly onListenerError?: ((err: unknown) => void) | undefined;
}

export class SessionTable {
  readonly #bySource = new Map<string, Session>();
  #timeoutMs: number;
  readonly #clock: Clock;
  /** Who hears of sessions starting and ending: the constructor's `onSession` and `listen`'s. */
  readonly #listeners = new Set<SessionListener>();
  readonly #onListenerError: (err: unknown) => void;
  /**
   * Min-heap of sources by the expiry their session had when queued, at most one entry per source
   * (`#queuedAt`): opening or extending a session queues nothing when its source is already queued
   * for no later, and a due entry whose session was extended or replaced since is queued again at
   * the new expiry. So `extend` is O(1), `open` O(log n) at worst, and the queue is never bigger
   * than the sources with sessions, however often they speak.
   */
  readonly #queue: Due[] = [];
  /** The earliest `at` each source is queued for. */
  readonly #queuedAt = new Map<string, number>();
  /** The one timer, armed for the queue's earliest entry, and when it fires. */
  #timer: Timer | null = null;
  #timerAt = Infinity;
  #closed = false;

  constructor(timeoutS: number, clock: Clock, options: SessionTableOptions = {}) {
    this.#timeoutMs = timeoutS * 1000;
    this.#clock = clock;
    if (options.onSession) this.#listeners.add(options.onSession);
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  /**
   * Adds a listener to sessions starting and ending (a front end built after the handler, such as
   * MQTT's); returns the function that removes it.
   */
  listen(listener: SessionListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /**
   * Sessions opened or extended from now on last `seconds`; those already open keep the expiry
   * they were given until their next utterance.
   */
  setTimeout(seconds: number): void {
    this.#timeoutMs = seconds * 1000;
  }

  /** The source's session if it has not expired (an expired one is announced, once, here). */
  live(sourceId: string): Session | undefined {
    const s = this.#bySource.get(sourceId);
    if (s && s.expiresAt <= this.#clock.now()) {
      this.#drop(s, 'timeout');
      return undefined;
    }
    return s;
  }

  /**
   * Starts a new session for the source, opened by an utterance heard by `frontEnd`; a live one it
   * had ends first (`switched`).
   */
  open(
    sourceId: string,
    target: string,
    room: string | null,
    ts: number,
    frontEnd = 'http',
  ): Session {
    const previous = this.live(sourceId);
    if (previous) this.#drop(previous, 'switched');
    const now = this.#clock.now();
    const s: Session = {
      id: randomUUID(),
      target,
      sourceId,
      room,
      lastTs: ts,
      expiresAt: now + this.#timeoutMs,
      frontEnd,
    };
    this.#bySource.set(sourceId, s);
    this.#enqueue(sourceId, s.expiresAt);
    if (this.#listeners.size > 0) this.#emit({ kind: 'started', session: s, frontEnd });
    return s;
  }

  /** Extends a live session by a full timeout from now. */
  extend(session: Session, room: string | null, ts: number): Session {
    const s: Session = {
      ...session,
      room: room ?? session.room,
      lastTs: ts,
      expiresAt: this.#clock.now() + this.#timeoutMs,
    };
    this.#bySource.set(s.sourceId, s);
    // Only a shortened timeout (setTimeout) brings an expiry before the one already queued.
    if (s.expiresAt < session.expiresAt) this.#enqueue(s.sourceId, s.expiresAt);
    return s;
  }

  /** Ends the source's live session, if any, for `reason`; true if there was one. */
  end(sourceId: string, reason: SessionEndReason): boolean {
    const s = this.live(sourceId);
    if (s === undefined) return false;
    this.#drop(s, reason);
    return true;
  }

  /**
   * Ends the source's session only if it is still `sessionId` (a target's end_session arrives
   * after its forward, by when another utterance may have opened a new one); true if it ended.
   */
  endIf(sourceId: string, sessionId: string, reason: SessionEndReason): boolean {
    const s = this.live(sourceId);
    if (s?.id !== sessionId) return false;
    this.#drop(s, reason);
    return true;
  }

  /** Ends every live session the predicate picks, for `reason`; returns how many. */
  endWhere(predicate: (s: Session) => boolean, reason: SessionEndReason): number {
    const now = this.#clock.now();
    let n = 0;
    for (const s of [...this.#bySource.values()]) {
      if (s.expiresAt <= now) this.#drop(s, 'timeout');
      else if (predicate(s)) {
        this.#drop(s, reason);
        n++;
      }
    }
    return n;
  }

  /** Live sessions, oldest source first. */
  list(): Session[] {
    const now = this.#clock.now();
    for (const s of [...this.#bySource.values()]) if (s.expiresAt <= now) this.#drop(s, 'timeout');
    return [...this.#bySource.values()];
  }

  view(s: Session): SessionView {
    const remainingMs = Math.max(0, s.expiresAt - this.#clock.now());
    return {
      id: s.id,
      target: s.target,
      source_id: s.sourceId,
      room: s.room,
      last_ts: s.lastTs,
      // Whole seconds, as the Python service sent them (its clients parse an int); rounded up, so
      // a session that is still live never reads 0.
      expires_in_s: Math.ceil(remainingMs / 1000),
    };
  }

  /** Entries in the expiry queue: at most one per source with a session (bounded memory). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Stops the expiry timer (shutting down); sessions are no longer announced as they expire. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  /** Removes a session from the table and announces it: the one place a session ends. */
  #drop(s: Session, reason: SessionEndReason): void {
    this.#bySource.delete(s.sourceId);
    if (this.#listeners.size > 0) {
      this.#emit({ kind: 'ended', session: s, frontEnd: s.frontEnd, reason });
    }
  }

  #emit(event: SessionEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        // One listener's bug must not stop the others, nor routing (nor the expiry timer).
        this.#onListenerError(err);
      }
    }
  }

  /** Makes sure the source is looked at no later than `at`. */
  #enqueue(sourceId: string, at: number): void {
    const queued = this.#queuedAt.get(sourceId);
    if (queued !== undefined && queued <= at) return;
    this.#queuedAt.set(sourceId, at);
    heapPush(this.#queue, { at, sourceId });
    if (at < this.#timerAt) this.#arm(at);
  }

  #arm(at: number): void {
    if (this.#closed) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = this.#clock.after(at - this.#clock.now(), () => this.#expire());
  }

  /**
   * The timer came due: sessions whose expiry has passed end (`timeout`); an entry for a session
   * since ended or replaced is dropped, one for a session since extended is queued again.
   */
  #expire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const queue = this.#queue;
    while (queue.length > 0 && (queue[0] as Due).at <= now) {
      const due = heapPop(queue) as Due;
      // A source queued twice (a shortened timeout) is untracked once its earliest entry is due.
      if (this.#queuedAt.get(due.sourceId) === due.at) this.#queuedAt.delete(due.sourceId);
      const s = this.#bySource.get(due.sourceId);
      if (s === undefined) continue;
      if (s.expiresAt <= now) this.#drop(s, 'timeout');
      else this.#enqueue(s.sourceId, s.expiresAt);
    }
    const next = queue[0];
    if (next !== undefined) this.#arm(next.at);
  }
}

function heapPush(heap: Due[], item: Due): void {
  let i = heap.push(item) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent] as Due;
    if (p.at <= item.at) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: Due[]): Due | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (top === undefined || last === undefined || heap.length === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= heap.length) break;
    const r = l + 1;
    const c = r < heap.length && (heap[r] as Due).at < (heap[l] as Due).at ? r : l;
    const child = heap[c] as Due;
    if (child.at >= last.at) break;
    heap[i] = child;
    i = c;
  }
  heap[i] = last;
  return top;
}
