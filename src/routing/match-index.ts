/**
 * The candidate index behind fuzzy matching: given one transcript token (or two run together), which
 * phrase tokens could it be? Built once per registry change; a lookup costs a fixed number of hash
 * probes per transcript token whatever the number of phrases, so matching time does not grow with
 * the registry.
 *
 * - exact spellings: one Map probe;
 * - all other tables are hash → ids postings in typed arrays (match-hash.ts);
 * - spelling near misses: symmetric deletion neighbourhoods (each word with up to `editReach`
 *   letters deleted), probed with the transcript token's own deletions;
 * - sound-alikes: Double Metaphone buckets, keyed with the word length so a bucket stays small;
 * - two phrase tokens heard as one ("echobell"): their concatenation, exact and by sound.
 * Every candidate is then checked on the real words by match-rules.ts.
 */
import {
  concatHash,
  deletionHashes,
  deletionScratch,
  mix,
  MULTI,
  PostingsBuilder,
  stringHash,
  type Postings,
} from './match-hash.js';
import {
  editReach,
  fuzzyFit,
  isFuzzyEligible,
  joinedEdits,
  joinedFit,
  MIN_FUZZY_LENGTH,
  type TokenFit,
} from './match-rules.js';
import { computeSoundCodes, soundCodes } from './phonetic.js';

/** One way the phrase trie may advance from a transcript position. */
export interface Candidate {
  /** Phrase-token ids consumed, in order (two when a text token stands for two phrase tokens). */
  readonly ids: readonly [number] | readonly [number, number];
  /** Transcript tokens consumed (two when they run together into one phrase token). */
  readonly span: 1 | 2;
  readonly score: number;
  readonly exact: boolean;
  readonly strict: boolean;
}

/**
 * Transcripts repeat their words ("the parcel", "the door"), so each token's candidates are
 * remembered for this index (it never changes once built). Bounded; dropped wholesale when full.
 */
const CANDIDATE_CACHE_LIMIT = 4_000;

/** Sound buckets admit words whose length differs from the transcript token's by at most this. */
const SOUND_LENGTH_SLACK = 1;

/**
 * A split tolerates a spelling slip only when one piece is this short: recognisers break an
 * unfamiliar name at a dictionary word and leave a stray letter or two ("astray a" for
 * "astraea"); two whole words that run together into a near miss are usually just two words.
 */
const SPLIT_STRAY_LENGTH = 2;

/** What a probe is looking for, which decides how its postings are checked. */
const enum Probe {
  /** A deletion variant of one transcript token. */
  Deletion,
  /** A sound bucket of one transcript token. */
  Sound,
  /** Two adjacent phrase tokens run together, spelled as one transcript token. */
  Joined,
  /** Two adjacent phrase tokens run together, sounding like one transcript token. */
  JoinedSound,
  /** A deletion variant of two transcript tokens run together. */
  Split,
}

const soundKey = (code: number, length: number) => mix(code, length);

/** Deletions that made variant `i` of a `length`-letter word, in `deletionHashes` order. */
function deletionsAt(i: number, length: number): number {
  return i === 0 ? 0 : i <= length ? 1 : 2;
}

interface FuzzyTables {
  /** Deletion-variant hash → word id × 4 + deletions made on the word's side. */
  readonly deletions: Postings;
  readonly sounds: Postings;
  readonly joined: Postings;
  readonly joinedSounds: Postings;
  /** Up to two sound codes per word (0: none), packed so a check touches one small array. */
  readonly wordSounds: Uint32Array;
  readonly pairSounds: Uint32Array;
  /** `letterMask` of each word: a cheap filter before the edit distance. */
  readonly wordMasks: Uint32Array;
}

function packSounds(table: Uint32Array, at: number, codes: readonly number[]): void {
  table[at * 2] = codes[0] ?? 0;
  table[at * 2 + 1] = codes[1] ?? 0;
}

/** Whether entry `at` of a packed sound table shares a code with `codes`. */
function soundsMatch(table: Uint32Array, at: number, codes: readonly number[]): boolean {
  const a = table[at * 2]!;
  const b = table[at * 2 + 1]!;
  for (const c of codes) if (c !== 0 && (c === a || c === b)) return true;
  return false;
}

/** Which of a–z occur in `s` (bit 31 for anything else). Each edit changes at most two bits. */
function letterMask(s: string): number {
  let mask = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 97;
    mask |= c >= 0 && c < 26 ? 1 << c : 1 << 31;
  }
  return mask;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

const NO_CANDIDATES: Candidate[] = [];
const NO_CODES: readonly number[] = [];

export class CandidateIndex {
  readonly #ids = new Map<string, number>();
  readonly #words: string[] = [];
  readonly #pairA: number[] = [];
  readonly #pairB: number[] = [];
  readonly #pairIds = new Map<number, number>();
  #fuzzy: FuzzyTables | null = null;
  // Generation stamps dedupe candidates without allocating a Set per lookup.
  #seenWord = new Uint32Array(0);
  #seenPair = new Uint32Array(0);
  #generation = 0;
  /** `letterMask` of the transcript token being looked up by `single`. */
  #textMask = 0;
  readonly #singleCache = new Map<string, Candidate[]>();
  readonly #splitCache = new Map<string, Candidate[]>();

