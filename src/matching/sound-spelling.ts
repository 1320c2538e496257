/**
 * Spellings of one sound. Names are spelled many ways for one pronunciation (Catherine, Kathryn,
 * Cathrine; Stephen, Steven; John, Jon; Philip, Filip), and a recogniser picks whichever spelling
 * it knows best, so letter edits overstate how far apart two such spellings are. `soundSpelling`
 * rewrites the letters English spelling uses interchangeably (ph/f, hard c/k, y/i, a silent h,
 * doubled letters) and keeps every vowel, unlike Double Metaphone, because vowels are what tell
 * different names with one code apart (John and Joan, Aaron and Erin, Stephen and Stefan).
 * `respellingCost` then prices what the rewriting cannot explain.
 */

function isVowel(c: string | undefined): boolean {
  return c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u';
}

/**
 * The word with spelling-only differences folded away: "ph" → f, "ck" and hard c and q → k, soft c
 * → s, y after the first letter → i, h or w closing a vowel (John, Sarah, Shawn) → dropped or u,
 * doubled letters once. Lower-case a–z in, the same alphabet out.
 */
export function soundSpelling(word: string): string {
  let out = '';
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    const next = word[i + 1];
    let s: string = c;
    if (c === 'p' && next === 'h') {
      s = 'f';
      i++;
    } else if (c === 'c' && next === 'k') {
      s = 'k';
      i++;
    } else if (c === 'c') {
      s = next === 'e' || next === 'i' || next === 'y' ? 's' : next === 'h' ? 'c' : 'k';
    } else if (c === 'q') {
      s = 'k';
    } else if (c === 'y' && i > 0) {
      s = 'i';
    } else if ((c === 'h' || c === 'w') && isVowel(word[i - 1]) && !isVowel(next) && next !== 'y') {
      s = c === 'h' ? '' : 'u';
    }
    if (s !== '' && s !== out[out.length - 1]) out += s;
  }
  return out;
}

/**
 * The vowel a letter of `word` stands for, as a char code, or 0 for a consonant: y after the first
 * letter is i, and w closing a vowel ("shawn") is u, as in `soundSpelling`.
 */
function vowelAt(word: string, i: number): number {
  const c = word.charCodeAt(i);
  if (plainVowel(c)) return c;
  if (c === 121 /* y */) return i > 0 ? 105 : 0;
  if (c === 119 /* w */ && i > 0 && plainVowel(word.charCodeAt(i - 1))) {
    return plainVowel(word.charCodeAt(i + 1)) ? 0 : 117;
  }
  return 0;
}

function plainVowel(c: number): boolean {
  return c === 97 || c === 101 || c === 105 || c === 111 || c === 117;
}

/**
 * A cheap necessary condition for a respelling, checked before building sound spellings: the
 * vowels of one word, doubled ones once, are the other's with at most two elidable ones left out.
 * A respelling never replaces a vowel, so most words that merely share a phonetic key fail here.
 */
export function vowelsNest(a: string, b: string): boolean {
  return nests(a, b) || nests(b, a);
}

/** Whether the vowels of `inner` are those of `outer` with at most two elidable ones missing. */
function nests(inner: string, outer: string): boolean {
  let j = 0;
  let missing = 0;
  let lastInner = 0;
  let lastOuter = 0;
  for (let i = 0; i <= inner.length; i++) {
    // Past the end of `inner`, the rest of `outer` must be elidable vowels or consonants.
    const v = i < inner.length ? vowelAt(inner, i) : -1;
    if (v === 0 || v === lastInner) {
      lastInner = v;
      continue;
    }
    lastInner = v;
    for (;;) {
      if (j >= outer.length) return v === -1;
      const w = vowelAt(outer, j++);
      if (w === 0 || w === lastOuter) {
        lastOuter = w;
        continue;
      }
      lastOuter = w;
      if (w === v) break;
      if (++missing > 2 || !elidableAt(outer, j - 1)) return false;
    }
  }
  return true;
}

/** Whether the vowel at `at` stands alone between consonants, or is a final e after one. */
function elidableAt(word: string, at: number): boolean {
  if (at === 0 || vowelAt(word, at - 1) !== 0) return false;
  return at + 1 === word.length ? word.charCodeAt(at) === 101 : vowelAt(word, at + 1) === 0;
}

