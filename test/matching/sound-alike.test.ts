/**
 * Names spelled differently that sound the same (issue 11): each spelling wakes a phrase registered
 * with the other, in both directions, while different names that share a Double Metaphone code
 * (John and Joan, Aaron and Erin, Stephen and Stefan) stay apart.
 */
import { describe, expect, it } from 'vitest';
import { compileMatcher, DEFAULT_MATCH_OPTIONS } from '../../src/matching/matcher.js';
import { sameSyllableShape, soundAlikeFit } from '../../src/matching/match-rules.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import { phoneticKeys } from '../../src/matching/phonetic.js';
import { respellingCost, soundSpelling } from '../../src/matching/sound-spelling.js';

/** The target `text` wakes when `phrase` is the only registered phrase. */
function wakes(phrase: string, text: string): string | null {
  const matcher = compileMatcher([{ phrase, target: 'them' }], DEFAULT_MATCH_OPTIONS);
  return matcher.find(prepareUtterance(text))?.target ?? null;
}

const SAME_NAME: readonly (readonly [string, string])[] = [
  ['catherine', 'cathryn'],
  ['catherine', 'kathryn'],
  ['catherine', 'kathrin'],
  ['catherine', 'katherine'],
  ['kathryn', 'catherine'],
  ['kathryn', 'cathryn'],
  ['stephen', 'steven'],
  ['steven', 'stephen'],
  ['john', 'jon'],
  ['shaun', 'shawn'],
  ['shawn', 'shaun'],
  ['philip', 'filip'],
  ['filip', 'philip'],
  ['phillip', 'philip'],
  ['aaron', 'aron'],
  ['kristin', 'kristen'],
];

/** Different names with a Double Metaphone code in common. */
const SHARED_CODE: readonly (readonly [string, string])[] = [
  ['john', 'joan'],
  ['john', 'jean'],
  ['john', 'jane'],
  ['john', 'jonah'],
  ['aaron', 'erin'],
  ['stephen', 'stefan'],
  ['stephen', 'stephanie'],
  ['steven', 'stefan'],
  ['kristin', 'kirsten'],
  ['kirsten', 'kristin'],
  ['shaun', 'shane'],
  ['zoey', 'zoe'],
];

/** Other names and short forms: another person, or not what the phrase says. */
const DIFFERENT_NAMES = [
  ...SHARED_CODE,
  ['catherine', 'kathleen'],
  ['catherine', 'cathy'],
  ['stephen', 'steve'],
] as const;

describe('sound-alike names', () => {
  it.each(SAME_NAME)('"hey %s" is woken by "hey %s"', (name, heard) => {
    expect(wakes(`hey ${name}`, `hey ${heard}, who is at the door`)).toBe('them');
  });

  it.each(DIFFERENT_NAMES)('"hey %s" is not woken by "hey %s"', (name, heard) => {
    expect(wakes(`hey ${name}`, `hey ${heard}, who is at the door`)).toBeNull();
  });

  it('the different names share a Double Metaphone code (or the test proves nothing)', () => {
    for (const [name, heard] of SHARED_CODE) {
      const keys = phoneticKeys(heard);
      expect(
        phoneticKeys(name).some((k) => keys.includes(k)),
        `${name} / ${heard}`,
      ).toBe(true);
    }
  });

  it('finds them among many phrases with the same greeting too', () => {
    // More than 8 continuations of "hey": the matcher looks them up in the index, not one by one.
    const others = 'astraea echo doorman nova jarvis alexander starlight kristin aaron zoey'.split(
      ' ',
    );
    for (const [name, heard] of [...SAME_NAME, ['kathryn', 'katherine']] as const) {
      const owners = [...others, name].map((n) => ({ phrase: `hey ${n}`, target: n }));
      const matcher = compileMatcher(owners, DEFAULT_MATCH_OPTIONS);
      const got = matcher.find(prepareUtterance(`hey ${heard}, who is at the door`));
      expect(got?.target, `${name} / ${heard}`).toBe(name);
    }
  });

  it('a one-token phrase takes only a spelling that sounds identical', () => {
    expect(wakes('philip', 'filip, the van is here')).toBe('them');
    expect(wakes('catherine', 'katherine, the van is here')).toBe('them');
    expect(wakes('catherine', 'kathryn, the van is here')).toBeNull();
  });

  it('a three-letter word wakes only as an identical-sounding spelling', () => {
    expect(wakes('hey john', 'hey jon')).toBe('them');
    expect(wakes('hey john', 'hey jan')).toBeNull();
    expect(wakes('hey jane', 'hey jan')).toBeNull();
  });

  it('folds spelling-only differences and keeps the vowels', () => {
    expect(soundSpelling('catherine')).toBe('katherine');
    expect(soundSpelling('cathryn')).toBe('kathrin');
    expect(soundSpelling('phillip')).toBe('filip');
    expect(soundSpelling('john')).toBe('jon');
    expect(soundSpelling('shawn')).toBe('shaun');
    expect(soundSpelling('joan')).toBe('joan');
    expect(soundSpelling('jonah')).toBe('jona');
  });

  it('prices what the folding cannot explain', () => {
    expect(respellingCost('katherine', 'kathrin')).toBe(1);
    expect(respellingCost('stefen', 'steven')).toBe(0.5);
    expect(respellingCost('stefen', 'stefan')).toBeGreaterThan(1);
    expect(respellingCost('jon', 'joan')).toBeGreaterThan(1);
    expect(respellingCost('jon', 'jona')).toBeGreaterThan(1);
    expect(respellingCost('aron', 'erin')).toBeGreaterThan(1);
    expect(soundAlikeFit('hey', 'hay')).toBeNull();
  });

  it('tells vowels that changed in place from vowels that moved', () => {
    expect(sameSyllableShape('astraea', 'astria')).toBe(true);
    expect(sameSyllableShape('astraea', 'astraya')).toBe(true);
    expect(sameSyllableShape('peeter', 'peter')).toBe(true);
    expect(sameSyllableShape('kristin', 'kirsten')).toBe(false);
    expect(sameSyllableShape('alexander', 'alexandria')).toBe(false);
    expect(sameSyllableShape('shaun', 'shane')).toBe(false);
    expect(sameSyllableShape('bell', 'bells')).toBe(false);
  });
});
