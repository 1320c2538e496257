import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundedDamerau } from '../../src/matching/edit-distance.js';
import {
  deletionHashes,
  deletionScratch,
  Postings,
  PostingsBuilder,
  stringHash,
} from '../../src/matching/match-hash.js';
import { consonantSkeleton, editReach, fuzzyFit } from '../../src/matching/match-rules.js';
import {
  compileMatcher,
  DEFAULT_MATCH_OPTIONS,
  type MatchOptions,
  type PhraseOwner,
} from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';

const HOUSEHOLD: PhraseOwner[] = [
  { phrase: 'hey astraea', target: 'astraea' },
  { phrase: 'hello astraea', target: 'astraea' },
  { phrase: 'hey echo', target: 'echobell' },
  { phrase: 'hello echo bell', target: 'echobell' },
  { phrase: 'peter', target: 'peter' },
  { phrase: 'hey doorman', target: 'doorman' },
  { phrase: 'okay nova', target: 'nova' },
];

function find(text: string, phrases = HOUSEHOLD, options: MatchOptions = DEFAULT_MATCH_OPTIONS) {
  return compileMatcher(phrases, options).find(prepareUtterance(text));
}

describe('compileMatcher: which target wakes', () => {
  it.each([
    ['Hey, Astraea! Who’s at the door?', 'astraea'],
    ['HEY ASTRAEA', 'astraea'],
    ['Héy Astraéa', 'astraea'],
    ['hey — astraea', 'astraea'],
    ['O.K. Nova, lights', 'nova'],
    ['ok nova', 'nova'],
    ['hey astrea open up', 'astraea'], // misheard, sounds the same
    ['hello echobell', 'echobell'], // two phrase tokens heard as one
    ['hey door man', 'doorman'], // one phrase token heard as two
    ['hey astray a who rang', 'astraea'], // split with a slip
    ['peeter, door!', 'peter'], // one-token phrase: a vowel slip that sounds the same
    ['they astraea', null],
    ['whey', null],
    ['they echoed the chime', null],
    ['Peterson delivered it', null],
    ['pewter mugs', null], // sounds like peter but a consonant differs: not for a one-token phrase
    ['pete, come here', null],
    ["peter's coat is on the hook", null],
    ['hey um astraea', null], // fillers inside a phrase
    ['hey there astraea', null],
    ['hey doormat is wet', null], // spelling-only near miss on a 7-letter word scores too low
    ['heyastraea', null],
  ])('%j → %s', (text, target) => {
    expect(find(text)?.target ?? null).toBe(target);
  });

  it('reports the span of the original text, for stripping', () => {
    const text = 'Hey, Astraea! Who’s at the door?';
    const m = find(text)!;
    expect(m).toMatchObject({
      phrase: 'hey astraea',
      target: 'astraea',
      matchedText: 'Hey, Astraea',
      start: 0,
      end: 12,
      score: 1,
      exact: true,
    });
    expect(text.slice(m.end)).toBe('! Who’s at the door?');
  });

  it('keeps spans exact through NFKC and accent folding', () => {
    const text = 'um Ｈｅｙ Ａｓｔｒａｅ\u0301ａ, open';
    const m = find(text)!;
    expect(m.matchedText).toBe('Ｈｅｙ Ａｓｔｒａｅ\u0301ａ');
    expect(text.slice(m.start, m.end)).toBe(m.matchedText);
  });

  it('scores fuzzy matches below 1 and marks them', () => {
    const m = find('hey astrea')!;
    expect(m.exact).toBe(false);
    expect(m.score).toBeGreaterThan(DEFAULT_MATCH_OPTIONS.minScore);
    expect(m.score).toBeLessThan(1);
  });
});

