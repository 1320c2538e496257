import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizePhrase, prepareUtterance, tokenize } from '../../src/matching/normalize.js';

describe('normalizePhrase', () => {
  it.each([
    ['Hey Astraea', 'hey astraea'],
    ['  hey,   ASTRAEA!! ', 'hey astraea'],
    ['Héy Astraéa', 'hey astraea'],
    ['Ｈｅｙ　Ａｓｔｒａｅａ', 'hey astraea'], // full-width letters and space (NFKC)
    ['hey—astraea', 'hey astraea'],
    ['hey – astraea…', 'hey astraea'],
    ['“Hey” «Astraea»', 'hey astraea'],
    ['hey_astraea/now', 'hey astraea now'],
    ['O.K. Nova', 'ok nova'],
    ['U.S.A. today', 'usa today'],
    ["who's there", 'whos there'],
    ['who’s there', 'whos there'],
    ["'quoted' words'", 'quoted words'],
    ['Okay Echo', 'ok echo'],
    ['okay', 'ok'],
    ['agent seven', 'agent 7'],
    ['agent 7', 'agent 7'],
    ['Tom & Jerry', 'tom and jerry'],
    ['hey.astraea', 'hey astraea'],
    ['version 3.5', 'version 3 5'],
    ['Søren Straße', 'soren strasse'],
    ['ﬁne', 'fine'],
    ['e\u0301cho', 'echo'], // decomposed accent
    ['İstanbul', 'istanbul'],
    ['!!! ... ---', ''],
    ['', ''],
    ['नमस्ते दुनिया', 'नमस्ते दुनिया'], // script vowel signs are kept, not stripped as accents
  ])('%j → %j', (input, expected) => {
    expect(normalizePhrase(input)).toBe(expected);
  });

  it('is what prepareUtterance tokens spell', () => {
    const text = 'Hey, Astraea! O.K.? Who’s there';
    expect(
      prepareUtterance(text)
        .tokens.map((t) => t.norm)
        .join(' '),
    ).toBe(normalizePhrase(text));
  });
});

describe('tokenize spans', () => {
  const spans = (text: string) => tokenize(text).map((t) => [t.norm, text.slice(t.start, t.end)]);

  it('points into the original text, not the folded one', () => {
    expect(spans('Hey, Astraea! Who’s at the door?')).toEqual([
      ['hey', 'Hey'],
      ['astraea', 'Astraea'],
      ['whos', 'Who’s'],
      ['at', 'at'],
      ['the', 'the'],
      ['door', 'door'],
    ]);
  });

  it('covers accents written as combining marks and full-width letters', () => {
    expect(spans('he\u0301y Ａｓｔｒａｅａ!')).toEqual([
      ['hey', 'he\u0301y'],
      ['astraea', 'Ａｓｔｒａｅａ'],
    ]);
  });

  it('keeps astral-plane letters whole', () => {
    expect(spans('𝐇𝐞𝐲 astraea')).toEqual([
      ['hey', '𝐇𝐞𝐲'],
      ['astraea', 'astraea'],
    ]);
  });

  it('joins abbreviations over their dots but not the trailing one', () => {
    expect(spans('O.K. nova')).toEqual([
      ['ok', 'O.K'],
      ['nova', 'nova'],
    ]);
  });

  it('makes & a word of its own', () => {
    expect(spans('AT&T')).toEqual([
      ['at', 'AT'],
      ['and', '&'],
      ['t', 'T'],
    ]);
  });
});

describe('tokenize on all-ASCII text', () => {
  // Words of an all-ASCII text are slices of the lower-cased text; one non-ASCII character
  // anywhere sends the whole text down the character-by-character path. Both must agree.
  const asciiText = fc.string({
    unit: fc.constantFrom(..."aZ9 .'`&-_Mxq,O.K.".split(''), 'who', "'s", 'U.S.'),
    maxLength: 40,
  });

  it('gives the same tokens as the character-by-character path', () => {
    fc.assert(
      fc.property(asciiText, (text) => {
        const slow = tokenize(`${text} é`);
        expect(slow.at(-1)).toEqual({ norm: 'e', start: text.length + 1, end: text.length + 2 });
        expect(tokenize(text)).toEqual(slow.slice(0, -1));
      }),
      { numRuns: 2000 },
    );
  });
});
