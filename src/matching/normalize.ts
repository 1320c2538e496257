/**
 * Text normalisation shared by phrases and utterances, so both sides of a match are folded the same
 * way: Unicode compatibility forms, case and diacritics are folded; punctuation, dashes, quotes
 * and whitespace separate tokens; dotted abbreviations ("O.K.") join; apostrophes inside a word
 * are dropped ("who's" → "whos"); spoken-form variants map to one spelling.
 *
 * Folding works one code point at a time so every token keeps exact UTF-16 offsets into the
 * original text: the router strips the wake phrase by those offsets and forwards the rest verbatim.
 */
import { canonicalForm } from './spoken-forms.js';

/** One word of an utterance: its normalised form and where it sits in the original text. */
export interface Token {
  readonly norm: string;
  /** UTF-16 offsets into the original text, end exclusive. */
  readonly start: number;
  readonly end: number;
}

/** An utterance tokenised once, so the cancel and trigger matchers share the work. */
export interface Utterance {
  readonly text: string;
  readonly tokens: readonly Token[];
}

/**
 * Combining marks that are accents on letters (Latin, Greek, Cyrillic…). Marks that are part of a
 * script's spelling (Devanagari vowel signs and the like) are kept, or those words would break.
 */
function isDiacritic(cp: number): boolean {
  return (
    (cp >= 0x0300 && cp <= 0x036f) ||
    (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x1dc0 && cp <= 0x1dff) ||
    (cp >= 0x20d0 && cp <= 0x20ff) ||
    (cp >= 0xfe20 && cp <= 0xfe2f)
  );
}
const WORD_CHAR = /^[\p{L}\p{N}]$/u;
const MARK = /^\p{M}$/u;
const APOSTROPHES = new Set(["'", '\u2019', '\u2018', '\u02bc', '`', '\u2032']);
// Letters with a stroke or ligature have no Unicode decomposition but are read as their base.
const LETTER_FOLDS: ReadonlyMap<string, string> = new Map([
  ['ß', 'ss'],
  ['ς', 'σ'],
  ['ø', 'o'],
  ['ł', 'l'],
  ['đ', 'd'],
  ['ħ', 'h'],
  ['æ', 'ae'],
  ['œ', 'oe'],
]);

const foldCache = new Map<string, string>();

/** NFKC-compatible folding of one code point: compatibility form, lower case, no accents. */
function foldCodePoint(ch: string): string {
  const cached = foldCache.get(ch);
  if (cached !== undefined) return cached;
  let out = '';
  for (const c of ch.normalize('NFKD').toLowerCase().normalize('NFKD')) {
    if (!isDiacritic(c.codePointAt(0)!)) out += LETTER_FOLDS.get(c) ?? c;
  }
  if (foldCache.size < 4096) foldCache.set(ch, out);
  return out;
}

type CharClass = 'word' | 'mark' | 'apostrophe' | 'dot' | 'amp' | 'gap';

function classify(c: string): CharClass {
  const code = c.charCodeAt(0);
  if (code < 0x80) {
    // ASCII fast path: most transcripts are entirely ASCII.
    if ((code >= 97 && code <= 122) || (code >= 48 && code <= 57)) return 'word';
    return code === 46
      ? 'dot'
      : code === 38
        ? 'amp'
        : code === 39 || code === 96
          ? 'apostrophe'
          : 'gap';
  }
  if (c === '&') return 'amp';
  if (APOSTROPHES.has(c)) return 'apostrophe';
  if (WORD_CHAR.test(c)) return 'word';
  if (MARK.test(c)) return 'mark';
  return 'gap';
}

/** A run of word characters: the text so far and its span in the original. */
interface Segment {
  /** The folded text so far; '' while `sliced`. */
  text: string;
  start: number;
  end: number;
  /** Only ASCII so far, so NFC has nothing to do. */
  ascii: boolean;
  /**
   * The text is the lower-cased source's [start, end), not built yet: one slice when the word
   * ends instead of a new string per character (most of a request's tokenizing garbage).
   */
  sliced: boolean;
}

const ASCII_LOWER = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c).toLowerCase());
const ASCII_CLASS: CharClass[] = ASCII_LOWER.map((c) => classify(c));
const ALL_ASCII = /^[^\u0080-\uffff]*$/;

/**
 * Splits and folds `text`. A word may contain apostrophes (dropped) and dots; a dotted word whose
 * every part is a single letter is an abbreviation and joins ("u.s.a" → "usa"); any other dotted
 * word splits at its dots ("hey.astraea", "3.5").
 */
