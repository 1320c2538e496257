/**
 * When two tokens count as the same word, and how much a near miss is worth. Kept apart from the
 * index so the policy (which decides what wakes an assistant) reads in one place.
 *
 * The costs are lopsided: a missed wake means the user repeats themselves, a wrong wake sends a
 * private sentence to the wrong assistant. So short and function words never bend, and a phrase
 * that is a single name needs spelling AND sound to agree before it accepts a near miss.
 */
import { boundedDamerau } from './edit-distance.js';

/**
 * Greetings and function words (canonical forms, see spoken-forms.ts). They are too common to be
 * near-missed safely: "they" must never pass for "hey", "whey" for "hey", "there" for "theo".
 */
const FUNCTION_WORDS: ReadonlySet<string> = new Set(
  (
    'hey hi hello hiya howdy ok yo oi um uh er ah oh hmm the a an and or but of to in on at is it ' +
    'its be by for as my me we us you your yours our ours this that thats there theres their they ' +
    'theyre them then than these those what whats when where which while who whos whom why how ' +
    'with from into onto over under about after before have has had been were was are will would ' +
    'could should shall can cant dont does did done some very just also only here heres please ' +
    'thanks thank sorry good morning evening night yes yeah yep no not now well like okay'
  ).split(' '),
);

/** Tokens shorter than this never match fuzzily (on either side). */
export const MIN_FUZZY_LENGTH = 4;

/** Scaling applied to a token matched across a word boundary ("door man" for "doorman"). */
export const JOIN_SCORE = 0.95;

/** Whether a token may take part in a fuzzy comparison at all. */
export function isFuzzyEligible(token: string): boolean {
  return token.length >= MIN_FUZZY_LENGTH && !FUNCTION_WORDS.has(token);
}

/** Spelling edits tolerated for a phrase token of this length: 0 up to 4 letters, 1 up to 8, 2 beyond. */
export function editReach(length: number): number {
  return length < 5 ? 0 : length < 9 ? 1 : 2;
}

/**
 * The consonants of a word in order, doubled letters once: "peeter" and "peter" share "ptr",
 * "pewter" ("pwtr") does not. Recognisers mostly get the vowels and doubled letters of an
 * unfamiliar name wrong; a changed consonant is more often a different word.
 */
export function consonantSkeleton(word: string): string {
  let out = '';
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    if ('aeiou'.includes(c) || out[out.length - 1] === c) continue;
    out += c;
  }
  return out;
}

/** How a phrase token fits a text token that is not identical to it. */
export interface TokenFit {
  /** 0–1, weighted into the phrase's score. */
  readonly score: number;
  /**
   * Good enough to wake a one-token phrase on its own: within spelling reach, sounding the same
   * and with the same consonants, so only vowels or doubled letters differ.
   */
  readonly strict: boolean;
}

/**
 * A near-miss token: within spelling reach, or one edit beyond it when it also sounds the same
 * (`sound`: the two share a phonetic key). The score starts from the share of letters that differ
 * and discounts it when the sound agrees, and more when the consonants agree too.
 */
export function fuzzyFit(phraseToken: string, textToken: string, sound: boolean): TokenFit | null {
  if (!isFuzzyEligible(phraseToken) || !isFuzzyEligible(textToken)) return null;
  const reach = editReach(phraseToken.length);
  const most = sound ? reach + 1 : reach;
  const d = boundedDamerau(phraseToken, textToken, most);
  if (d === 0 || d > most) return null;
  const length = Math.max(phraseToken.length, textToken.length);
  // A trailing s is a plural or a possessive/contraction whose apostrophe was dropped
  // ("Astraea's listening"): scored like a vowel slip, but it never wakes a one-token phrase,
  // where "Peter's coat" is talk about Peter, not to him.
  if (textToken.length === phraseToken.length + 1 && textToken.endsWith('s') && d === 1) {
    if (textToken.startsWith(phraseToken)) return { score: 1 - 0.25 / length, strict: false };
  }
  const skeleton = sound && consonantSkeleton(phraseToken) === consonantSkeleton(textToken);
  const discount = skeleton ? 0.25 : sound ? 0.5 : 1;
  return { score: 1 - (discount * d) / length, strict: skeleton && d <= reach };
}

/**
 * Spelling check for a token matched across a word boundary (one side is two tokens run together):
 * 0 when identical, 1 when one edit apart and the word is long enough to have reach, else -1.
 */
export function joinedEdits(phraseForm: string, textForm: string): number {
  if (phraseForm === textForm) return 0;
  if (editReach(phraseForm.length) === 0) return -1;
  return boundedDamerau(phraseForm, textForm, 1) === 1 ? 1 : -1;
}

/**
 * The fit of a join `joinedEdits` accepted: identical, or one edit apart and sounding the same
 * (`sound`). Scored like `fuzzyFit`, then scaled by JOIN_SCORE for the boundary it crosses.
 */
export function joinedFit(
  phraseForm: string,
  textForm: string,
  edits: number,
  sound: boolean,
): TokenFit | null {
  if (edits === 0) return { score: JOIN_SCORE, strict: true };
  if (edits !== 1 || !sound) return null;
  const skeleton = consonantSkeleton(phraseForm) === consonantSkeleton(textForm);
  const discount = skeleton ? 0.25 : 0.5;
  const score = JOIN_SCORE * (1 - discount / Math.max(phraseForm.length, textForm.length));
  return { score, strict: skeleton };
}
