/**
 * Wake-phrase matching. `compileMatcher` builds an index once per registry change; `find` runs per
 * utterance and never scans every phrase. This first version matches exact whole tokens only;
 * issue #4 adds fuzzy matching behind the same interface.
 */
import { normalizePhrase, type Utterance } from './normalize.js';

export interface PhraseOwner {
  readonly phrase: string;
  readonly target: string;
}

export interface MatchOptions {
  /** Allow near-miss tokens (misheard names). */
  readonly fuzzy: boolean;
  /** Fuzzy matches scoring below this (0–1) are ignored. */
  readonly minScore: number;
}

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
}

export interface PhraseMatcher {
  /** The best match in the utterance, or null. Deterministic for any input and registration order. */
  find(utterance: Utterance): Match | null;
  readonly size: number;
}

interface CompiledPhrase {
  readonly phrase: string;
  readonly target: string;
  readonly tokens: readonly string[];
}

export function compileMatcher(
  phrases: readonly PhraseOwner[],
  _options: MatchOptions = { fuzzy: false, minScore: 1 },
): PhraseMatcher {
  const byFirstToken = new Map<string, CompiledPhrase[]>();
  for (const { phrase, target } of phrases) {
    const norm = normalizePhrase(phrase);
    if (norm === '') continue;
    const tokens = norm.split(' ');
    const first = tokens[0] as string;
    let list = byFirstToken.get(first);
    if (!list) byFirstToken.set(first, (list = []));
    list.push({ phrase, target, tokens });
  }
  // Longest first, then by phrase text, so ties never depend on registration order.
  for (const list of byFirstToken.values()) {
    list.sort((a, b) => b.tokens.length - a.tokens.length || compareText(a.phrase, b.phrase));
  }

  return {
    size: phrases.length,
    find(utterance) {
      const { tokens, text } = utterance;
      for (let i = 0; i < tokens.length; i++) {
        const candidates = byFirstToken.get((tokens[i] as { norm: string }).norm);
        if (!candidates) continue;
        for (const c of candidates) {
          if (i + c.tokens.length > tokens.length) continue;
          let ok = true;
          for (let k = 1; k < c.tokens.length; k++) {
            if (tokens[i + k]?.norm !== c.tokens[k]) {
              ok = false;
              break;
            }
          }
          if (!ok) continue;
          const start = tokens[i]!.start;
          const end = tokens[i + c.tokens.length - 1]!.end;
          return {
            phrase: c.phrase,
            target: c.target,
            matchedText: text.slice(start, end),
            start,
            end,
            score: 1,
            exact: true,
          };
        }
      }
      return null;
    },
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