export function tokenize(text: string): Token[] {
  // An all-ASCII text (most transcripts) folds by lower-casing alone, offsets unchanged.
  const out = new TokenWriter(ALL_ASCII.test(text) ? text.toLowerCase() : null);
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const start = i;
    i += cp > 0xffff ? 2 : 1;
    if (cp < 0x80) {
      out.feed(ASCII_LOWER[cp]!, ASCII_CLASS[cp]!, start, i);
      continue;
    }
    const folded = foldCodePoint(text.slice(start, i));
    // A combining accent folded away still belongs to the word it decorates.
    if (folded === '') out.extend(i);
    for (const c of folded) out.feed(c, classify(c), start, i);
  }
  out.flush();
  return out.tokens;
}

/** The tokenizer's state between characters. */
class TokenWriter {
  readonly tokens: Token[] = [];
  #segments: Segment[] = [];
  #seg: Segment | null = null;
  #pending: 'apostrophe' | 'dot' | null = null;
  /** The source text lower-cased when it is all ASCII (words are slices of it), else null. */
  readonly #lowered: string | null;

  constructor(lowered: string | null) {
    this.#lowered = lowered;
  }

  /** One folded character `c` that came from original text [start, end). */
  feed(c: string, cls: CharClass, start: number, end: number): void {
    const seg = this.#seg;
    switch (cls) {
      case 'word':
        if (seg && this.#pending !== 'dot') {
          // Still one unbroken run of the source: the slice grows. After a dropped apostrophe
          // ("who's") it no longer is one, and the word is built from here on.
          if (seg.sliced && seg.end === start) seg.end = end;
          else {
            this.#unslice(seg);
            seg.text += c;
            seg.end = end;
            seg.ascii &&= c.charCodeAt(0) < 0x80;
          }
        } else {
          if (seg) this.#segments.push(seg);
          const sliced = this.#lowered !== null;
          this.#seg = { text: sliced ? '' : c, start, end, ascii: c.charCodeAt(0) < 0x80, sliced };
        }
        this.#pending = null;
        break;
      case 'mark':
        if (seg && this.#pending === null) {
          this.#unslice(seg);
          seg.text += c;
          seg.end = end;
          seg.ascii = false;
        }
        break;
      case 'apostrophe':
      case 'dot':
        if (seg && this.#pending === null) this.#pending = cls;
        else this.flush();
        break;
      case 'amp':
        this.flush();
        this.#push('&', start, end, true);
        break;
      case 'gap':
        this.flush();
        break;
    }
  }

  /** Stretches the current word over a character that folded to nothing. */
  extend(end: number): void {
    if (this.#seg && this.#pending === null) {
      this.#unslice(this.#seg);
      this.#seg.end = end;
    }
  }

  /** The segment's folded text. */
  #text(seg: Segment): string {
    return seg.sliced ? (this.#lowered as string).slice(seg.start, seg.end) : seg.text;
  }

  /** Builds a sliced segment's text now: it is about to stop being one slice of the source. */
  #unslice(seg: Segment): void {
    if (!seg.sliced) return;
    seg.text = this.#text(seg);
    seg.sliced = false;
  }

  /** Ends the current word: an abbreviation joins, any other dotted word splits at its dots. */
  flush(): void {
    if (this.#seg) this.#segments.push(this.#seg);
    this.#seg = null;
    this.#pending = null;
    const segments = this.#segments;
    if (segments.length === 0) return;
    if (segments.length > 1 && segments.every((s) => isSingleLetter(this.#text(s)))) {
      const first = segments[0]!;
      const last = segments[segments.length - 1]!;
      const ascii = segments.every((s) => s.ascii);
      this.#push(segments.map((s) => this.#text(s)).join(''), first.start, last.end, ascii);
    } else {
      for (const s of segments) this.#push(this.#text(s), s.start, s.end, s.ascii);
    }
    this.#segments = [];
  }

  #push(raw: string, start: number, end: number, ascii: boolean): void {
    this.tokens.push({ norm: canonicalForm(ascii ? raw : raw.normalize('NFC')), start, end });
  }
}

function isSingleLetter(s: string): boolean {
  const cps = Array.from(s);
  return cps.length === 1 && /^\p{L}$/u.test(cps[0]!);
}

export function prepareUtterance(text: string): Utterance {
  return { text, tokens: tokenize(text) };
}

/** The canonical form of a phrase: its normalised tokens joined by single spaces ('' if none). */
export function normalizePhrase(phrase: string): string {
  return tokenize(phrase)
    .map((t) => t.norm)
    .join(' ');
}
