/**
 * Reading what a target's /listen answered: a reply and end_session from JSON, nothing from
 * anything else, and a long reply cut at a word boundary.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_REPLY_CHARS,
  NO_ANSWER,
  capReply,
  readTargetAnswer,
} from '../../src/delivery/target-answer.js';

describe('readTargetAnswer', () => {
  it.each([
    ['{"reply":"It is four o\'clock."}', "It is four o'clock.", false],
    ['{"reply":"Goodbye.","end_session":true}', 'Goodbye.', true],
    ['{"reply":"Still here.","end_session":false}', 'Still here.', false],
    ['{"end_session":true}', null, true],
    ['{"reply":null,"end_session":true}', null, true],
    ['{"reply":"","end_session":false}', '', false],
    ['{"ok":true,"reply":"Yes.","model":"x","tokens":[1,2]}', 'Yes.', false],
    ['  {"reply":"spaced"}\n', 'spaced', false],
  ])('%s → reply %j, end_session %j', (body, reply, endSession) => {
    expect(readTargetAnswer(body)).toEqual({ reply, truncated: false, endSession });
  });

  it.each([
    ['an empty body', ''],
    ['an old target’s answer', '{"ok":true}'],
    ['plain text', 'OK, noted'],
    ['HTML', '<html><body>ok</body></html>'],
    ['broken JSON', '{"reply": "half'],
    ['a JSON string', '"just a string"'],
    ['a JSON array', '[{"reply":"in a list"}]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a reply that is no string', '{"reply":{"text":"nested"}}'],
    ['a reply that is a number', '{"reply":12}'],
    ['end_session that is no boolean', '{"end_session":"yes"}'],
    ['end_session as 1', '{"end_session":1}'],
  ])('%s is no reply and keeps the conversation', (_, body) => {
    expect(readTargetAnswer(body)).toEqual(NO_ANSWER);
  });

  it('cuts a long reply and says so', () => {
    const words = Array.from({ length: 600 }, (_, i) => `word${i}`).join(' ');
    const answer = readTargetAnswer(JSON.stringify({ reply: words }));
    expect(answer.truncated).toBe(true);
    expect(answer.reply!.length).toBeLessThanOrEqual(MAX_REPLY_CHARS);
    expect(words.startsWith(answer.reply!)).toBe(true);
    // Cut between two words: the next character of the original is the space.
    expect(words[answer.reply!.length]).toBe(' ');
  });
});

describe('capReply', () => {
  it('leaves a reply of exactly the limit alone', () => {
    const text = 'a'.repeat(MAX_REPLY_CHARS);
    expect(capReply(text)).toEqual({ text, truncated: false });
  });

  it('counts characters, not UTF-16 units: 2 000 emoji are not over the limit', () => {
    const text = '🙂'.repeat(MAX_REPLY_CHARS);
    expect(text.length).toBe(2 * MAX_REPLY_CHARS);
    expect(capReply(text)).toEqual({ text, truncated: false });
  });

  it('cuts at the last space before the limit, never inside a word', () => {
    expect(capReply('one two three four', 10)).toEqual({ text: 'one two', truncated: true });
    expect(capReply('one two three four', 9)).toEqual({ text: 'one two', truncated: true });
  });

  it('keeps a word that ends exactly at the limit', () => {
    expect(capReply('one two three', 7)).toEqual({ text: 'one two', truncated: true });
  });

  it('cuts at any white space, a line break included, and drops the spaces before the cut', () => {
    expect(capReply('first line   \nsecond line', 16)).toEqual({
      text: 'first line',
      truncated: true,
    });
  });

  it('cuts inside a word longer than the limit (there is no boundary to cut at)', () => {
    expect(capReply('x'.repeat(30), 10)).toEqual({ text: 'x'.repeat(10), truncated: true });
    expect(capReply('   ' + 'y'.repeat(30), 10)).toEqual({
      text: '   ' + 'y'.repeat(7),
      truncated: true,
    });
  });

  it('never splits a surrogate pair', () => {
    const { text, truncated } = capReply('🙂'.repeat(12), 10);
    expect(truncated).toBe(true);
    expect(Array.from(text)).toEqual(Array(10).fill('🙂'));
  });

  it('counts a lone surrogate (JSON may carry one as \\ud800) as one character', () => {
    expect(capReply('\ud800' + 'x'.repeat(20), 10)).toEqual({
      text: '\ud800' + 'x'.repeat(9),
      truncated: true,
    });
  });
});
