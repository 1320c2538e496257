/**
 * Wake-phrase matching. `compileMatcher` builds an index once per registry change: a trie over
 * phrase-token ids (match-trie.ts) plus the candidate index (match-index.ts) that turns each
 * transcript token into the phrase tokens it could be; what counts as a near miss is decided in
 * match-rules.ts. `find` walks the trie from each transcript position in order, so its cost depends
 * on the transcript, not on how many phrases are registered.
 *
 * Ranking (deterministic, independent of registration order): earliest start, then exact over
 * fuzzy, then the longer phrase, then the higher score, then phrase text and target.
 */
import { MessageChannel } from 'node:worker_threads';
import { CandidateIndex, type Candidate, type CandidateIndexData } from './match-index.js';
import { LEAD_WORDS } from './match-rules.js';
import { PhraseTrie, ROOT, type PhraseTrieData } from './match-trie.js';
import { normalizePhrase, type Utterance } from './normalize.js';
import { PackedStrings, type PackedStringsData } from './packed-strings.js';

/**
 * What a registered entry is: a wake phrase, matched anywhere in an utterance, or a target's name,
 * which wakes it only at the start ("Astraea, who's at the door?", see `FindOptions.names`).
 */
export type PhraseKind = 'phrase' | 'name';

export interface PhraseOwner {
  readonly phrase: string;
  readonly target: string;
  /** Default `phrase`. */
  readonly kind?: PhraseKind;
}

/** What one lookup allows beyond the registered phrases. */
export interface FindOptions {
  /**
   * Whether targets' names wake them. A name counts only at the start of the utterance, after at
   * most some greetings and hesitations (`LEAD_WORDS`): "Peter is at the door" said in passing
   * would otherwise wake Peter. Default false.
   */
  readonly names?: boolean;
}

export interface MatchOptions {
  /** Allow near-miss tokens (misheard names). */
  readonly fuzzy: boolean;
  /** Fuzzy matches scoring below this (0–1) are ignored. */
  readonly minScore: number;
}

/**
 * Fuzzy on. The score floor is tuned on the 367 wake lines of test/fixtures/utterances.jsonl: at
 * 0.88 precision is 1.000 and recall 0.958; at 0.85 precision drops to 0.989 ("hey doormat" wakes
 * "hey doorman"), at 0.9 recall drops to 0.943. On the 99 wake lines of the held-out
 * test/fixtures/utterances.heldout.jsonl (never tuned on) it gives precision 0.981 and recall
 * 0.944, the same anywhere from 0.85 to 0.9.
 */
export const DEFAULT_MATCH_OPTIONS: MatchOptions = Object.freeze({ fuzzy: true, minScore: 0.88 });

export interface Match {
  /** The phrase as registered. */
  readonly phrase: string;
  readonly target: string;
  /** The slice of the original text that matched. */
  readonly matchedText: string;
  /** UTF-16 span of the match in the original text, end exclusive. */
  readonly start: number;
  readonly end: number;
  /** 1 for an exact match, lower for fuzzy ones. */
  readonly score: number;
  readonly exact: boolean;
  /** Whether `phrase` is a wake phrase or the target's name. */
  readonly kind: PhraseKind;
}

export interface PhraseMatcher {
  /** The best match in the utterance, or null. Deterministic for any input and registration order. */
  find(utterance: Utterance, options?: FindOptions): Match | null;
  /**
   * For an utterance `find` found nothing in: the phrase it came nearest to (below the score floor,
   * or level with another target's), or null. Slower than `find`; for the decision log, not routing.
   */
  nearMiss?(utterance: Utterance, options?: FindOptions): Match | null;
  /** How many wake phrases it holds (targets' names not counted: they are one per target). */
  readonly size: number;
}

/**
 * A compiled matcher as plain data and typed arrays, which is all that crosses between threads: the
 * routing-table worker builds one and posts it with the arrays' buffers transferred, and the main
 * thread rebuilds the objects around those arrays (`CompiledMatcher.from`) in a millisecond or two
 * instead of compiling again. Lookup caches and the search scratch never cross; each thread's
 * matcher makes its own.
 */
export interface MatcherData {
  readonly size: number;
  readonly minScore: number;
  readonly trie: PhraseTrieData;
  readonly index: CandidateIndexData;
  readonly table: PhraseTableData;
}

