/**
 * Duplicate-wake arbitration: several microphones in one room hear the same "Hey Astraea, …" and
 * each sends it. The first wake for a target in a room with more than one known source opens a
 * round that waits ECHONET_ARBITRATION_WINDOW_MS on the clock for the others; then one contender
 * wins (the most complete transcript: most said after the wake phrase, then the highest
 * confidence, then the earliest) and only it goes on to the target. A room with one known source
 * never waits: its wake is decided at once, and a wake from a source nobody knew yet that arrives
 * inside the window loses to it (that is how a second microphone becomes known without a second
 * answer). Losers follow the winner: while the winner's conversation lasts, what a loser hears
 * that matches what the winner said (or says within the window) is dropped too (`Followers`).
 */
import type { Clock, Timer } from '../clock.js';
import { SAME_SIMILARITY, containsWords, similarity } from './echo.js';

export interface Contender {
  readonly sourceId: string;
  readonly frontEnd: string;
  readonly text: string;
  /** Characters said after the wake phrase (all of it for a default target): completeness. */
  readonly after: number;
  readonly confidence: number | null;
  /** Server time (ms) it arrived. */
  readonly at: number;
}

/** Why a contender won or lost, for the decision log. */
export interface ArbitrationDetail {
  /** `wake`: competing wakes; `follow_up`: a loser's follow-up matching the winner's. */
  readonly kind: 'wake' | 'follow_up';
  readonly room: string;
  readonly target: string;
  readonly window_ms: number;
  readonly winner: string;
  readonly contenders: readonly {
    readonly source_id: string;
    readonly front_end: string;
    readonly text: string | null;
    readonly confidence: number | null;
    readonly chars_after_wake: number;
    /** Milliseconds after the round's first wake. */
    readonly after_ms: number;
  }[];
}

export type Verdict =
  | { readonly won: true; readonly detail: ArbitrationDetail | null }
  | { readonly won: false; readonly winner: string; readonly detail: ArbitrationDetail };

/** Rounds kept before decided ones past their window are swept. */
const MAX_ROUNDS = 1_000;

interface Round {
  readonly room: string;
  readonly target: string;
  readonly startedAt: number;
  readonly windowMs: number;
  readonly contenders: Contender[];
  /** Each waiting contender's answer, in `contenders`' order (none for one decided at once). */
  readonly answers: ((v: Verdict) => void)[];
  winner: Contender | null;
  timer: Timer | null;
}

/** The winner: most said after the wake phrase, then the highest confidence, then the earliest. */
export function pickWinner(contenders: readonly Contender[]): Contender {
  let best = contenders[0] as Contender;
  for (const c of contenders) {
    if (c.after !== best.after) {
      if (c.after > best.after) best = c;
    } else if ((c.confidence ?? -1) > (best.confidence ?? -1)) {
      best = c;
    }
  }
  return best;
}

