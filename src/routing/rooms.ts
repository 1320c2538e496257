/**
 * Many microphones, one house: which room an utterance was heard in, which sources a room knows,
 * and the two rules rooms bring, duplicate-wake arbitration (arbitration.ts) and echo suppression
 * (echo.ts). Protocol-free: the text handler asks, whatever front end heard the utterance.
 *
 * A room's known sources: those ECHONET_SOURCE_ROOMS puts in it, plus every source heard in it
 * (its utterance's own `room`, or the mapping) in the last KNOWN_FOR_MS. Only a room with more
 * than one known source makes a wake wait for the others.
 */
import type { Clock } from '../clock.js';
import type { SourceRoom } from '../config.js';
import type { Utterance } from '../matching/normalize.js';
import { Followers, WakeArbiter, type Contender, type Verdict } from './arbitration.js';
import type { DecisionDetail } from './decision-record.js';
import { EchoGuard } from './echo.js';
import type { Decision } from './router.js';

/** How long a source heard in a room stays one of its known sources: microphones rarely move. */
export const KNOWN_FOR_MS = 24 * 60 * 60 * 1000;
/** Sources remembered as heard (over all rooms) before stale ones are swept. */
const MAX_HEARD = 10_000;
/** How often a room's sources heard too long ago are forgotten (a minute late is no harm). */
const PRUNE_EVERY_MS = 60_000;

/** The sources heard in one room, and how many of them ECHONET_SOURCE_ROOMS does not name. */
interface HeardIn {
  readonly at: Map<string, number>;
  /** Kept as sources come and go, so counting a room's known sources is O(1) per wake. */
  extra: number;
  prunedAt: number;
}

export interface RoomRules {
  readonly sourceRooms?: readonly SourceRoom[] | undefined;
  /** 0: no arbitration. */
  readonly arbitrationWindowMs?: number;
  /** 0: no echo suppression. */
  readonly echoWindowS?: number;
}

/** What the text handler needs to know of an utterance to ask about it. */
export interface Heard {
  readonly sourceId: string;
  readonly frontEnd: string;
  readonly text: string;
  readonly confidence: number | null;
  readonly at: number;
}

/** Rooms compare without case or surrounding spaces: `Kitchen` and `kitchen ` are one room. */
function roomKey(room: string): string {
  return room.trim().toLowerCase();
}

function wordsOf(utterance: Utterance): string[] {
  return utterance.tokens.map((t) => t.norm);
}

export class Rooms {
  readonly #clock: Clock;
  readonly #arbiter: WakeArbiter;
  readonly #followers: Followers;
  readonly #echo = new EchoGuard();
  #roomBySource = new Map<string, string>();
  #configured = new Map<string, Set<string>>();
  /** By room key: each source heard there and when (server ms). */
  readonly #heard = new Map<string, HeardIn>();
  #heardCount = 0;
  #windowMs = 0;
  #echoMs = 0;

  /** `isLive(source, target)`: whether the source has a live conversation with the target. */
  constructor(clock: Clock, rules: RoomRules, isLive: (source: string, target: string) => boolean) {
    this.#clock = clock;
    this.#arbiter = new WakeArbiter(clock);
    this.#followers = new Followers(clock, isLive);
    this.configure(rules);
  }

