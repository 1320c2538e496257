/**
 * Phonetic codes (Double Metaphone) so a name the recogniser spelled differently but that sounds
 * the same ("Astrea" for "Astraea") is still a candidate. A code is the hash of a metaphone key:
 * the index stores millions of them in typed arrays, and equal keys give equal codes.
 *
 * Transcripts repeat their words, so recent transcript tokens' codes are cached (bounded, dropped
 * wholesale when full); the index computes its own once at build time without the cache.
 */
import { doubleMetaphone } from 'double-metaphone';
import { stringHash } from './match-hash.js';

const CACHE_LIMIT = 8_000;
const cache = new Map<string, readonly number[]>();
const NONE: readonly number[] = Object.freeze([]);

/** The Double Metaphone keys of a folded token: none for words outside a–z. */
export function phoneticKeys(token: string): readonly string[] {
  if (!/^[a-z]+$/.test(token)) return [];
  const [primary, secondary] = doubleMetaphone(token);
  const keys = primary === secondary ? [primary] : [primary, secondary];
  return keys.filter((k) => k !== '');
}

/** Hashes of `phoneticKeys(token)`, uncached (for index builds). */
export function computeSoundCodes(token: string): readonly number[] {
  const keys = phoneticKeys(token);
  return keys.length === 0 ? NONE : keys.map(stringHash);
}

/** Hashes of `phoneticKeys(token)`, cached (for transcript tokens). */
export function soundCodes(token: string): readonly number[] {
  let codes = cache.get(token);
  if (codes) return codes;
  codes = computeSoundCodes(token);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(token, codes);
  return codes;
}