export class WakeArbiter {
  readonly #clock: Clock;
  /** By room key and target: waiting rounds, and rounds decided at once while their window lasts. */
  readonly #rounds = new Map<string, Round>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Contenders waiting for their round to be decided. */
  get waiting(): number {
    let n = 0;
    for (const r of this.#rounds.values()) if (r.winner === null) n += r.contenders.length;
    return n;
  }

  /**
   * The verdict on a wake for `target` in `room` (`key`: the room's key and the target). `wait`:
   * whether the room has more than one known source, so a round waits for the others; without,
   * the answer is synchronous (no timer, no await for the caller).
   */
  wake(
    key: string,
    room: string,
    target: string,
    c: Contender,
    wait: boolean,
    windowMs: number,
  ): Verdict | Promise<Verdict> {
    let round = this.#rounds.get(key);
    if (round !== undefined && round.winner !== null) {
      const late = c.at - round.startedAt < round.windowMs;
      if (late && round.winner.sourceId !== c.sourceId) {
        round.contenders.push(c);
        return { won: false, winner: round.winner.sourceId, detail: detailOf(round, round.winner) };
      }
      // Past its window, or the winner speaking again: a new wake.
      this.#rounds.delete(key);
      round = undefined;
    }
    if (round !== undefined) {
      const open = round;
      open.contenders.push(c);
      return new Promise((resolve) => open.answers.push(resolve));
    }
    if (this.#rounds.size >= MAX_ROUNDS) this.#sweep(c.at);
    const fresh: Round = {
      room,
      target,
      startedAt: c.at,
      windowMs,
      contenders: [c],
      answers: [],
      winner: wait ? null : c,
      timer: null,
    };
    this.#rounds.set(key, fresh);
    if (!wait) return { won: true, detail: null };
    fresh.timer = this.#clock.after(windowMs, () => this.#decide(key, fresh));
    return new Promise((resolve) => fresh.answers.push(resolve));
  }

  /** Decides every waiting round now (arbitration turned off, or the handler closing). */
  flush(): void {
    for (const [key, round] of [...this.#rounds]) {
      if (round.winner === null) {
        round.timer?.cancel();
        this.#decide(key, round);
      } else {
        this.#rounds.delete(key);
      }
    }
  }

  #decide(key: string, round: Round): void {
    if (this.#rounds.get(key) === round) this.#rounds.delete(key);
    const winner = pickWinner(round.contenders);
    round.winner = winner;
    const detail = detailOf(round, winner);
    round.contenders.forEach((c, i) => {
      round.answers[i]?.(
        c === winner ? { won: true, detail } : { won: false, winner: winner.sourceId, detail },
      );
    });
  }

  #sweep(now: number): void {
    for (const [key, r] of this.#rounds) {
      if (r.winner !== null && now - r.startedAt >= r.windowMs) this.#rounds.delete(key);
    }
  }
}

function detailOf(round: Round, winner: Contender): ArbitrationDetail {
  return {
    kind: 'wake',
    room: round.room,
    target: round.target,
    window_ms: round.windowMs,
    winner: winner.sourceId,
    contenders: round.contenders.map((c) => ({
      source_id: c.sourceId,
      front_end: c.frontEnd,
      text: c.text,
      confidence: c.confidence,
      chars_after_wake: c.after,
      after_ms: c.at - round.startedAt,
    })),
  };
}

/** Whether two utterances say the same thing, as two microphones would hear it. */
export function sameWords(a: readonly string[], b: readonly string[]): boolean {
  return containsWords(a, b) || containsWords(b, a) || similarity(a, b) >= SAME_SIMILARITY;
}

interface Link {
  readonly leader: string;
  readonly target: string;
  readonly room: string;
}

interface Said {
  readonly words: readonly string[];
  readonly contender: Contender;
}

interface Waiter {
  readonly follower: string;
  readonly words: readonly string[];
  readonly contender: Contender;
  readonly link: Link;
  readonly windowMs: number;
  readonly answer: (v: Verdict) => void;
  readonly timer: Timer;
}

/** Most follower links kept; beyond it, links whose conversation is over are swept. */
const MAX_LINKS = 1_000;

/**
 * Losers of a round and the winner they follow. Links are dropped lazily: when the winner's
 * conversation with the target is over (`isLive` says no), or the follower gets one of its own.
 */
export class Followers {
  readonly #clock: Clock;
  readonly #isLive: (leader: string, target: string) => boolean;
  readonly #links = new Map<string, Link>();
  /** By leader: what it said lately (within the window), and followers waiting to compare. */
  readonly #leaders = new Map<string, { said: Said[]; waiting: Set<Waiter> }>();

  constructor(clock: Clock, isLive: (leader: string, target: string) => boolean) {
    this.#clock = clock;
    this.#isLive = isLive;
  }

  get size(): number {
    return this.#links.size;
  }

  /** Followers waiting for their leader to say the same. */
  get waiting(): number {
    let n = 0;
    for (const l of this.#leaders.values()) n += l.waiting.size;
    return n;
  }

  /** Whether `source` is a winner some loser follows. */
  leads(source: string): boolean {
    return this.#leaders.has(source);
  }

  follow(follower: string, leader: string, target: string, room: string): void {
    if (this.#links.size >= MAX_LINKS) {
      for (const [f, link] of this.#links) {
        if (!this.#isLive(link.leader, link.target)) this.unlink(f);
      }
    }
    this.#links.set(follower, { leader, target, room });
    if (!this.#leaders.has(leader)) this.#leaders.set(leader, { said: [], waiting: new Set() });
  }

  unlink(follower: string): void {
    const link = this.#links.get(follower);
    if (link === undefined) return;
    this.#links.delete(follower);
    for (const other of this.#links.values()) if (other.leader === link.leader) return;
    const leader = this.#leaders.get(link.leader);
    if (leader !== undefined && leader.waiting.size === 0) this.#leaders.delete(link.leader);
  }

  /** A leader spoke: kept for followers to compare with, and waiting followers are answered. */
  leaderSaid(words: readonly string[], c: Contender, windowMs: number): void {
    const leader = this.#leaders.get(c.sourceId);
    if (leader === undefined) return;
    leader.said = leader.said.filter((s) => c.at - s.contender.at < windowMs);
    leader.said.push({ words, contender: c });
    for (const w of leader.waiting) {
      if (!sameWords(words, w.words)) continue;
      w.timer.cancel();
      leader.waiting.delete(w);
      w.answer(followUpVerdict(w.link, w.windowMs, c, w.contender));
    }
  }

  /**
   * The verdict on a follower's utterance (one that names no target), or null when the source
   * follows no live conversation. What the leader said within the window and matches: dropped at
   * once; else it waits the window for the leader to say the same, and goes on as its own if not.
   */
  check(
    follower: string,
    words: readonly string[],
    c: Contender,
    windowMs: number,
  ): Verdict | Promise<Verdict> | null {
    const link = this.#links.get(follower);
    if (link === undefined) return null;
    if (!this.#isLive(link.leader, link.target)) {
      this.unlink(follower);
      return null;
    }
    const leader = this.#leaders.get(link.leader);
    if (leader === undefined) return null;
    for (const s of leader.said) {
      if (c.at - s.contender.at < windowMs && sameWords(words, s.words)) {
        return followUpVerdict(link, windowMs, s.contender, c);
      }
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        follower,
        words,
        contender: c,
        link,
        windowMs,
        answer: resolve,
        timer: this.#clock.after(windowMs, () => {
          leader.waiting.delete(waiter);
          resolve({ won: true, detail: null });
        }),
      };
      leader.waiting.add(waiter);
    });
  }

  /** Lets every waiting follower go on as its own (arbitration turned off, or closing). */
  flush(): void {
    for (const leader of this.#leaders.values()) {
      for (const w of leader.waiting) {
        w.timer.cancel();
        w.answer({ won: true, detail: null });
      }
      leader.waiting.clear();
    }
  }

  clear(): void {
    this.flush();
    this.#links.clear();
    this.#leaders.clear();
  }
}

function followUpVerdict(
  link: Link,
  windowMs: number,
  leader: Contender,
  follower: Contender,
): Verdict {
  const first = Math.min(leader.at, follower.at);
  const entry = (c: Contender) => ({
    source_id: c.sourceId,
    front_end: c.frontEnd,
    text: c.text,
    confidence: c.confidence,
    chars_after_wake: c.after,
    after_ms: c.at - first,
  });
  return {
    won: false,
    winner: link.leader,
    detail: {
      kind: 'follow_up',
      room: link.room,
      target: link.target,
      window_ms: windowMs,
      winner: link.leader,
      contenders: [entry(leader), entry(follower)],
    },
  };
}