describe('compileMatcher: ranking', () => {
  it('prefers the earliest start, even over an exact match later', () => {
    expect(find('hey astrea, hey astraea')?.matchedText).toBe('hey astrea');
    expect(find('peter hey astraea')?.target).toBe('peter');
  });

  it('prefers exact over fuzzy at the same start', () => {
    const phrases = [
      { phrase: 'hey maria', target: 'a' },
      { phrase: 'hey mario', target: 'b' },
    ];
    expect(find('hey mario', phrases)?.target).toBe('b');
    expect(find('hey maria', phrases)?.target).toBe('a');
  });

  it('prefers the longer phrase at the same start', () => {
    const phrases = [
      { phrase: 'hey echo', target: 'short' },
      { phrase: 'hey echo bell', target: 'long' },
    ];
    expect(find('hey echo bell ring', phrases)?.target).toBe('long');
    expect(find('hey echo ring', phrases)?.target).toBe('short');
  });

  it('refuses a near miss that fits two targets equally', () => {
    const phrases = [
      { phrase: 'hey maria', target: 'a' },
      { phrase: 'hey mario', target: 'b' },
    ];
    expect(find('hey marie', phrases)).toBeNull();
  });

  it('does not depend on registration order', () => {
    const texts = ['hey marie', 'hey astrea', 'hello echobell', 'hey door man', 'peeter'];
    const forward = compileMatcher(HOUSEHOLD);
    const backward = compileMatcher([...HOUSEHOLD].reverse());
    for (const t of texts) {
      expect(backward.find(prepareUtterance(t))).toEqual(forward.find(prepareUtterance(t)));
    }
  });
});

describe('compileMatcher: near misses past the first token', () => {
  // Two substitutions in a 9-letter word, neither sounding alike: within spelling reach (two
  // edits from 9 letters) but not in the index's one-deletion neighbourhoods nor a sound bucket.
  // Once "kleahand" has started the phrase, the few ways on are checked directly.
  const phrases = [
    { phrase: 'kleahand assistant', target: 'k' },
    { phrase: 'hey kleahand', target: 'other' },
  ];

  it('finds a two-edit near miss on a later token of a phrase', () => {
    const m = find('ok kleahand ajsixtant, the door', phrases);
    expect(m).toMatchObject({ target: 'k', matchedText: 'kleahand ajsixtant', exact: false });
  });

  it('finds it among many registered phrases too', () => {
    const many = [...phrases];
    for (let i = 0; i < 2000; i++)
      many.push({ phrase: `hey name${i}x assistant`, target: `t${i}` });
    expect(find('kleahand ajsixtant', many)?.target).toBe('k');
    expect(find('kleahand ajsixtxnt', many)).toBeNull(); // three edits: out of reach
  });
});

describe('compileMatcher: options', () => {
  it('matches exact whole tokens only when fuzzy is off (cancel phrases)', () => {
    const cancel = ['cancel', 'never mind', "that's all"].map((phrase) => ({
      phrase,
      target: 'cancel',
    }));
    const exactOnly = { fuzzy: false, minScore: 1 };
    expect(find('Cancel!', cancel, exactOnly)?.matchedText).toBe('Cancel');
    expect(find('oh, never-mind', cancel, exactOnly)?.matchedText).toBe('never-mind');
    expect(find('thats all', cancel, exactOnly)?.target).toBe('cancel');
    expect(find('cancellation policy', cancel, exactOnly)).toBeNull();
    expect(find('cancle that', cancel, exactOnly)).toBeNull();
    expect(find('hey astrea', HOUSEHOLD, exactOnly)).toBeNull();
    expect(find('hey door man', HOUSEHOLD, exactOnly)).toBeNull();
  });

  it('drops fuzzy matches under minScore but never exact ones', () => {
    const strict = { fuzzy: true, minScore: 0.99 };
    expect(find('hey astrea', HOUSEHOLD, strict)).toBeNull();
    expect(find('hey astraea', HOUSEHOLD, strict)?.exact).toBe(true);
  });

  it('skips phrases that normalise to nothing and counts what it was given', () => {
    const m = compileMatcher([{ phrase: '!!!', target: 'x' }, ...HOUSEHOLD]);
    expect(m.size).toBe(HOUSEHOLD.length + 1);
    expect(m.find(prepareUtterance('!!!'))).toBeNull();
  });

  it('matches nothing in an empty utterance or with an empty registry', () => {
    expect(find('')).toBeNull();
    expect(find('hey astraea', [])).toBeNull();
  });
});

