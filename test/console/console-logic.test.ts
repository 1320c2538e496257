/** The console's logic that needs no browser: where an API error belongs, what Try it marks. */
import { describe, expect, test } from 'vitest';
import { ApiError, fieldOf } from '../../console/src/errors.js';
import { highlight } from '../../console/src/highlight.js';

describe('fieldOf: the form field an API error is shown next to', () => {
  const fields = ['name', 'base_url', 'phrases'];
  test.each([
    [400, 'body.base_url must be an http(s) URL', 'base_url'],
    [400, 'body.phrases[3] must be at most 100 characters', 'phrases'],
    [400, 'body.name must be at least 1 characters', 'name'],
    [
      409,
      "Phrase 'hey echo' of target 'zephyr' is already registered by target 'echobell'",
      'phrases',
    ],
    [
      409,
      "The name of target 'echo' collides with phrase 'echo' of target 'echobell' (a target's name wakes it like a wake phrase)",
      'name',
    ],
    [400, 'body has an unknown field', undefined],
    [400, 'body.volume must be a number', undefined],
    [503, 'routing table is stale', undefined],
  ] as const)('%i %s → %s', (status, message, field) => {
    expect(fieldOf(new ApiError(status, message), fields)).toBe(field);
  });
});

describe('highlight: the matched words of a sentence', () => {
  test('marks [start, end) and keeps the rest as it was typed', () => {
    expect(highlight('Well, Hey Astraea! lights on', 6, 17)).toEqual([
      { text: 'Well, ', marked: false },
      { text: 'Hey Astraea', marked: true },
      { text: '! lights on', marked: false },
    ]);
  });
  test('a match at the very start or end leaves no empty piece', () => {
    expect(highlight('hey astraea', 0, 11)).toEqual([{ text: 'hey astraea', marked: true }]);
  });
  test.each([
    [undefined, undefined],
    [3, 3],
    [5, 2],
    [-1, 4],
    [0, 99],
  ])('no span, or one outside the text (%s, %s), marks nothing', (start, end) => {
    expect(highlight('hey astraea', start, end)).toEqual([{ text: 'hey astraea', marked: false }]);
  });
  test('an empty text has no pieces', () => {
    expect(highlight('', 0, 0)).toEqual([]);
  });
});