interface PhraseTableData {
  readonly phrases: PackedStringsData;
  readonly targetOf: Uint32Array;
  readonly targetNames: readonly string[];
  readonly tokenCounts: Uint32Array;
  readonly normLengths: Uint32Array;
  readonly names: Uint8Array;
}

/**
 * The registered phrases, struct-of-arrays: at 100 000 phrases an object per phrase (with its
 * normalised text) costs more than the whole fuzzy index. Phrase texts are packed (a match decodes
 * one); the normalised text is only needed to break exact ties, so it is recomputed then.
 */
class PhraseTable {
  /** Phrase texts while the table is filled; packed by `seal`. */
  #pending: string[] | null = [];
  #phrases = new PackedStrings([]);
  /** Each phrase's target, as an index into `#targetNames` (a few thousand names, not 100 000). */
  readonly #targetOf: Uint32Array;
  readonly #targetNames: string[];
  readonly #targetIds = new Map<string, number>();
  readonly tokenCounts: Uint32Array;
  readonly normLengths: Uint32Array;
  /** 1 where the entry is a target's name (`PhraseKind`), 0 for a wake phrase. */
  readonly names: Uint8Array;

  constructor(capacity: number, sealed?: PhraseTableData) {
    if (sealed) {
      this.#pending = null;
      this.#phrases = PackedStrings.from(sealed.phrases);
      this.#targetOf = sealed.targetOf;
      this.#targetNames = [...sealed.targetNames];
      this.tokenCounts = sealed.tokenCounts;
      this.normLengths = sealed.normLengths;
      this.names = sealed.names;
      return;
    }
    this.#targetOf = new Uint32Array(capacity);
    this.#targetNames = [];
    this.tokenCounts = new Uint32Array(capacity);
    this.normLengths = new Uint32Array(capacity);
    this.names = new Uint8Array(capacity);
  }

  /** A sealed table's arrays themselves (not copies), for `MatcherData`. */
  toData(): PhraseTableData {
    return {
      phrases: this.#phrases.toData(),
      targetOf: this.#targetOf,
      targetNames: this.#targetNames,
      tokenCounts: this.tokenCounts,
      normLengths: this.normLengths,
      names: this.names,
    };
  }

  add(phrase: string, target: string, norm: string, tokenCount: number, name: boolean): number {
    const pending = this.#pending!;
    const id = pending.length;
    pending.push(phrase);
    let t = this.#targetIds.get(target);
    if (t === undefined) {
      t = this.#targetNames.push(target) - 1;
      this.#targetIds.set(target, t);
    }
    this.#targetOf[id] = t;
    this.tokenCounts[id] = tokenCount;
    this.normLengths[id] = norm.length;
    this.names[id] = name ? 1 : 0;
    return id;
  }

  /** Packs the phrase texts once every phrase is in. */
  seal(): void {
    this.#phrases = new PackedStrings(this.#pending!);
    this.#pending = null;
    this.#targetIds.clear();
  }

  phrase(id: number): string {
    return this.#phrases.get(id);
  }

  target(id: number): string {
    return this.#targetNames[this.#targetOf[id]!]!;
  }

  sameTarget(a: number, b: number): boolean {
    return this.#targetOf[a] === this.#targetOf[b];
  }

  norm(id: number): string {
    return normalizePhrase(this.phrase(id));
  }
}

/** A complete phrase found from one start position, before ranking. */
interface Found {
  readonly phrase: number;
  readonly endToken: number;
  readonly score: number;
  readonly exact: boolean;
}

/**
 * Past the first token of a phrase, a trie node with at most this many children has each of them
 * checked against the next transcript token directly (see `Search.#guide`).
 */
const GUIDE_LIMIT = 8;

/** Two scores this close are a tie (guards float noise from weighting). */
const SCORE_EPSILON = 1e-9;

