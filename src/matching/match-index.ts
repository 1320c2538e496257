/**
 * The candidate index behind fuzzy matching: given one transcript token (or two run together), which
 * phrase tokens could it be? Built once per registry change; a lookup costs a fixed number of hash
 * probes per transcript token whatever the number of phrases, so matching time does not grow with
 * the registry.
 *
 * Everything is indexed per distinct phrase token (word), not per phrase: "hey" is one word however
 * many phrases start with it. Tables are hash → values postings in typed arrays (match-hash.ts):
 * - spellings: each word's hash (exact lookups, every word), and for words with spelling reach
 *   their one-letter deletions; probed with the transcript token's own deletions (one, or two for a
 *   token of 9+ letters). One deletion on each side finds every word one edit away (substitution,
 *   insertion, deletion, swap) and many two edits away. (Two deletions a side, the 9+ letter
 *   words' full two-edit reach, would be 3.5 million postings at 100 000 phrases instead of one
 *   million.) The rest of that reach is found by sound, below, or, for the second and later
 *   tokens of a phrase, by the matcher checking the few ways on directly (matcher.ts `#guide`);
 *   what is left out is a first token two edits away that does not sound alike, which on its own
 *   scores 1 − 2/length, under the default floor for any word under 17 letters;
 * - sound-alikes: Double Metaphone buckets keyed with the word length, filed under the lengths a
 *   transcript token may have (±1, ±2 for 9+ letter words) so a lookup is one probe per code;
 * - two phrase tokens heard as one ("echobell"): their concatenation, exact and by sound.
 * Every candidate is then checked on the real words by match-rules.ts; what a check needs of a word
 * (letters, length, sound codes) sits in one 16-byte record, so rejecting one costs a cache line.
 */
import {
  concatHash,
  deletionHashes,
  deletionScratch,
  mix,
  PostingsBuilder,
  stringHash,
  Postings,
  type PostingsData,
} from './match-hash.js';
import {
  editReach,
  fuzzyFit,
  isFuzzyEligible,
  isRespellable,
  joinedEdits,
  joinedFit,
  MIN_FUZZY_LENGTH,
  type TokenFit,
} from './match-rules.js';
import { PackedStrings, type PackedStringsData } from './packed-strings.js';
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

/**
 * Sound buckets admit words whose length differs from the transcript token's by at most this, by
 * the word's spelling reach: a 9+ letter word tolerates two dropped or added letters.
 */
function soundSlack(reach: number): number {
  return reach >= 2 ? 2 : 1;
}

/**
 * A split tolerates a spelling slip only when one piece is this short: recognisers break an
 * unfamiliar name at a dictionary word and leave a stray letter or two ("astray a" for
 * "astraea"); two whole words that run together into a near miss are usually just two words.
 */
const SPLIT_STRAY_LENGTH = 2;

/** Transcript tokens this long are probed with two deletions (see the header). */
const TWO_DELETIONS_FROM = 9;

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

/** Deletions that made variant `i` of a `length`-letter token, in `deletionHashes` order. */
function deletionsAt(i: number, length: number): number {
  return i === 0 ? 0 : i <= length ? 1 : 2;
}

/**
 * Per-word record, four Uint32 fields: letter mask and length, two sound codes, and the stamp of the
 * last lookup that saw the word.
 */
const RECORD = 4;
const MASK = 0;
const SOUND_A = 1;
const SOUND_B = 2;
const SEEN = 3;
/** Letters a–z are bits 0–25 of the mask field, anything else bit 26; the length sits above. */
const LETTER_BITS = 0x7ffffff;
const LENGTH_SHIFT = 27;
const MAX_RECORD_LENGTH = 31;

/** Which of a–z occur in `s` (bit 26 for anything else). Each edit changes at most two bits. */
function letterMask(s: string): number {
  let mask = 0;
  for (let i = 0; i < s.length; i++) mask |= 1 << letterIndex(s.charCodeAt(i));
  return mask;
}

