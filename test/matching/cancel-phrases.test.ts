import { describe, expect, it } from 'vitest';
import { compileCancelPhrases } from '../../src/matching/cancel-phrases.js';
import { compileMatcher } from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';

const cancel = compileCancelPhrases(['cancel', 'stop', 'never mind', 'stop listening']);
const wakes = compileMatcher(
  [
    { phrase: 'hey astraea', target: 'astraea' },
    { phrase: 'ok nova', target: 'nova' },
  ],
  { fuzzy: false, minScore: 1 },
);

/** The kind of cancel `text` is (with the wake phrase the matcher finds in it), or null. */
function kind(text: string): string | null {
  const u = prepareUtterance(text);
  return cancel.find(u, wakes.find(u))?.kind ?? null;
}

describe('CancelPhrases.find', () => {
  it.each([
    'cancel',
    'Never mind.',
    'Hey Astraea, cancel',
    'hey astraea never mind',
    'ok nova, stop listening',
    'uh, please stop',
    'OK, cancel that, thanks.',
    'never mind, thank you',
    'stop it',
    'cancel everything for now',
    'Stop. Stop listening.',
    'um hey astraea uh cancel',
  ])('%j is only a cancel', (text) => {
    expect(kind(text)).toBe('cancel');
  });

  it.each([
    'turn on the porch light\u2026 never mind',
    'turn on the porch light... never mind',
    'no, stop listening',
    'no stop listening',
    'what time is it? Cancel.',
    'lock the door oh never mind',
    'lock the door, uh, stop',
    'set a timer - cancel',
    'set a timer \u2014 cancel',
    'hey astraea lock the door actually cancel that',
    // The wake phrase is a seam: what came before it is dropped too.
    'the courier is here hey astraea never mind',
  ])('%j ends with a cancel', (text) => {
    expect(kind(text)).toBe('cancel_trailing');
  });

  it.each([
    'Hey Astraea, cancel my meeting',
    'stop the music',
    'never mind the weather',
    'why did you stop listening',
    'where is the bus stop',
    'is the flight non-stop',
    'can you please stop',
    'I need to cancel',
    'cancellation',
    'the bus stopped',
    'please',
    'thanks',
    // A cancel phrase then more words: the assistant hears it, since it may be a request.
    'never mind, what is on today',
  ])('%j does not cancel', (text) => {
    expect(kind(text)).toBeNull();
  });

  it('names the last cancel phrase said, as configured', () => {
    const u = prepareUtterance('Stop. Never-Mind!');
    expect(cancel.find(u, null)).toEqual({ kind: 'cancel', phrase: 'never mind' });
  });

  it('counts a wake phrase only when it ends where the cancel begins', () => {
    // The matcher found the wake phrase, but after the cancel: what it ends on is the wake phrase.
    expect(kind('never mind, hey astraea')).toBeNull();
    // Without a wake match the same words before a cancel are content, with no pause before it.
    const u = prepareUtterance('hey astraea never mind');
    expect(cancel.find(u, null)).toBeNull();
  });

  it('cancels nothing without cancel phrases', () => {
    const none = compileCancelPhrases([]);
    expect(none.size).toBe(0);
    expect(none.find(prepareUtterance('cancel'), null)).toBeNull();
    expect(none.endingOf('cancel')).toBeNull();
  });

  it('folds configured phrases as the matcher does and counts each once', () => {
    const folded = compileCancelPhrases(['Never-Mind', 'never mind', 'NEVER MIND!', '...']);
    expect(folded.size).toBe(1);
    expect(folded.find(prepareUtterance('oh never mind'), null)?.phrase).toBe('Never-Mind');
  });
});

describe('CancelPhrases.endingOf (registration)', () => {
  it.each([
    ['Stop listening!', { phrase: 'stop listening', alone: true }],
    ['please, cancel', { phrase: 'cancel', alone: true }],
    ['cancel it', { phrase: 'cancel', alone: true }],
    ['computer stop', { phrase: 'stop', alone: false }],
    ['hey robot never mind', { phrase: 'never mind', alone: false }],
    ['stop watch', null],
    ['cancel my order', null],
    ['hey astraea', null],
    ['stopwatch', null],
  ])('%j → %j', (phrase, expected) => {
    expect(cancel.endingOf(phrase)).toEqual(expected);
  });
});