export function compileMatcher(
  phrases: readonly PhraseOwner[],
  options: MatchOptions = DEFAULT_MATCH_OPTIONS,
): CompiledMatcher {
  const index = new CandidateIndex();
  const trie = new PhraseTrie();
  const table = new PhraseTable(phrases.length);
  // Every phrase's word ids in one array (phrase p is ids[starts[p] .. starts[p + 1])), not an
  // array per phrase: 100 000 small arrays are garbage the build then has to collect.
  let ids = new Uint32Array(phrases.length * 3 + 16);
  const starts = new Uint32Array(phrases.length + 1);
  let used = 0;
  let added = 0;
  for (const { phrase, target, kind } of phrases) {
    const norm = normalizePhrase(phrase);
    if (norm === '') continue;
    const words = norm.split(' ');
    if (used + words.length > ids.length) {
      const grown = new Uint32Array((used + words.length) * 2);
      grown.set(ids);
      ids = grown;
    }
    for (let k = 0; k < words.length; k++) {
      ids[used + k] = index.intern(words[k]!);
      if (k > 0) index.addAdjacent(ids[used + k - 1]!, ids[used + k]!);
    }
    starts[added++] = used;
    used += words.length;
    table.add(phrase, target, norm, words.length, kind === 'name');
  }
  starts[added] = used;
  // The index numbers its words afresh once it has seen them all (see `CandidateIndex.build`).
  const remap = index.build(options.fuzzy);
  for (let i = 0; i < used; i++) ids[i] = remap[ids[i]!]!;
  for (let p = 0; p < added; p++) trie.insert(ids.subarray(starts[p], starts[p + 1]), p);
  trie.compact();
  table.seal();
  const names = phrases.reduce((n, p) => (p.kind === 'name' ? n + 1 : n), 0);
  return new CompiledMatcher(phrases.length - names, options.minScore, trie, index, table);
}

export class CompiledMatcher implements PhraseMatcher {
  readonly size: number;
  readonly #minScore: number;
  readonly #trie: PhraseTrie;
  readonly #index: CandidateIndex;
  readonly #table: PhraseTable;
  /**
   * One search per matcher, reused for every utterance so a lookup allocates little. Safe because
   * `find` is synchronous and a matcher lives on one thread; another thread gets its own matcher
   * (and search) through `toData` / `from`.
   */
  readonly #search: Search;
  /** The near-miss search (no score floor), made on first use so `find` never pays for it. */
  #nearSearch: Search | undefined;
  #released = false;

  constructor(
    size: number,
    minScore: number,
    trie: PhraseTrie,
    index: CandidateIndex,
    table: PhraseTable,
  ) {
    this.size = size;
    this.#minScore = minScore;
    this.#trie = trie;
    this.#index = index;
    this.#table = table;
    this.#search = new Search(trie, index, table, minScore);
  }

  find(utterance: Utterance, options?: FindOptions): Match | null {
    if (this.#released) throw new Error('this phrase matcher was released');
    return findBest(utterance, this.#search, this.#table, options?.names === true);
  }

  nearMiss(utterance: Utterance, options?: FindOptions): Match | null {
    if (this.#released) throw new Error('this phrase matcher was released');
    this.#nearSearch ??= new Search(this.#trie, this.#index, this.#table, 0);
    return findNearest(utterance, this.#nearSearch, this.#table, options?.names === true);
  }

  /**
   * Frees the matcher's arrays now rather than at the next garbage collection. Once a table is
   * swapped out nothing on this thread allocates enough to trigger one soon, so without this each
   * replaced 100 000-phrase table (about 18 MB outside the JS heap) would stay resident until V8's
   * external-memory limit forced a collection. The arrays are moved into a message that is never
   * delivered (both ports closed), which drops them. `find` throws afterwards.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(null, transferList(this.toData()));
    port1.close();
    port2.close();
  }

  /**
   * The matcher as data whose arrays are this matcher's own: post it with `transferList` and do
   * not use this matcher afterwards (its buffers are then detached).
   */
  toData(): MatcherData {
    return {
      size: this.size,
      minScore: this.#minScore,
      trie: this.#trie.toData(),
      index: this.#index.toData(),
      table: this.#table.toData(),
    };
  }

  /** The matcher `toData` gave, rebuilt around the same arrays (no compiling). */
  static from(data: MatcherData): CompiledMatcher {
    return new CompiledMatcher(
      data.size,
      data.minScore,
      PhraseTrie.from(data.trie),
      CandidateIndex.from(data.index),
      new PhraseTable(0, data.table),
    );
  }
}

/** Every ArrayBuffer under `value` (typed arrays in plain objects), for a postMessage transfer list. */
export function transferList(value: unknown): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  const visit = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) buffers.add(v.buffer);
      return;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) visit(child);
  };
  visit(value);
  return [...buffers];
}

function findBest(
  utterance: Utterance,
  search: Search,
  table: PhraseTable,
  names: boolean,
): Match | null {
  const { tokens } = utterance;
  search.reset(tokens);
  const lastNameStart = names ? leadLength(tokens) : -1;
  for (let i = 0; i < tokens.length; i++) {
    const best = pickBest(search.from(i, i <= lastNameStart), table);
    if (best) return matchOf(best, i, utterance, table);
  }
  return null;
}