/** 0–25 for a–z, 26 for anything else. */
function letterIndex(code: number): number {
  const c = code - 97;
  return c >= 0 && c < 26 ? c : 26;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Whether sound codes `a`, `b` (0: none) share one with `codes`. */
function soundsMatch(a: number, b: number, codes: readonly number[]): boolean {
  for (const c of codes) if (c !== 0 && (c === a || c === b)) return true;
  return false;
}

interface Tables {
  /** Spelling hash → word id × 2 + letters deleted on the word's side (0 or 1). */
  readonly spellings: Postings;
  readonly sounds: Postings | null;
  readonly joined: Postings | null;
  readonly joinedSounds: Postings | null;
  /** Up to two sound codes per adjacent pair (0: none). */
  readonly pairSounds: Uint32Array;
}

/**
 * A built index as plain data and typed arrays, to post to another thread (see
 * `CandidateIndex.from`). The lookup caches are not part of it: each thread fills its own.
 */
export interface CandidateIndexData {
  readonly fuzzy: boolean;
  readonly words: PackedStringsData;
  readonly pairWords: Uint32Array;
  readonly records: Uint32Array;
  readonly weights: Uint16Array;
  readonly spellings: PostingsData;
  readonly sounds: PostingsData | null;
  readonly joined: PostingsData | null;
  readonly joinedSounds: PostingsData | null;
  readonly pairSounds: Uint32Array;
}

const NO_CANDIDATES: Candidate[] = [];
const NO_CODES: readonly number[] = [];

export class CandidateIndex {
  /** Word → id while the index is built; dropped by `build`. */
  #ids: Map<string, number> | null = new Map();
  /** Words by id as `intern` numbered them; dropped by `build`. */
  #interned: string[] = [];
  /** Words by their final id, packed (see packed-strings.ts); set by `build`. */
  #words = new PackedStrings([]);
  #pairKeys: Map<number, number> | null = new Map();
  #pairs: number[] = [];
  /** Phrase tokens of pair p are words `pairWords[2p]`, `pairWords[2p + 1]`. */
  #pairWords: Uint32Array = new Uint32Array(0);
  #tables: Tables | null = null;
  #fuzzy = false;
  #records: Uint32Array = new Uint32Array(0);
  /** Score weight of each word (see `scoreWeight`). */
  #weights: Uint16Array = new Uint16Array(0);
  // Generation stamps dedupe candidates without allocating a Set per lookup.
  #seenPair = new Uint32Array(0);
  #generation = 0;
  /** `letterMask` and letter counts of the transcript token being looked up by `single`. */
  #textMask = 0;
  readonly #textCounts = new Int32Array(27);
  readonly #singleCache = new Map<string, Candidate[]>();
  readonly #respellCache = new Map<string, Candidate[]>();
  readonly #exactLists = new Map<number, Candidate[]>();
  /** First token → second token → candidates (no key string built per lookup). */
  readonly #splitCache = new Map<string, Map<string, Candidate[]>>();
  #splitCacheSize = 0;

  /** The id of a phrase token, assigned on first sight. Only before `build`. */
  intern(word: string): number {
    const ids = this.#building();
    let id = ids.get(word);
    if (id === undefined) {
      id = this.#interned.length;
      ids.set(word, id);
      this.#interned.push(word);
    }
    return id;
  }

  /** Records that phrase tokens `a` then `b` are adjacent in some phrase (for "echobell"). */
  addAdjacent(a: number, b: number): void {
    this.#building();
    if (!isFuzzyEligible(this.#interned[a]!) || !isFuzzyEligible(this.#interned[b]!)) return;
    const key = a * 2 ** 26 + b;
    if (this.#pairKeys!.has(key)) return;
    this.#pairKeys!.set(key, this.#pairs.length / 2);
    this.#pairs.push(a, b);
  }

  /**
   * How much a phrase token counts in a fuzzy score: its length, or 0 for words that only ever
   * match exactly (greetings, short words), so "hey" does not dilute a near miss on the name.
   */
  scoreWeight(id: number): number {
    return this.#weights[id]!;
  }

  /** The built index's arrays themselves (not copies): post them with their buffers transferred. */
  toData(): CandidateIndexData {
    const t = this.#tables;
    if (!t) throw new Error('the candidate index is not built yet');
    return {
      fuzzy: this.#fuzzy,
      words: this.#words.toData(),
      pairWords: this.#pairWords,
      records: this.#records,
      weights: this.#weights,
      spellings: t.spellings.toData(),
      sounds: t.sounds?.toData() ?? null,
      joined: t.joined?.toData() ?? null,
      joinedSounds: t.joinedSounds?.toData() ?? null,
      pairSounds: t.pairSounds,
    };
  }

  /** The index `toData` gave, on this thread, without building it again. */
  static from(data: CandidateIndexData): CandidateIndex {
    const index = new CandidateIndex();
    index.#tables = {
      spellings: Postings.from(data.spellings),
      sounds: data.sounds && Postings.from(data.sounds),
      joined: data.joined && Postings.from(data.joined),
      joinedSounds: data.joinedSounds && Postings.from(data.joinedSounds),
      pairSounds: data.pairSounds,
    };
    index.#fuzzy = data.fuzzy;
    index.#words = PackedStrings.from(data.words);
    index.#pairWords = data.pairWords;
    index.#records = data.records;
    index.#weights = data.weights;
    index.#seenPair = new Uint32Array(data.pairWords.length / 2);
    index.#ids = null;
    index.#pairKeys = null;
    return index;
  }

  /**
   * Builds the tables, with (`fuzzy`) or without the fuzzy ones. Once, after every phrase.
   *
   * Words are numbered afresh here, grouped by sound and then length, so a sound bucket's words
   * sit side by side in the records: a lookup reads a few cache lines instead of one per word,
   * which at 100 000 phrases is most of a misspelled token's cost. Returns the new id of each
   * id `intern` gave.
   */
  build(fuzzy: boolean): Uint32Array {
    this.#building();
    const interned = this.#interned;
    const count = interned.length;
    // Two sound codes per interned word (0: none), and how many postings the tables will hold.
    const soundsOf = new Uint32Array(count * 2);
    let spellingCount = count;
    let soundCount = 0;
    for (let id = 0; fuzzy && id < count; id++) {
      const word = interned[id]!;
      if (!isFuzzyEligible(word)) continue;
      const codes = computeSoundCodes(word);
      soundsOf[id * 2] = codes[0] ?? 0;
      soundsOf[id * 2 + 1] = codes[1] ?? 0;
      const reach = editReach(word.length);
      if (reach > 0) spellingCount += word.length;
      soundCount += codes.length * (2 * soundSlack(reach) + 1);
    }
    const order = fuzzy ? bySoundThenLength(soundsOf, interned) : identity(count);
    const remap = new Uint32Array(count);
    for (let id = 0; id < count; id++) remap[order[id]!] = id;
    const words = Array.from(order, (old) => interned[old]!);

    const spellings = new PostingsBuilder(spellingCount);
    const sounds = new PostingsBuilder(soundCount);
    const records = new Uint32Array(count * RECORD);
    const weights = new Uint16Array(count);
    for (let id = 0; id < count; id++) {
      const word = words[id]!;
      const eligible = isFuzzyEligible(word);
      weights[id] = eligible ? Math.min(word.length, 0xffff) : 0;
      spellings.add(stringHash(word), id * 2);
      if (!fuzzy || !eligible) continue;
      // Length 0 in the record marks a word that never matches fuzzily.
      const length = Math.min(word.length, MAX_RECORD_LENGTH);
      records[id * RECORD + MASK] = (letterMask(word) | (length << LENGTH_SHIFT)) >>> 0;
      const reach = editReach(word.length);
      if (reach > 0) {
        const n = deletionHashes(word, 1);
        const hashes = deletionScratch;
        // Deleting either of a doubled letter gives the same variant: file it once.
        for (let i = 1; i < n; i++) {
          if (i > 1 && word.charCodeAt(i - 1) === word.charCodeAt(i - 2)) continue;
          spellings.add(hashes[i]!, id * 2 + 1);
        }
      }
      const soundA = soundsOf[order[id]! * 2]!;
      const soundB = soundsOf[order[id]! * 2 + 1]!;
      records[id * RECORD + SOUND_A] = soundA;
      records[id * RECORD + SOUND_B] = soundB;
      // Filed under neighbouring lengths too, so a lookup is one probe per code.
      const slack = soundSlack(reach);
      for (const code of [soundA, soundB]) {
        if (code === 0) continue;
        for (let d = -slack; d <= slack; d++) sounds.add(soundKey(code, word.length + d), id);
      }
    }

    const pairCount = this.#pairs.length / 2;
    const pairWords = Uint32Array.from(this.#pairs, (old) => remap[old]!);
    const joined = new PostingsBuilder();
    const joinedSounds = new PostingsBuilder();
    const pairSounds = new Uint32Array(pairCount * 2);
    for (let p = 0; fuzzy && p < pairCount; p++) {
      const a = words[pairWords[p * 2]!]!;
      const b = words[pairWords[p * 2 + 1]!]!;
      joined.add(concatHash(a, b), p);
      const codes = computeSoundCodes(a + b);
      pairSounds[p * 2] = codes[0] ?? 0;
      pairSounds[p * 2 + 1] = codes[1] ?? 0;
      for (const code of codes) joinedSounds.add(code, p);
    }

    this.#tables = {
      spellings: spellings.build(),
      // Most sound probes find something, so a filter in front would only cost a cache line.
      sounds: fuzzy ? sounds.build({ filter: false }) : null,
      joined: fuzzy ? joined.build() : null,
      joinedSounds: fuzzy ? joinedSounds.build() : null,
      pairSounds,
    };
    this.#fuzzy = fuzzy;
    this.#records = records;
    this.#weights = weights;
    this.#pairWords = pairWords;
    this.#seenPair = new Uint32Array(pairCount);
    this.#words = new PackedStrings(words);
    this.#interned = [];
    this.#ids = null;
    this.#pairKeys = null;
    this.#pairs = [];
    return remap;
  }

  /** Candidates for the transcript token `text` alone. Callers must not modify the array. */
  single(text: string): readonly Candidate[] {
    if (!this.#fuzzy) return this.#exactOnly(text);
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
    if (!this.#fuzzy || first.length + second.length < MIN_FUZZY_LENGTH) return NO_CANDIDATES;
    let seconds = this.#splitCache.get(first);
    let found = seconds?.get(second);
    if (!found) {
      found = this.#lookupSplit(first, second);
      if (this.#splitCacheSize >= CANDIDATE_CACHE_LIMIT) {
        this.#splitCache.clear();
        this.#splitCacheSize = 0;
        seconds = undefined;
      }
      if (!seconds) this.#splitCache.set(first, (seconds = new Map()));
      seconds.set(second, found);
      this.#splitCacheSize++;
    }
    return found;
  }

  /**
   * Candidates for a transcript token too short for `single` to bend ("jon") that may still be a
   * respelling of a phrase token ("john"), found by sound. Only asked once a phrase has started
   * (matcher.ts `#guide`): at every position it would cost cold lookups a tenth more.
   */
  respellings(text: string): readonly Candidate[] {
    const tables = this.#tables;
    if (!tables || !this.#fuzzy || isFuzzyEligible(text) || !isRespellable(text)) {
      return NO_CANDIDATES;
    }
    let found = this.#respellCache.get(text);
    if (!found) {
      found = [];
      const gen = this.#nextGeneration();
      const codes = soundCodes(text);
      this.#setText(text);
      for (const code of codes) {
        const key = soundKey(code, text.length);
        this.#probe(tables.sounds!, Probe.Sound, key, text, codes, 0, gen, found);
      }
      if (found.length === 0) found = NO_CANDIDATES;
      if (this.#respellCache.size >= CANDIDATE_CACHE_LIMIT) this.#respellCache.clear();
      this.#respellCache.set(text, found);
    }
    return found;
  }

  /**
   * Phrase token `id` as a near miss for the transcript token `text`, checked directly rather than
   * found through the tables: for a search that has already matched the start of a phrase and has
   * only a few ways on. Null when the rules do not accept it (or the two are identical).
   */
  nearMiss(id: number, text: string): Candidate | null {
    // Shorter tokens than fuzzy matching takes may still be respellings ("jon" for "john").
    if (!this.#fuzzy || !isRespellable(text)) return null;
    const at = id * RECORD;
    const maskField = this.#records[at + MASK]!;
    if (maskField === 0) return null;
    const reach = editReach(maskField >>> LENGTH_SHIFT);
    if (popcount((maskField ^ letterMask(text)) & LETTER_BITS) > 2 * (reach + 1)) return null;
    const codes = soundCodes(text);
    const sound = soundsMatch(this.#records[at + SOUND_A]!, this.#records[at + SOUND_B]!, codes);
    const fit = fuzzyFit(this.#words.get(id), text, sound);
    return fit ? fitCandidate([id], 1, fit) : null;
  }

  #building(): Map<string, number> {
    if (!this.#ids) throw new Error('the candidate index is already built');
    return this.#ids;
  }

  /**
   * Without fuzzy tables (the cancel phrases, ECHONET_MATCH_FUZZY=false) a token is either a word
   * or nothing; the one-candidate list of each word is made once, since every utterance asks.
   */
  #exactOnly(text: string): readonly Candidate[] {
    const tables = this.#tables;
    if (!tables) return NO_CANDIDATES;
    const id = this.#exactId(tables, text, stringHash(text));
    if (id === -1) return NO_CANDIDATES;
    let found = this.#exactLists.get(id);
    if (!found) {
      found = [{ ids: [id], span: 1, score: 1, exact: true, strict: true }];
      this.#exactLists.set(id, found);
    }
    return found;
  }

  /** The id of the word spelled exactly `text` (whose hash is `hash`), or -1. */
  #exactId(tables: Tables, text: string, hash: number): number {
    const table = tables.spellings;
    for (let e = table.first(hash); e !== -1; e = table.next(e, hash)) {
      const value = table.value(e);
      if ((value & 1) === 0 && this.#words.equals(value >>> 1, text)) return value >>> 1;
    }
    return -1;
  }

  #lookupSingle(text: string): Candidate[] {
    const tables = this.#tables;
    if (!tables) return NO_CANDIDATES;
    const eligible = this.#fuzzy && isFuzzyEligible(text);
    // Deleting more letters than the token's own reach never finds a word the rules accept
    // (a longer word within reach needs its own deletions, which the index holds).
    const n = eligible
      ? deletionHashes(text, text.length >= TWO_DELETIONS_FROM ? 2 : editReach(text.length))
      : 1;
    const hashes = eligible ? deletionScratch : [stringHash(text)];
    const exactId = this.#exactId(tables, text, hashes[0]!);
    const out: Candidate[] =
      exactId === -1 ? [] : [{ ids: [exactId], span: 1, score: 1, exact: true, strict: true }];
    if (!eligible) return out;

    const gen = this.#nextGeneration();
    if (exactId !== -1) this.#records[exactId * RECORD + SEEN] = gen;
    const codes = soundCodes(text);
    this.#setText(text);
    for (let i = 0; i < n; i++) {
      const textDeletions = deletionsAt(i, text.length);
      this.#probe(
        tables.spellings,
        Probe.Deletion,
        hashes[i]!,
        text,
        codes,
        textDeletions,
        gen,
        out,
      );
    }
    for (const code of codes) {
      this.#probe(
        tables.sounds!,
        Probe.Sound,
        soundKey(code, text.length),
        text,
        codes,
        0,
        gen,
        out,
      );
      // A long heard word may respell a name two letters shorter, past the buckets' length slack
      // ("catherine" for "kathryn"); long tokens are few, so the extra probe costs little.
      if (text.length >= TWO_DELETIONS_FROM) {
        const key = soundKey(code, text.length - 2);
        this.#probe(tables.sounds!, Probe.Sound, key, text, codes, 0, gen, out);
      }
    }
    this.#probe(tables.joined!, Probe.Joined, stringHash(text), text, codes, 0, gen, out);
    for (const code of codes) {
      this.#probe(tables.joinedSounds!, Probe.JoinedSound, code, text, codes, 0, gen, out);
    }
    return out;
  }

  #lookupSplit(first: string, second: string): Candidate[] {
    const tables = this.#tables!;
    const joined = first + second;
    const out: Candidate[] = [];
    const gen = this.#nextGeneration();
    const stray = Math.min(first.length, second.length) <= SPLIT_STRAY_LENGTH;
    // A join tolerates one edit, so one deletion on each side finds every candidate.
    const n = stray ? deletionHashes(joined, 1) : 1;
    const hashes = stray ? deletionScratch : [stringHash(joined)];
    for (let i = 0; i < n; i++) {
      this.#probe(tables.spellings, Probe.Split, hashes[i]!, joined, NO_CODES, 0, gen, out);
    }
    return out.length === 0 ? NO_CANDIDATES : out;
  }

  #probe(
    table: Postings,
    kind: Probe,
    hash: number,
    text: string,
    codes: readonly number[],
    textDeletions: number,
    gen: number,
    out: Candidate[],
  ): void {
    for (let e = table.first(hash); e !== -1; e = table.next(e, hash)) {
      this.#visit(kind, table.value(e), text, codes, textDeletions, gen, out);
    }
  }

  /** Checks one posting on the real words and records it if the rules accept it. */
  #visit(
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
      const a = this.#pairWords[value * 2]!;
      const b = this.#pairWords[value * 2 + 1]!;
      const joined = this.#words.get(a) + this.#words.get(b);
      const edits = joinedEdits(joined, text);
      if (edits < 0) return;
      const pairSounds = this.#tables!.pairSounds;
      const sound =
        edits === 1 && soundsMatch(pairSounds[value * 2]!, pairSounds[value * 2 + 1]!, codes);
      const fit = joinedFit(joined, text, edits, sound);
      if (fit) out.push(fitCandidate([a, b], 1, fit));
      return;
    }
    const records = this.#records;
    const id = kind === Probe.Sound ? value : value >>> 1;
    const at = id * RECORD;
    if (records[at + SEEN] === gen) return;
    const maskField = records[at + MASK]!;
    // Words that only match exactly are in the spelling table for exact lookups alone.
    if (maskField === 0) return;
    if (kind === Probe.Split) {
      records[at + SEEN] = gen;
      const word = this.#words.get(id);
      const edits = joinedEdits(word, text);
      if (edits < 0) return;
      const sound =
        edits === 1 &&
        soundsMatch(records[at + SOUND_A]!, records[at + SOUND_B]!, soundCodes(text));
      const fit = joinedFit(word, text, edits, sound);
      if (fit) out.push(fitCandidate([id], 2, fit));
      return;
    }
    // Deleting more letters from the transcript token than the word's reach only finds words
    // that are too far away; skip them before paying for an edit distance.
    const reach = editReach(maskField >>> LENGTH_SHIFT);
    if (kind === Probe.Deletion && textDeletions > reach) return;
    records[at + SEEN] = gen;
    // A sound bucket is almost always the same sound; a hash collision must not count as one.
    const sound = soundsMatch(records[at + SOUND_A]!, records[at + SOUND_B]!, codes);
    // The most edits `fuzzyFit` accepts here; cheap lower bounds reject most words before it.
    const most = sound ? reach + 1 : reach;
    // For a long heard word, a respelling of a shorter name may be a letter further (see above).
    const far = sound && text.length >= TWO_DELETIONS_FROM ? most + 1 : most;
    if (popcount((maskField ^ this.#textMask) & LETTER_BITS) > 2 * far) return;
    if (Math.abs(this.#words.length(id) - text.length) > most) return;
    const word = this.#words.get(id);
    if (this.#countBound(word, text) > far) return;
    const fit = fuzzyFit(word, text, sound);
    if (fit) out.push(fitCandidate([id], 1, fit));
  }

  #setText(text: string): void {
    this.#textMask = letterMask(text);
    const counts = this.#textCounts;
    counts.fill(0);
    for (let i = 0; i < text.length; i++) counts[letterIndex(text.charCodeAt(i))]!++;
  }

  /**
   * A lower bound on the edit distance between `word` and the text `#setText` set: half the letter
   * counts that differ (a substitution changes two counts, an insertion or deletion one, a swap
   * none).
   */
  #countBound(word: string, text: string): number {
    const counts = this.#textCounts;
    let differ = text.length;
    for (let i = 0; i < word.length; i++) {
      const c = letterIndex(word.charCodeAt(i));
      differ += counts[c]! > 0 ? -1 : 1;
      counts[c]!--;
    }
    for (let i = 0; i < word.length; i++) counts[letterIndex(word.charCodeAt(i))]!++;
    return (differ + 1) >> 1;
  }

  #nextGeneration(): number {
    this.#generation = (this.#generation + 1) >>> 0;
    if (this.#generation === 0) {
      for (let at = SEEN; at < this.#records.length; at += RECORD) this.#records[at] = 0;
      this.#seenPair.fill(0);
      this.#generation = 1;
    }
    return this.#generation;
  }
}

/**
 * Word ids ordered by first sound code, then length, then id: words without sound codes (exact-only
 * ones) last. The order only decides which words sit side by side in memory, never a result. Sorted
 * as 64-bit keys (code, length, id) natively, not with a comparator: at 100 000 words that is a
 * tenth of the time.
 */
function bySoundThenLength(soundsOf: Uint32Array, words: readonly string[]): Uint32Array {
  const count = words.length;
  if (count >= 2 ** 24) {
    const key = (id: number) => soundsOf[id * 2] || 2 ** 32;
    const order = Array.from({ length: count }, (_, id) => id);
    order.sort((a, b) => key(a) - key(b) || words[a]!.length - words[b]!.length || a - b);
    return Uint32Array.from(order);
  }
  const keys = new BigUint64Array(count);
  // Little-endian halves of each key: low word (length << 24 | id), high word the code.
  const halves = new Uint32Array(keys.buffer);
  for (let id = 0; id < count; id++) {
    halves[id * 2] = ((Math.min(words[id]!.length, 255) << 24) | id) >>> 0;
    halves[id * 2 + 1] = soundsOf[id * 2] || 0xffffffff;
  }
  keys.sort();
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = halves[i * 2]! & 0xffffff;
  return order;
}

function identity(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}

function fitCandidate(
  ids: readonly [number] | readonly [number, number],
  span: 1 | 2,
  fit: TokenFit,
): Candidate {
  return { ids, span, score: fit.score, exact: false, strict: fit.strict };
}