/** More than any respelling `soundAlikeFit` accepts: a change of vowel sound. */
export const NOT_A_RESPELLING = 2;

/**
 * Weighted edit distance between two sound spellings: an elidable vowel dropped or added 0.5, a
 * consonant swapped for one of the same sound 0.5, any other consonant edit 1, and any change of
 * vowel sound (a vowel replaced, added beside another or at the end, or one dropped here and
 * another added there) NOT_A_RESPELLING. So Kathryn is 1 from Catherine (two elided e's), Steven
 * 0.5 from Stephen, and Stefan, Joan, Jonah and Erin are not respellings of Stephen, John and
 * Aaron at all. Above `most` the answer is only "more than `most`" (the table stops early).
 */
export function respellingCost(a: string, b: string, most = NOT_A_RESPELLING): number {
  // Elided vowels go one way: dropping one and adding another is a different vowel (Stefan).
  const dropped = weightedDistance(a, b, true, most);
  return dropped === 0 ? 0 : Math.min(dropped, weightedDistance(a, b, false, most));
}

/** 1 for the letters a e i o u (sound spellings have no y), else 0. Indexed by char code − 97. */
const VOWEL = Uint8Array.from('abcdefghijklmnopqrstuvwxyz', (c) => ('aeiou'.includes(c) ? 1 : 0));

function vowelCode(word: string, at: number): boolean {
  const c = word.charCodeAt(at) - 97;
  return c >= 0 && c < 26 && VOWEL[c] === 1;
}

/**
 * Consonants Double Metaphone already treats as one sound (voiced and unvoiced pairs), by char
 * code − 97: a swap between them costs half an edit, as Stephen is said "Steven".
 */
const SOUND_CLASS = Uint8Array.from('abcdefghijklmnopqrstuvwxyz', (c) => {
  const pair = ['fv', 'sz', 'kg', 'pb', 'td'].findIndex((p) => p.includes(c));
  return pair + 1;
});

/** A vowel that can come and go without a new vowel sound: "cath(e)rine", "katherin(e)". */
function elidable(word: string, at: number): boolean {
  if (at === 0 || vowelCode(word, at - 1)) return false;
  return at + 1 === word.length ? word.charCodeAt(at) === 101 /* e */ : !vowelCode(word, at + 1);
}

/** The cost of dropping (or adding) letter `at` of `word`; vowels only when `vowels` allows. */
function gapCost(word: string, at: number, vowels: boolean): number {
  if (!vowelCode(word, at)) return 1;
  return vowels && elidable(word, at) ? 0.5 : NOT_A_RESPELLING;
}

function swapCost(x: number, y: number): number {
  if (x === y) return 0;
  if (VOWEL[x - 97] === 1 || VOWEL[y - 97] === 1) return NOT_A_RESPELLING;
  const cx = SOUND_CLASS[x - 97]!;
  return cx !== 0 && cx === SOUND_CLASS[y - 97] ? 0.5 : 1;
}

// Two reused rows: the distance runs once per candidate that passes `vowelsNest`.
let rowA = new Float64Array(24);
let rowB = new Float64Array(24);

/**
 * `respellingCost` with elided vowels only dropped from `a` (`dropping`) or only added from `b`.
 * Words are short, so the whole table is computed, unless a row is already over `most`.
 */
function weightedDistance(a: string, b: string, dropping: boolean, most: number): number {
  const n = a.length;
  const m = b.length;
  if (rowA.length <= m) {
    rowA = new Float64Array(2 * (m + 1));
    rowB = new Float64Array(2 * (m + 1));
  }
  let prev = rowA;
  let row = rowB;
  prev[0] = 0;
  for (let j = 1; j <= m; j++) prev[j] = prev[j - 1]! + gapCost(b, j - 1, !dropping);
  for (let i = 1; i <= n; i++) {
    const drop = gapCost(a, i - 1, dropping);
    row[0] = prev[0]! + drop;
    let rowMin = row[0]!;
    const x = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      let d = prev[j - 1]! + swapCost(x, b.charCodeAt(j - 1));
      const up = prev[j]! + drop;
      if (up < d) d = up;
      const left = row[j - 1]! + gapCost(b, j - 1, !dropping);
      if (left < d) d = left;
      row[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > most) return rowMin;
    const t = prev;
    prev = row;
    row = t;
  }
  return prev[m]!;
}