/**
 * How many tokens open the utterance that may come before a name (`LEAD_WORDS`): a name may start
 * at any token up to and including this index.
 */
function leadLength(tokens: Utterance['tokens']): number {
  let n = 0;
  while (n < tokens.length && LEAD_WORDS.has(tokens[n]!.norm)) n++;
  return n;
}

/**
 * A phrase found from token `startToken`, as the match callers see. A name's match reaches back
 * to the start of the utterance, over the greeting before it, so stripping it leaves the request
 * ("Hey Astraea, who's there?" forwards "who's there?", as the phrase "hey astraea" would).
 */
function matchOf(found: Found, startToken: number, u: Utterance, table: PhraseTable): Match {
  const name = table.names[found.phrase] === 1;
  const start = u.tokens[name ? 0 : startToken]!.start;
  const end = u.tokens[found.endToken]!.end;
  return {
    phrase: table.phrase(found.phrase),
    target: table.target(found.phrase),
    matchedText: u.text.slice(start, end),
    start,
    end,
    score: found.score,
    exact: found.exact,
    kind: name ? 'name' : 'phrase',
  };
}

/** The highest-scoring phrase found from any start (ranked as `find` ranks ties), or null. */
function findNearest(
  utterance: Utterance,
  search: Search,
  table: PhraseTable,
  names: boolean,
): Match | null {
  const { tokens } = utterance;
  search.reset(tokens);
  const lastNameStart = names ? leadLength(tokens) : -1;
  let best: Found | null = null;
  let bestStart = 0;
  for (let i = 0; i < tokens.length; i++) {
    for (const f of search.from(i, i <= lastNameStart)) {
      const higher = best === null || f.score > best.score + SCORE_EPSILON;
      const level = best !== null && Math.abs(f.score - best.score) < SCORE_EPSILON;
      if (higher || (level && compareFound(f, best!, table) < 0)) {
        best = f;
        bestStart = i;
      }
    }
  }
  return best === null ? null : matchOf(best, bestStart, utterance, table);
}

/** One utterance's walk through the trie; candidates per position are looked up once. */
class Search {
  #tokens: Utterance['tokens'] = [];
  readonly #trie: PhraseTrie;
  readonly #index: CandidateIndex;
  readonly #table: PhraseTable;
  readonly #minScore: number;
  readonly #singles: (readonly Candidate[] | undefined)[] = [];
  readonly #splits: (readonly Candidate[] | undefined)[] = [];
  readonly #found: Found[] = [];
  /** Whether names may end the phrases of the current start position. */
  #names = false;

  constructor(trie: PhraseTrie, index: CandidateIndex, table: PhraseTable, minScore: number) {
    this.#trie = trie;
    this.#index = index;
    this.#table = table;
    this.#minScore = minScore;
  }