  /** The id of a phrase token, assigned on first sight. */
  intern(word: string): number {
    let id = this.#ids.get(word);
    if (id === undefined) {
      id = this.#words.length;
      this.#ids.set(word, id);
      this.#words.push(word);
    }
    return id;
  }

  /** Records that phrase tokens `a` then `b` are adjacent in some phrase (for "echobell"). */
  addAdjacent(a: number, b: number): void {
    if (!isFuzzyEligible(this.#words[a]!) || !isFuzzyEligible(this.#words[b]!)) return;
    const key = a * 2 ** 26 + b;
    if (this.#pairIds.has(key)) return;
    this.#pairIds.set(key, this.#pairA.length);
    this.#pairA.push(a);
    this.#pairB.push(b);
  }

  /**
   * How much a phrase token counts in a fuzzy score: its length, or 0 for words that only ever
   * match exactly (greetings, short words), so "hey" does not dilute a near miss on the name.
   */
  scoreWeight(id: number): number {
    const word = this.#words[id]!;
    return isFuzzyEligible(word) ? word.length : 0;
  }

  /** Builds the fuzzy tables; without them only exact candidates are produced. */
  buildFuzzy(): void {
    const deletions = new PostingsBuilder();
    const sounds = new PostingsBuilder();
    const wordSounds = new Uint32Array(this.#words.length * 2);
    const wordMasks = new Uint32Array(this.#words.length);
    for (let id = 0; id < this.#words.length; id++) {
      const word = this.#words[id]!;
      wordMasks[id] = letterMask(word);
      if (!isFuzzyEligible(word)) continue;
      const n = deletionHashes(word, editReach(word.length));
      const hashes = deletionScratch;
      for (let i = 0; i < n; i++) deletions.add(hashes[i]!, id * 4 + deletionsAt(i, word.length));
      const codes = computeSoundCodes(word);
      packSounds(wordSounds, id, codes);
      // Filed under neighbouring lengths too, so a lookup is one probe per code.
      for (const code of codes) {
        for (let d = -SOUND_LENGTH_SLACK; d <= SOUND_LENGTH_SLACK; d++) {
          sounds.add(soundKey(code, word.length + d), id);
        }
      }
    }
    const joined = new PostingsBuilder();
    const joinedSounds = new PostingsBuilder();
    const pairSounds = new Uint32Array(this.#pairA.length * 2);
    for (let p = 0; p < this.#pairA.length; p++) {
      const a = this.#words[this.#pairA[p]!]!;
      const b = this.#words[this.#pairB[p]!]!;
      joined.add(concatHash(a, b), p);
      const codes = computeSoundCodes(a + b);
      packSounds(pairSounds, p, codes);
      for (const code of codes) joinedSounds.add(code, p);
    }
    this.#fuzzy = {
      deletions: deletions.build(),
      sounds: sounds.build(),
      joined: joined.build(),
      joinedSounds: joinedSounds.build(),
      wordSounds,
      pairSounds,
      wordMasks,
    };
    this.#seenWord = new Uint32Array(this.#words.length);
    this.#seenPair = new Uint32Array(this.#pairA.length);
  }

  /** Candidates for the transcript token `text` alone. Callers must not modify the array. */
  single(text: string): readonly Candidate[] {
    if (!this.#fuzzy) return this.#lookupSingle(text);
    let found = this.#singleCache.get(text);
    if (!found) {
      found = this.#lookupSingle(text);
      if (this.#singleCache.size >= CANDIDATE_CACHE_LIMIT) this.#singleCache.clear();
      this.#singleCache.set(text, found);
    }
    return found;
  }

  /** Candidates for two adjacent transcript tokens heard as one phrase token ("door man"). */
  split(first: string, second: string): readonly Candidate[] {
    if (!this.#fuzzy) return NO_CANDIDATES;
    const key = `${first} ${second}`;
    let found = this.#splitCache.get(key);
    if (!found) {
      found = this.#lookupSplit(first, second);
      if (this.#splitCache.size >= CANDIDATE_CACHE_LIMIT) this.#splitCache.clear();
      this.#splitCache.set(key, found);
    }
    return found;
  }

  #lookupSingle(text: string): Candidate[] {
    const exactId = this.#ids.get(text);
    const out: Candidate[] =
      exactId === undefined
        ? []
        : [{ ids: [exactId], span: 1, score: 1, exact: true, strict: true }];
    const tables = this.#fuzzy;
    if (!tables || !isFuzzyEligible(text)) return out;

    const gen = this.#nextGeneration();
    if (exactId !== undefined) this.#seenWord[exactId] = gen;
    const codes = soundCodes(text);
    this.#textMask = letterMask(text);
    // Deleting more letters than the token's own reach never finds a word the rules accept
    // (a longer word within reach needs its own deletions, which the index holds).
    const n = deletionHashes(text, editReach(text.length));
    const hashes = deletionScratch;
    for (let i = 0; i < n; i++) {
      const textDeletions = deletionsAt(i, text.length);
      this.#probe(tables, Probe.Deletion, hashes[i]!, text, codes, textDeletions, gen, out);
    }
    for (const code of codes) {
      this.#probe(tables, Probe.Sound, soundKey(code, text.length), text, codes, 0, gen, out);
    }
    this.#probe(tables, Probe.Joined, stringHash(text), text, codes, 0, gen, out);
    for (const code of codes)
      this.#probe(tables, Probe.JoinedSound, code, text, codes, 0, gen, out);
    return out;
  }

  #lookupSplit(first: string, second: string): Candidate[] {
    const tables = this.#fuzzy;
    if (!tables || first.length + second.length < MIN_FUZZY_LENGTH) return NO_CANDIDATES;
    const joined = first + second;
    const out: Candidate[] = [];
    const gen = this.#nextGeneration();
    const stray = Math.min(first.length, second.length) <= SPLIT_STRAY_LENGTH;
    // A join tolerates one edit, so one deletion on each side finds every candidate.
    const n = stray ? deletionHashes(joined, 1) : 1;
    const hashes = stray ? deletionScratch : [stringHash(joined)];
    for (let i = 0; i < n; i++) {
      this.#probe(tables, Probe.Split, hashes[i]!, joined, NO_CODES, 0, gen, out);
    }
    return out.length === 0 ? NO_CANDIDATES : out;
  }

  #probe(
    tables: FuzzyTables,
    kind: Probe,
    hash: number,
    text: string,
    codes: readonly number[],
    textDeletions: number,
    gen: number,
    out: Candidate[],
  ): void {
    const table =
      kind === Probe.Sound
        ? tables.sounds
        : kind === Probe.Joined
          ? tables.joined
          : kind === Probe.JoinedSound
            ? tables.joinedSounds
            : tables.deletions;
    const found = table.find(hash);
    if (found < 0) return;
    if (found < MULTI) {
      this.#visit(tables, kind, found, text, codes, textDeletions, gen, out);
      return;
    }
    const overflow = table.overflow;
    const at = found - MULTI;
    for (let k = at + 1, end = at + 1 + overflow[at]!; k < end; k++) {
      this.#visit(tables, kind, overflow[k]!, text, codes, textDeletions, gen, out);
    }
  }

  /** Checks one posting on the real words and records it if the rules accept it. */
  #visit(
    tables: FuzzyTables,
    kind: Probe,
    value: number,
    text: string,
    codes: readonly number[],
    textDeletions: number,
    gen: number,
    out: Candidate[],
  ): void {
    if (kind === Probe.Joined || kind === Probe.JoinedSound) {
      if (this.#seenPair[value] === gen) return;
      this.#seenPair[value] = gen;
      const a = this.#pairA[value]!;
      const b = this.#pairB[value]!;
      const joined = this.#words[a]! + this.#words[b]!;
      const edits = joinedEdits(joined, text);
      if (edits < 0) return;
      const sound = edits === 1 && soundsMatch(tables.pairSounds, value, codes);
      const fit = joinedFit(joined, text, edits, sound);
      if (fit) out.push(fitCandidate([a, b], 1, fit));
      return;
    }
    const id = kind === Probe.Sound ? value : value >>> 2;
    if (this.#seenWord[id] === gen) return;
    const word = this.#words[id]!;
    if (kind === Probe.Split) {
      if ((value & 3) > 1) return;
      this.#seenWord[id] = gen;
      const edits = joinedEdits(word, text);
      if (edits < 0) return;
      const sound = edits === 1 && soundsMatch(tables.wordSounds, id, soundCodes(text));
      const fit = joinedFit(word, text, edits, sound);
      if (fit) out.push(fitCandidate([id], 2, fit));
      return;
    }
    // Deleting more letters from the transcript token than the word's reach only finds words
    // that are too far away; skip them before paying for an edit distance.
    const reach = editReach(word.length);
    if (kind === Probe.Deletion && textDeletions > reach) return;
    this.#seenWord[id] = gen;
    if (popcount(tables.wordMasks[id]! ^ this.#textMask) > 2 * (reach + 1)) return;
    // A sound bucket is almost always the same sound; a hash collision must not count as one.
    const fit = fuzzyFit(word, text, soundsMatch(tables.wordSounds, id, codes));
    if (fit) out.push(fitCandidate([id], 1, fit));
  }

  #nextGeneration(): number {
    this.#generation = (this.#generation + 1) >>> 0;
    if (this.#generation === 0) {
      this.#seenWord.fill(0);
      this.#seenPair.fill(0);
      this.#generation = 1;
    }
    return this.#generation;
  }
}

function fitCandidate(
  ids: readonly [number] | readonly [number, number],
  span: 1 | 2,
  fit: TokenFit,
): Candidate {
  return { ids, span, score: fit.score, exact: false, strict: fit.strict };
}
