/**
 * Where a cancel phrase sits in an utterance, and whether that makes the utterance a cancel.
 *
 * A cancel phrase anywhere used to end the conversation, so "Hey Astraea, cancel my meeting" never
 * reached Astraea. An utterance now cancels only when the cancel phrase is what it ends on:
 * - `cancel`: nothing else was said but an optional wake phrase and fillers ("Hey Astraea,
 *   cancel", "uh, never mind, thanks");
 * - `cancel_trailing`: something was said first, then dropped ("turn on the porch light… never
 *   mind", "no, stop listening"). The cancel must begin a new thought: punctuation before it, a
 *   word that starts one ("no", "actually", "wait", "oh", "uh"…) or the end of the wake phrase.
 *   Without one, the phrase is part of the sentence ("where is the bus stop", "why did you stop
 *   listening") and the sentence goes to the assistant.
 * A cancel phrase followed by more than an object or a closer ("cancel my meeting", "stop the
 * music", "never mind the weather") is a request for the assistant, never a cancel.
 *
 * Phrases are compared as whole normalised words, never fuzzily: a misheard cancel is forwarded to
 * the open conversation, whose assistant can still read it, where a fuzzy cancel would drop a
 * sentence meant for it. Pure and re-entrant: every call works on its arguments only.
 */
import type { Match } from './matcher.js';
import { normalizePhrase, type Token, type Utterance } from './normalize.js';

export type CancelKind = 'cancel' | 'cancel_trailing';

export interface CancelFinding {
  readonly kind: CancelKind;
  /** The cancel phrase as configured (the last one said, when several were). */
  readonly phrase: string;
}

/** Hesitations and interjections: fillers that also begin a new thought ("… oh, never mind"). */
const HESITATIONS = ['uh', 'um', 'umm', 'er', 'erm', 'ah', 'oh', 'ok', 'hmm', 'sorry'];
/** Said around a cancel phrase without changing what it asks: a cancel with these is only a cancel. */
const FILLERS = ['please', 'just', ...HESITATIONS];
/** After a cancel phrase: its object ("cancel that"), closers ("never mind, thanks") and fillers. */
const CLOSERS = [
  'that',
  'it',
  'this',
  'everything',
  'then',
  'now',
  'for now',
  'thanks',
  'thank you',
];
/** Words that begin a new thought, so a cancel right after them drops what came before. */
const SEAM_WORDS: ReadonlySet<string> = new Set(['no', 'nope', 'actually', 'wait', ...HESITATIONS]);
// Punctuation between two words that ends a clause: , ; : . ! ? … – — and a dash set off by spaces
// (a hyphen inside "non-stop" joins the words). Escapes keep the bundle Latin-1 (bench/NOTES.md).
const CLAUSE_BREAK = /[,;:.!?\u2026\u2013\u2014]|\s-|-\s/u;

/** Phrases as normalised word sequences, looked up by the words that end at a position. */
class PhraseSet<V> {
  readonly #byKey = new Map<string, V>();
  #longest = 0;

