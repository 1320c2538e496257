/**
 * Echo suppression: a microphone in the room where an assistant's reply is being spoken hears it
 * and sends it back as an utterance. Each reply handed back is remembered for its room for a few
 * seconds (ECHONET_ECHO_WINDOW_S); an utterance there that is mostly that reply is an echo. Also
 * the word-level likeness arbitration uses to tell a loser's follow-up from the winner's.
 */

/** How alike two utterances must be (word edit distance over the longer one) to be the same. */
export const SAME_SIMILARITY = 0.8;
/** Words of a reply compared at most (a reply is at most 2 000 characters: about 400 words). */
const MAX_WORDS = 400;
/** Fewest words of a reply, heard back, that count as an echo of part of it (unless half of it). */
const MIN_CONTAINED_WORDS = 3;
/** Rooms remembered before stale replies are swept (memory stays bounded whatever rooms say). */
const MAX_ROOMS = 1_000;

/**
 * 1 − (word edit distance / the longer's word count): 1 for the same words, 0.8 for one word in
 * five misheard, dropped or added. Words, not letters: recognisers get whole words wrong.
 */
export function similarity(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, MAX_WORDS);
  const m = Math.min(b.length, MAX_WORDS);
  const longer = Math.max(n, m);
  if (longer === 0) return 1;
  let row = Array.from({ length: m + 1 }, (_, j) => j);
  for (let i = 1; i <= n; i++) {
    const next = [i];
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next[j] = Math.min(
        (row[j] as number) + 1,
        (next[j - 1] as number) + 1,
        (row[j - 1] as number) + cost,
      );
    }
    row = next;
  }
  return 1 - (row[m] as number) / longer;
}

/** Whether `part`'s words appear, in order and together, in `whole` (an empty `part` does not). */
export function containsWords(whole: readonly string[], part: readonly string[]): boolean {
  if (part.length === 0 || part.length > whole.length) return false;
  outer: for (let i = 0; i + part.length <= whole.length; i++) {
    for (let j = 0; j < part.length; j++) if (whole[i + j] !== part[j]) continue outer;
    return true;
  }
  return false;
}

/** What the decision log keeps about an echo: the reply it was, and how alike. */
export interface EchoDetail {
  readonly room: string;
  /** The reply that was echoed, as handed back (null in a log kept as metadata). */
  readonly reply: string | null;
  /** The decision whose reply it was. */
  readonly reply_event_id: string;
  /** Milliseconds between the reply being handed back and the echo. */
  readonly after_ms: number;
  readonly similarity: number;
  /** True when the utterance is a run of the reply's words (part of it was heard). */
  readonly contained: boolean;
}

interface Reply {
  readonly room: string;
  readonly text: string;
  readonly words: readonly string[];
  readonly eventId: string;
  readonly at: number;
}

export class EchoGuard {
  /** The last reply handed back to each room (by room key), while it may still be echoed. */
  readonly #byRoom = new Map<string, Reply>();

  /** Remembers `reply`, handed back to `room` at `now`, as the one that room may echo. */
  replied(
    roomKey: string,
    room: string,
    reply: string,
    words: readonly string[],
    eventId: string,
    now: number,
    windowMs: number,
  ): void {
    if (this.#byRoom.size >= MAX_ROOMS && !this.#byRoom.has(roomKey)) {
      for (const [key, r] of this.#byRoom) if (now - r.at >= windowMs) this.#byRoom.delete(key);
      // Still full of live replies: the oldest goes.
      if (this.#byRoom.size >= MAX_ROOMS)
        this.#byRoom.delete(this.#byRoom.keys().next().value as string);
    }
    // Deleted first so the map stays in the order replies were given (oldest first).
    this.#byRoom.delete(roomKey);
    this.#byRoom.set(roomKey, { room, text: reply, words, eventId, at: now });
  }

  /** Whether the room has a reply remembered (cheap: asked before an utterance's words are). */
  remembers(roomKey: string): boolean {
    return this.#byRoom.has(roomKey);
  }

  /** The echo `words`, heard in the room at `now`, would be; null when it is none. */
  check(
    roomKey: string,
    words: readonly string[],
    now: number,
    windowMs: number,
  ): EchoDetail | null {
    const reply = this.#byRoom.get(roomKey);
    if (reply === undefined) return null;
    if (now - reply.at >= windowMs) {
      this.#byRoom.delete(roomKey);
      return null;
    }
    if (words.length === 0) return null;
    // A run of the reply's words is an echo of part of it, unless it is a short answer to it:
    // "kitchen" after "Which room, kitchen or hall?" is the speaker's. Three words or more, or
    // half the reply, is the speaker being echoed.
    const contained =
      (words.length >= MIN_CONTAINED_WORDS || words.length * 2 >= reply.words.length) &&
      containsWords(reply.words, words);
    const alike = similarity(words, reply.words);
    if (!contained && alike < SAME_SIMILARITY) return null;
    return {
      room: reply.room,
      reply: reply.text,
      reply_event_id: reply.eventId,
      after_ms: now - reply.at,
      similarity: Math.round(alike * 100) / 100,
      contained,
    };
  }

  /** Forgets every reply (echo suppression turned off). */
  clear(): void {
    this.#byRoom.clear();
  }
}
