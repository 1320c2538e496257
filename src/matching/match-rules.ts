/**
 * When two tokens count as the same word, and how much a near miss is worth. Kept apart from the
 * index so the policy (which decides what wakes an assistant) reads in one place.
 *
 * The costs are lopsided: a missed wake means the user repeats themselves, a wrong wake sends a
 * private sentence to the wrong assistant. So short and function words never bend, and a phrase
 * that is a single name needs spelling AND sound to agree before it accepts a near miss.
 */
import { boundedDamerau } from './edit-distance.js';
import { respellingCost, soundSpelling, vowelsNest } from './sound-spelling.js';

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

/**
 * Words that may open an utterance before a target's name and still leave the name "at the start"
 * ("Hey Astraea…", "Um, Astraea…"): greetings and hesitations, in canonical form (spoken-forms.ts).
 * Anything else before a name makes it talk about someone, not to them.
 */
export const LEAD_WORDS: ReadonlySet<string> = new Set(
  'hey hi hello hiya howdy ok yo um uh er ah oh hmm'.split(' '),
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
 * Transcript tokens this short only match as a respelling that sounds identical ("jon" for
 * "john"); a three-letter word one sound away from a name is usually another word.
 */
export const MIN_RESPELLED_LENGTH = 3;

/** Whether a transcript token may be compared as a respelling (`soundAlikeFit`). */
export function isRespellable(token: string): boolean {
  return token.length >= MIN_RESPELLED_LENGTH && !FUNCTION_WORDS.has(token);
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

/**
 * Whether two words have one syllable shape: the same consonant clusters in order, each run of
 * vowels in the same place ("y" after the first letter is a vowel, doubled letters count once), so
 * "astraea", "astria" and "astraya" agree. Words of one shape differ only in vowels that stayed
 * where they were; "kirsten" and "kristin", or "shane" and "shaun", move a vowel across a
 * consonant, which changes the syllables, and usually means another name. Compared letter by
 * letter without building either shape: it runs for every slip beyond spelling reach.
 */
export function sameSyllableShape(a: string, b: string): boolean {
  let i = 0;
  let j = 0;
  for (;;) {
    const x = shapeMark(a, i);
    const y = shapeMark(b, j);
    if (x !== y) return false;
    if (x === -1) return true;
    i = skipMark(a, i, x);
    j = skipMark(b, j, y);
  }
}

/** The shape mark of the letter at `at`: 0 for a vowel, a consonant's char code, -1 past the end. */
function shapeMark(word: string, at: number): number {
  if (at >= word.length) return -1;
  const c = word.charCodeAt(at);
  const vowel =
    c === 97 || c === 101 || c === 105 || c === 111 || c === 117 || (c === 121 && at > 0);
  return vowel ? 0 : c;
}

/** The position after the run of letters from `at` that share mark `mark`. */
function skipMark(word: string, at: number, mark: number): number {
  let k = at + 1;
  while (k < word.length && shapeMark(word, k) === mark) k++;
  return k;
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
 * A near-miss token, the better of two readings: a spelling slip (`slipFit`) or, when the two
 * share a phonetic key (`sound`), another spelling of the same sound (`soundAlikeFit`).
 */
export function fuzzyFit(phraseToken: string, textToken: string, sound: boolean): TokenFit | null {
  if (!isFuzzyEligible(phraseToken) || phraseToken === textToken) return null;
  const eligible = isFuzzyEligible(textToken);
  const slip = eligible ? slipFit(phraseToken, textToken, sound) : null;
  if (!sound || (slip !== null && slip.strict)) return slip;
  return withRespelling(phraseToken, textToken, eligible, slip);
}

/** `slip`, or the respelling reading of the two tokens if that fits better. */
function withRespelling(
  phraseToken: string,
  textToken: string,
  eligible: boolean,
  slip: TokenFit | null,
): TokenFit | null {
  if (!eligible && !isRespellable(textToken)) return slip;
  // A respelling scores at most like one vowel slip: no need to look when the slip is as good.
  const length = Math.max(phraseToken.length, textToken.length);
  if (slip !== null && slip.score >= 1 - 0.25 / length) return slip;
  const alike = respelledFit(phraseToken, textToken);
  if (alike === null) return slip;
  if (slip === null) return alike;
  return { score: Math.max(slip.score, alike.score), strict: alike.strict };
}

/**
 * A spelling slip: within spelling reach, or one edit beyond it when it also sounds the same
 * (`sound`: the two share a phonetic key) and has the same syllable shape, so only vowels changed
 * in place ("astria" for "astraea", not "kirsten" for "kristin"). The score starts from the share
 * of letters that differ and discounts it when the sound agrees, and more when the consonants agree
 * too.
 */
function slipFit(phraseToken: string, textToken: string, sound: boolean): TokenFit | null {
  const reach = editReach(phraseToken.length);
  const most = sound ? reach + 1 : reach;
  const d = boundedDamerau(phraseToken, textToken, most);
  if (d === 0 || d > most) return null;
  if (d > reach && !sameSyllableShape(phraseToken, textToken)) return null;
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

/** The most `respellingCost` a sound-alike may have: two elided vowels, or one consonant. */
const MOST_RESPELLING_COST = 1;
/** The most for a phrase token without spelling reach (under 5 letters): a silent e ("belle"). */
const MOST_SHORT_RESPELLING_COST = 0.5;

/**
 * Another spelling of the same sound: the two share a phonetic key (the caller checked) and their
 * sound spellings (sound-spelling.ts) differ by at most MOST_RESPELLING_COST, with no change of
 * vowel sound. Identical sound spellings ("jon"/"john", "filip"/"philip") score like one vowel
 * slip and may wake a one-token phrase; any other difference costs twice a vowel slip per unit
 * and half a unit at most for a phrase token without spelling reach, so a long name keeps most of
 * its score ("kathryn" for "catherine": 0.92, "steven" for "stephen": 0.93, over the 0.88 floor)
 * and a short one little ("jan" for "jane": 0.875, under it; "belle" for "bell": 0.9).
 */
export function soundAlikeFit(phraseToken: string, textToken: string): TokenFit | null {
  if (!isFuzzyEligible(phraseToken) || !isRespellable(textToken)) return null;
  return respelledFit(phraseToken, textToken);
}

/** `soundAlikeFit` for tokens already checked eligible. */
function respelledFit(phraseToken: string, textToken: string): TokenFit | null {
  if (!vowelsNest(phraseToken, textToken)) return null;
  const cost = respellingCost(
    soundSpelling(phraseToken),
    soundSpelling(textToken),
    MOST_RESPELLING_COST,
  );
  const most =
    editReach(phraseToken.length) > 0 ? MOST_RESPELLING_COST : MOST_SHORT_RESPELLING_COST;
  if (cost > most) return null;
  const length = Math.max(phraseToken.length, textToken.length);
  return { score: 1 - (0.25 + 0.5 * cost) / length, strict: cost === 0 };
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
