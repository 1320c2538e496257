/**
 * Conversation sessions, one per source, kept in memory: a session is only worth having for a few
 * seconds, so losing them on restart costs nothing. Expiry always uses the server's clock.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';

export interface Session {
  readonly id: string;
  readonly target: string;
  readonly sourceId: string;
  readonly room: string | null;
  /** The client's `ts` (unix seconds) of the last utterance. */
  readonly lastTs: number;
  /** Server time (ms) after which the session is over. */
  readonly expiresAt: number;
}

/**
 * Why a conversation ended: the target's `end_session`, a cancel phrase, its timeout passing (said
 * even when nobody speaks again), its target failing to take an utterance, another target woken
 * (`switched`), its target unregistered, or the API (`POST /sessions/{id}/end`).
 */
export type SessionEndReason =
  'end_session' | 'cancel' | 'timeout' | 'failed' | 'switched' | 'unregistered' | 'api';

/**
 * A conversation opening or ending, for front ends that tell their clients (MQTT's Hermes
 * sessionStarted / sessionEnded). `frontEnd` is the front end of the utterance that opened it.
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

export class SessionTable {
  readonly #bySource = new Map<string, Session>();
  #timeoutMs: number;
  readonly #clock: Clock;
  #nextSweep = 0;

  constructor(timeoutS: number, clock: Clock) {
    this.#timeoutMs = timeoutS * 1000;
    this.#clock = clock;
  }

  /**
   * Sessions opened or extended from now on last `seconds`; those already open keep the expiry
   * they were given until their next utterance.
   */
  setTimeout(seconds: number): void {
    this.#timeoutMs = seconds * 1000;
    this.#nextSweep = 0;
  }

  /** The source's session if it has not expired. */
  live(sourceId: string): Session | undefined {
    const s = this.#bySource.get(sourceId);
    if (s && s.expiresAt <= this.#clock.now()) {
      this.#bySource.delete(sourceId);
      return undefined;
    }
    return s;
  }

  /** Starts a new session for the source, replacing any it had. */
  open(sourceId: string, target: string, room: string | null, ts: number): Session {
    const now = this.#clock.now();
    this.#sweep(now);
    const s: Session = {
      id: randomUUID(),
      target,
      sourceId,
      room,
      lastTs: ts,
      expiresAt: now + this.#timeoutMs,
    };
    this.#bySource.set(sourceId, s);
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
    return s;
  }

  end(sourceId: string): boolean {
    const live = this.live(sourceId) !== undefined;
    this.#bySource.delete(sourceId);
    return live;
  }

  /**
   * Ends the source's session only if it is still `sessionId` (a target's end_session arrives
   * after its forward, by when another utterance may have opened a new one); true if it ended.
   */
  endIf(sourceId: string, sessionId: string): boolean {
    const s = this.live(sourceId);
    if (s?.id !== sessionId) return false;
    this.#bySource.delete(sourceId);
    return true;
  }

  /** Ends every session bound to a target that is no longer registered; returns how many. */
  endWhere(predicate: (s: Session) => boolean): number {
    let n = 0;
    for (const [source, s] of this.#bySource) {
      if (predicate(s)) {
        this.#bySource.delete(source);
        n++;
      }
    }
    return n;
  }

  /** Live sessions, oldest source first. */
  list(): Session[] {
    const now = this.#clock.now();
    this.#sweep(now, true);
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

  /** Drops expired sessions, at most once per timeout unless forced, so memory stays bounded. */
  #sweep(now: number, force = false): void {
    if (!force && now < this.#nextSweep) return;
    this.#nextSweep = now + this.#timeoutMs;
    for (const [source, s] of this.#bySource) if (s.expiresAt <= now) this.#bySource.delete(source);
  }
}