  add(phrase: string, value: V): void {
    const key = normalizePhrase(phrase);
    if (key === '' || this.#byKey.has(key)) return;
    this.#byKey.set(key, value);
    this.#longest = Math.max(this.#longest, key.split(' ').length);
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** The longest phrase made of tokens[end - n, end), as its length n and value. */
  endingAt(
    tokens: readonly Token[],
    end: number,
  ): { readonly length: number; readonly value: V } | null {
    for (let n = Math.min(this.#longest, end); n >= 1; n--) {
      let key = tokens[end - n]!.norm;
      for (let i = end - n + 1; i < end; i++) key += ` ${tokens[i]!.norm}`;
      const value = this.#byKey.get(key);
      if (value !== undefined) return { length: n, value };
    }
    return null;
  }
}

function wordSet(words: readonly string[]): PhraseSet<true> {
  const set = new PhraseSet<true>();
  for (const w of words) set.add(w, true);
  return set;
}

const FILLER_SET = wordSet(FILLERS);
const CLOSER_SET = wordSet([...CLOSERS, ...FILLERS]);

/** The cancel phrases said at the end of some tokens: where they start, the last one said. */
interface CancelTail {
  /** Index of the first token of the cancel (with the fillers just before it). */
  readonly start: number;
  readonly phrase: string;
  /** A filler between what came before and the cancel also starts a new thought ("… oh, stop"). */
  readonly afterSeamWord: boolean;
}

export class CancelPhrases {
  readonly #phrases = new PhraseSet<string>();

  constructor(phrases: readonly string[]) {
    for (const phrase of phrases) this.#phrases.add(phrase, phrase);
  }

  /** How many distinct cancel phrases (after normalisation) there are. */
  get size(): number {
    return this.#phrases.size;
  }

  /**
   * Whether `utterance` cancels. `wake`: the wake phrase the trigger matcher found in it, if any;
   * only one that ends before the cancel counts (as a seam, or as the utterance's opening).
   */
  find(utterance: Utterance, wake: Match | null): CancelFinding | null {
    if (this.#phrases.size === 0) return null;
    const tokens = utterance.tokens;
    const tail = this.#tail(tokens);
    if (tail === null) return null;
    const { start, phrase } = tail;
    if (start === 0) return { kind: 'cancel', phrase };
    const wakeSpan = wake && tokenSpan(tokens, wake);
    const wakeEndsHere = wakeSpan !== null && wakeSpan.end === start;
    if (wakeEndsHere && onlyFillers(tokens, 0, wakeSpan.start)) return { kind: 'cancel', phrase };
    const seam =
      wakeEndsHere ||
      tail.afterSeamWord ||
      SEAM_WORDS.has(tokens[start - 1]!.norm) ||
      CLAUSE_BREAK.test(utterance.text.slice(tokens[start - 1]!.end, tokens[start]!.start));
    return seam ? { kind: 'cancel_trailing', phrase } : null;
  }

  /**
   * The cancel phrase a wake phrase ends on, if any. `alone`: nothing but it and fillers, so the
   * wake phrase said on its own always cancels; otherwise it does after a pause ("computer, stop").
   */
  endingOf(phrase: string): { readonly phrase: string; readonly alone: boolean } | null {
    const tail = this.#tail(tokenizePhrase(phrase));
    return tail && { phrase: tail.phrase, alone: tail.start === 0 };
  }

  /**
   * The cancel at the end of `tokens`: closers and fillers skipped from the end, a cancel phrase,
   * then any further cancel phrases and fillers before it ("Stop. Stop listening.").
   */
  #tail(tokens: readonly Token[]): CancelTail | null {
    let end = tokens.length;
    let last: string | null = null;
    while (end > 0) {
      const hit = this.#phrases.endingAt(tokens, end);
      if (hit) {
        last = hit.value;
        end -= hit.length;
        break;
      }
      const closer = CLOSER_SET.endingAt(tokens, end);
      if (!closer) return null;
      end -= closer.length;
    }
    if (last === null) return null;
    let start = end;
    let afterSeamWord = false;
    for (;;) {
      const more = this.#phrases.endingAt(tokens, start);
      if (more) {
        start -= more.length;
        continue;
      }
      const filler = FILLER_SET.endingAt(tokens, start);
      if (!filler) break;
      start -= filler.length;
      afterSeamWord ||= SEAM_WORDS.has(tokens[start]!.norm);
    }
    return { start, phrase: last, afterSeamWord };
  }
}

function tokenizePhrase(phrase: string): Token[] {
  // normalizePhrase is the registry's own key; its words are the tokens (offsets are unused here).
  const key = normalizePhrase(phrase);
  return key === '' ? [] : key.split(' ').map((norm) => ({ norm, start: 0, end: 0 }));
}

/** The tokens a match covers, [start, end) by token index (its offsets fall on token bounds). */
function tokenSpan(tokens: readonly Token[], m: Match): { start: number; end: number } {
  let start = 0;
  while (start < tokens.length && tokens[start]!.start < m.start) start++;
  let end = start;
  while (end < tokens.length && tokens[end]!.end <= m.end) end++;
  return { start, end };
}

function onlyFillers(tokens: readonly Token[], from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!FILLER_SET.endingAt(tokens, i + 1)) return false;
  return true;
}

export function compileCancelPhrases(phrases: readonly string[]): CancelPhrases {
  return new CancelPhrases(phrases);
}