describe('match rules', () => {
  it('scales spelling reach with length', () => {
    expect([3, 4, 5, 8, 9, 14].map(editReach)).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('never bends greetings, function words or short words', () => {
    expect(fuzzyFit('hey', 'they', true)).toBeNull();
    expect(fuzzyFit('there', 'theres', true)).toBeNull();
    expect(fuzzyFit('astraea', 'the', true)).toBeNull();
  });

  it('keeps consonants in order, vowels and doubled letters out', () => {
    expect(consonantSkeleton('peeter')).toBe(consonantSkeleton('peter'));
    expect(consonantSkeleton('peneloppe')).toBe(consonantSkeleton('penelope'));
    expect(consonantSkeleton('pewter')).not.toBe(consonantSkeleton('peter'));
  });

  it('computes the banded distance exactly like the full table, within the bound', () => {
    /** Reference: the whole optimal-string-alignment table. */
    const full = (a: string, b: string): number => {
      const d = Array.from({ length: a.length + 1 }, (_, i) =>
        Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
      );
      for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
          let v = Math.min(
            d[i - 1]![j]! + 1,
            d[i]![j - 1]! + 1,
            d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
          );
          if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
            v = Math.min(v, d[i - 2]![j - 2]! + 1);
          }
          d[i]![j] = v;
        }
      }
      return d[a.length]![b.length]!;
    };
    const word = fc.stringMatching(/^[abc]{0,12}$/);
    fc.assert(
      fc.property(word, word, fc.integer({ min: 0, max: 4 }), (a, b, max) => {
        expect(boundedDamerau(a, b, max)).toBe(Math.min(full(a, b), max + 1));
      }),
      { numRuns: 2000 },
    );
  });

  it('computes Damerau-Levenshtein distance with a bound', () => {
    expect(boundedDamerau('astraea', 'astrea', 2)).toBe(1);
    expect(boundedDamerau('alexander', 'alexnader', 2)).toBe(1); // a swap is one edit
    expect(boundedDamerau('peter', 'peterson', 2)).toBe(3); // bound + 1
    expect(boundedDamerau('', 'abc', 5)).toBe(3);
  });
});

describe('fuzzy index internals', () => {
  /** Reference: every string with at most k characters deleted. */
  function neighbourhood(word: string, k: number, out = new Set<string>()): Set<string> {
    out.add(word);
    if (k > 0) {
      for (let i = 0; i < word.length; i++) {
        neighbourhood(word.slice(0, i) + word.slice(i + 1), k - 1, out);
      }
    }
    return out;
  }

  it.each(['astraea', 'ab', 'a', 'doorkeeper', 'aab'])(
    'hashes the deletion neighbourhood of %j like the strings themselves',
    (word) => {
      for (const k of [0, 1, 2]) {
        const n = deletionHashes(word, k);
        const got = new Set(Array.from(deletionScratch.subarray(0, n)));
        const want = new Set([...neighbourhood(word, k)].map(stringHash));
        expect(got).toEqual(want);
      }
    },
  );

  it('stores single and repeated postings', () => {
    const b = new PostingsBuilder();
    for (let i = 0; i < 5000; i++) b.add(stringHash(`w${i % 1000}`), i);
    const table = b.build();
    expect(table.values(stringHash('w7'))).toEqual([7, 1007, 2007, 3007, 4007]);
    expect(table.values(stringHash('absent'))).toEqual([]);
    expect(table.first(stringHash('absent'))).toBe(-1);
    const single = new PostingsBuilder();
    single.add(stringHash('x'), 42);
    expect(single.build().values(stringHash('x'))).toEqual([42]);
    expect(new Postings(new Uint32Array(0), new Uint32Array(0)).first(1)).toBe(-1);
  });

  it('finds every posting of a large table, with or without its filter', () => {
    const b = new PostingsBuilder();
    for (let i = 0; i < 200_000; i++) b.add(stringHash(`k${i}`), i);
    for (const table of [b.build(), b.build({ filter: false })]) {
      for (let i = 0; i < 200_000; i += 7) {
        expect(table.values(stringHash(`k${i}`))).toContain(i);
      }
      let stray = 0;
      for (let i = 0; i < 10_000; i++) stray += table.values(stringHash(`absent${i}`)).length;
      // Fingerprints keep other hashes out: almost no value comes back for an absent key.
      expect(stray).toBeLessThan(50);
    }
  });
});