  /** Starts on a new utterance. */
  reset(tokens: Utterance['tokens']): void {
    this.#tokens = tokens;
    // Setting an array's length is a runtime call; most resets have nothing to clear.
    if (this.#singles.length !== 0) this.#singles.length = 0;
    if (this.#splits.length !== 0) this.#splits.length = 0;
  }

  /** Every phrase that matches starting at token `i` (targets' names too when `names`). */
  from(i: number, names: boolean): readonly Found[] {
    if (this.#found.length !== 0) this.#found.length = 0;
    this.#names = names;
    this.#walk(ROOT, i, 0, 0, true, true);
    return this.#found;
  }

  /**
   * Depth-first from trie `node` at token `j`. The score is the mean over the phrase's name-like
   * tokens weighted by length, so a near miss on a long name costs what it should and exact
   * greetings do not water it down.
   */
  #walk(
    node: number,
    j: number,
    weighted: number,
    weight: number,
    exact: boolean,
    strict: boolean,
  ) {
    let phrase = this.#trie.firstEnd(node);
    if (phrase !== -1) {
      const score = exact ? 1 : weight > 0 ? weighted / weight : 0;
      for (; phrase !== -1; phrase = this.#trie.nextEnd(phrase)) {
        // A one-token phrase has no other word to vouch for a near miss.
        const oneToken = this.#table.tokenCounts[phrase] === 1;
        if (!exact && (score < this.#minScore || (oneToken && !strict))) continue;
        if (!this.#names && this.#table.names[phrase] === 1) continue;
        this.#found.push({ phrase, endToken: j - 1, score, exact });
      }
    }
    if (!this.#trie.hasChildren(node) || j >= this.#tokens.length) return;
    const norm = this.#tokens[j]!.norm;
    const singles = (this.#singles[j] ??= this.#index.single(norm));
    for (const c of singles) this.#follow(c, node, j, weighted, weight, exact, strict);
    if (node !== ROOT) this.#guide(singles, node, j, weighted, weight, exact, strict);
    if (j + 1 >= this.#tokens.length) return;
    const next = this.#tokens[j + 1]!.norm;
    for (const c of (this.#splits[j] ??= this.#index.split(norm, next))) {
      this.#follow(c, node, j, weighted, weight, exact, strict);
    }
  }

  /**
   * Once a phrase has started, the ways on are few, so each is tried on token `j` with the match
   * rules directly. The index finds every near miss one edit away and those that sound alike, but
   * (to stay small) not every two-edit near miss of a long word; here nothing within the rules is
   * missed for the second and later tokens of a phrase ("Kleahand ajsistant").
   */
  #guide(
    singles: readonly Candidate[],
    node: number,
    j: number,
    weighted: number,
    weight: number,
    exact: boolean,
    strict: boolean,
  ) {
    const count = this.#trie.childCount(node);
    if (count > GUIDE_LIMIT) {
      // Too many ways on to try each: a short token may still be a respelling ("hey jon").
      for (const c of this.#index.respellings(this.#tokens[j]!.norm)) {
        this.#follow(c, node, j, weighted, weight, exact, strict);
      }
      return;
    }
    const norm = this.#tokens[j]!.norm;
    for (let k = 0; k < count; k++) {
      const id = this.#trie.childToken(node, k);
      if (singles.some((c) => c.ids.length === 1 && c.ids[0] === id)) continue;
      const c = this.#index.nearMiss(id, norm);
      if (c) this.#follow(c, node, j, weighted, weight, exact, strict);
    }
  }

  #follow(
    c: Candidate,
    node: number,
    j: number,
    weighted: number,
    weight: number,
    exact: boolean,
    strict: boolean,
  ) {
    let child = this.#trie.child(node, c.ids[0]);
    let w = this.#index.scoreWeight(c.ids[0]);
    if (child !== -1 && c.ids.length === 2) {
      child = this.#trie.child(child, c.ids[1]);
      w += this.#index.scoreWeight(c.ids[1]);
    }
    if (child === -1) return;
    const score = weighted + c.score * w;
    this.#walk(child, j + c.span, score, weight + w, exact && c.exact, strict && c.strict);
  }
}

/**
 * The best of the phrases found at one start. Two near misses that rank level but belong to
 * different targets ("marie" between "maria" and "mario") are ambiguous: neither wakes.
 */
function pickBest(found: readonly Found[], table: PhraseTable): Found | null {
  if (found.length === 0) return null;
  const sorted = [...found].sort((a, b) => compareFound(a, b, table));
  const best = sorted[0]!;
  const next = sorted[1];
  if (
    next &&
    !best.exact &&
    !next.exact &&
    !table.sameTarget(next.phrase, best.phrase) &&
    rankLevel(best, next, table)
  ) {
    return null;
  }
  return best;
}

function rankLevel(a: Found, b: Found, table: PhraseTable): boolean {
  return (
    table.tokenCounts[a.phrase] === table.tokenCounts[b.phrase] &&
    table.normLengths[a.phrase] === table.normLengths[b.phrase] &&
    Math.abs(a.score - b.score) < SCORE_EPSILON
  );
}

function compareFound(a: Found, b: Found, table: PhraseTable): number {
  const { tokenCounts, normLengths } = table;
  return (
    Number(b.exact) - Number(a.exact) ||
    tokenCounts[b.phrase]! - tokenCounts[a.phrase]! ||
    normLengths[b.phrase]! - normLengths[a.phrase]! ||
    (Math.abs(b.score - a.score) < SCORE_EPSILON ? 0 : b.score - a.score) ||
    // A wake phrase someone registered outranks a name it ties with (a clash an older file kept).
    table.names[a.phrase]! - table.names[b.phrase]! ||
    (a.phrase === b.phrase
      ? 0
      : compareText(table.norm(a.phrase), table.norm(b.phrase)) ||
        compareText(table.phrase(a.phrase), table.phrase(b.phrase)) ||
        compareText(table.target(a.phrase), table.target(b.phrase)))
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
