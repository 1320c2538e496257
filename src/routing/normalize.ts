/**
 * Text normalisation shared by phrases and utterances. This first version folds case and splits on
 * anything that is not a letter or digit; issue #4 replaces it with the ASR-robust normaliser.
 */

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

const WORD = /[\p{L}\p{N}]+/gu;

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const m of text.matchAll(WORD)) {
    const start = m.index;
    tokens.push({ norm: m[0].toLowerCase(), start, end: start + m[0].length });
  }
  return tokens;
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