  /** Applies changed settings from the next utterance on; rounds waiting are decided now. */
  configure(rules: RoomRules): void {
    this.#roomBySource = new Map((rules.sourceRooms ?? []).map((s) => [s.source, s.room]));
    this.#configured = new Map();
    for (const s of rules.sourceRooms ?? []) {
      const key = roomKey(s.room);
      const set = this.#configured.get(key) ?? new Set();
      set.add(s.source);
      this.#configured.set(key, set);
    }
    for (const [key, room] of this.#heard) {
      const configured = this.#configured.get(key);
      room.extra = 0;
      for (const source of room.at.keys()) if (configured?.has(source) !== true) room.extra++;
    }
    const windowMs = rules.arbitrationWindowMs ?? 0;
    if (windowMs !== this.#windowMs) {
      this.#arbiter.flush();
      if (windowMs === 0) this.#followers.clear();
      else this.#followers.flush();
    }
    this.#windowMs = windowMs;
    this.#echoMs = (rules.echoWindowS ?? 0) * 1000;
    if (this.#echoMs === 0) this.#echo.clear();
  }

  /** Whether either rule is on (else the handler asks nothing). */
  get enabled(): boolean {
    return this.#windowMs > 0 || this.#echoMs > 0;
  }

  /** Utterances waiting for other microphones (a wake's round, a follower's comparison). */
  get waiting(): number {
    return this.#arbiter.waiting + this.#followers.waiting;
  }

  /** The utterance's room: its own, else the source's in ECHONET_SOURCE_ROOMS, else none. */
  roomOf(sourceId: string, room: string | null | undefined): string | null {
    if (room !== undefined && room !== null && room.trim() !== '') return room;
    return this.#roomBySource.size === 0 ? null : (this.#roomBySource.get(sourceId) ?? null);
  }

  /** The room's known sources now (see the header), sorted. */
  known(room: string): string[] {
    const key = roomKey(room);
    const now = this.#clock.now();
    const sources = new Set(this.#configured.get(key));
    for (const [source, at] of this.#heard.get(key)?.at ?? []) {
      if (now - at < KNOWN_FOR_MS) sources.add(source);
    }
    return [...sources].sort();
  }

  /**
   * Before the decision: an echo of the room's last reply (dropped), else null. The source is
   * noted as heard in the room, and what a winner says is kept for its followers to compare.
   */
  screen(room: string, utterance: Utterance, heard: Heard): DecisionDetail | null {
    const key = roomKey(room);
    if (this.#echoMs > 0 && this.#echo.remembers(key)) {
      const echo = this.#echo.check(key, wordsOf(utterance), heard.at, this.#echoMs);
      if (echo !== null) return { echo };
    }
    if (this.#windowMs > 0) {
      this.#noteHeard(key, heard.sourceId, heard.at);
      if (this.#followers.leads(heard.sourceId)) {
        this.#followers.leaderSaid(wordsOf(utterance), contender(heard, 0), this.#windowMs);
      }
    }
    return null;
  }

  /**
   * After the decision: null when arbitration has nothing to say (go on), else the verdict,
   * synchronous unless the utterance has to wait for other microphones (only in a room with more
   * than one known source, or for a loser's follow-up).
   */
  arbitrate(
    room: string,
    utterance: Utterance,
    decision: Decision,
    heard: Heard,
  ): Verdict | Promise<Verdict> | null {
    if (this.#windowMs === 0) return null;
    const { mode, target, match } = decision;
    const source = heard.sourceId;
    if (this.#followers.size > 0) {
      // The source's own conversation goes on: it follows no one any more.
      if (mode === 'session_continue' || mode === 'session_end') {
        this.#followers.unlink(source);
        return null;
      }
      // Said without a wake phrase by a loser: its copy of what the winner says? Asked first, so
      // that a default target (every utterance of a Home Assistant satellite, whose wake word
      // never reaches Echonet) does not make the copy a new wake of its own.
      if (match === null && decision.reason !== 'empty_text') {
        const followUp = this.#followers.check(
          source,
          wordsOf(utterance),
          contender(heard, charsAfter(utterance, 0)),
          this.#windowMs,
        );
        if (followUp !== null) return followUp;
      }
    }
    if ((mode !== 'session_open' && mode !== 'session_switch') || target === null) return null;
    // Opening a conversation (a wake phrase, a name, a default target): arbitrated.
    const key = roomKey(room);
    const verdict = this.#arbiter.wake(
      `${key}\u0000${target}`,
      room,
      target,
      contender(heard, charsAfter(utterance, match?.end ?? 0)),
      this.#knownCount(key) > 1,
      this.#windowMs,
    );
    const followed = (v: Verdict): Verdict => {
      if (v.won) this.#followers.unlink(source);
      else this.#followers.follow(source, v.winner, target, room);
      return v;
    };
    return verdict instanceof Promise ? verdict.then(followed) : followed(verdict);
  }

  /** A reply handed back to `room`: the one an utterance there may echo for the echo window. */
  replied(room: string, reply: string, words: readonly string[], eventId: string): void {
    if (this.#echoMs === 0) return;
    this.#echo.replied(roomKey(room), room, reply, words, eventId, this.#clock.now(), this.#echoMs);
  }

  /** Decides everything waiting now (the handler is closing). */
  flush(): void {
    this.#arbiter.flush();
    this.#followers.flush();
  }

  /** Configured sources plus those heard (within KNOWN_FOR_MS, give or take a minute). */
  #knownCount(key: string): number {
    return (this.#configured.get(key)?.size ?? 0) + (this.#heard.get(key)?.extra ?? 0);
  }

  #noteHeard(key: string, source: string, now: number): void {
    let room = this.#heard.get(key);
    if (room === undefined) {
      room = { at: new Map(), extra: 0, prunedAt: now };
      this.#heard.set(key, room);
    }
    if (!room.at.has(source)) {
      if (this.#heardCount >= MAX_HEARD) this.#forgetStale(now);
      this.#heardCount++;
      if (this.#configured.get(key)?.has(source) !== true) room.extra++;
    }
    room.at.set(source, now);
    if (now - room.prunedAt >= PRUNE_EVERY_MS) this.#prune(key, room, now);
  }

  /** Forgets the room's sources heard longer ago than KNOWN_FOR_MS. */
  #prune(key: string, room: HeardIn, now: number): void {
    room.prunedAt = now;
    const configured = this.#configured.get(key);
    for (const [source, at] of room.at) {
      if (now - at < KNOWN_FOR_MS) continue;
      room.at.delete(source);
      this.#heardCount--;
      if (configured?.has(source) !== true) room.extra--;
    }
    if (room.at.size === 0) this.#heard.delete(key);
  }

  #forgetStale(now: number): void {
    for (const [key, room] of this.#heard) this.#prune(key, room, now);
    // Still full of fresh ones (a flood of made-up rooms): start again rather than grow.
    if (this.#heardCount >= MAX_HEARD) {
      this.#heard.clear();
      this.#heardCount = 0;
    }
  }
}

function contender(heard: Heard, after: number): Contender {
  return {
    sourceId: heard.sourceId,
    frontEnd: heard.frontEnd,
    text: heard.text,
    after,
    confidence: heard.confidence,
    at: heard.at,
  };
}

/** Characters of the words said after `offset` (the wake phrase's end), one space between. */
function charsAfter(utterance: Utterance, offset: number): number {
  let n = 0;
  let words = 0;
  for (const t of utterance.tokens) {
    if (t.start < offset) continue;
    n += t.norm.length;
    words++;
  }
  return words === 0 ? 0 : n + words - 1;
}
