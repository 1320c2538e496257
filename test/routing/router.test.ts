import { describe, expect, it } from 'vitest';
import { compileCancelPhrases } from '../../src/matching/cancel-phrases.js';
import { compileMatcher } from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import {
  decide,
  decideActive,
  decideDefault,
  withoutSpan,
  type RouterRules,
} from '../../src/routing/router.js';
import { buildRoutingTable } from '../../src/routing/routing-table.js';

const triggers = compileMatcher(
  [
    { phrase: 'hey astraea', target: 'astraea' },
    { phrase: 'hey echo', target: 'echobell' },
    { phrase: 'hello echo bell', target: 'echobell' },
  ],
  { fuzzy: false, minScore: 1 },
);
const cancel = compileCancelPhrases(['cancel', 'never mind', 'nevermind', 'stop listening']);
const rules: RouterRules = { triggers, cancel, stripTrigger: true };
const route = (text: string, session: string | null = null, r = rules) =>
  decide(prepareUtterance(text), session, r);

describe('decide', () => {
  it('opens a session on a trigger phrase and strips it', () => {
    const d = route("Hey Astraea, what's the weather?");
    expect(d).toMatchObject({
      mode: 'session_open',
      target: 'astraea',
      reason: 'trigger_phrase:hey astraea',
      forward: { text: "what's the weather?", mode: 'triggered' },
    });
    expect(d.match).toMatchObject({
      phrase: 'hey astraea',
      start: 0,
      end: 11,
      matchedText: 'Hey Astraea',
      exact: true,
      score: 1,
    });
  });

  it('keeps the text whole when stripping is off', () => {
    expect(route('Hey Astraea, hi', null, { ...rules, stripTrigger: false }).forward?.text).toBe(
      'Hey Astraea, hi',
    );
  });

  it('forwards the original text when nothing but the phrase was said', () => {
    expect(route('Hey Astraea!').forward?.text).toBe('Hey Astraea!');
  });

  it('switches when another target held the session, re-opens for the same one', () => {
    expect(route('hey echo ring the bell', 'astraea').mode).toBe('session_switch');
    expect(route('hey echo ring the bell', 'echobell').mode).toBe('session_open');
  });

  it('continues a live session with the text unchanged', () => {
    expect(route('and tomorrow?', 'astraea')).toMatchObject({
      mode: 'session_continue',
      target: 'astraea',
      reason: 'session_active',
      forward: { text: 'and tomorrow?', mode: 'open_listen' },
    });
  });

  it('is idle without a trigger or a session', () => {
    expect(route('just talking here')).toMatchObject({
      mode: 'idle',
      target: null,
      reason: 'no_trigger_no_session',
      forward: null,
    });
  });

  it('ends the session when only a cancel phrase is said, after a wake phrase and fillers', () => {
    const cancelled = {
      mode: 'session_end',
      target: null,
      reason: 'cancel',
      match: null,
      forward: null,
    };
    expect(route('never mind', 'astraea')).toEqual(cancelled);
    expect(route('Hey Astraea, cancel', 'astraea')).toEqual(cancelled);
    expect(route('uh, hey echo, please never mind', 'astraea')).toEqual(cancelled);
    expect(route('OK, cancel that, thanks.')).toEqual(cancelled);
  });

  it('ends the session on a cancel phrase that ends what was said', () => {
    const trailing = {
      mode: 'session_end',
      target: null,
      reason: 'cancel_trailing',
      match: null,
      forward: null,
    };
    expect(route('turn on the porch light\u2026 never mind', 'astraea')).toEqual(trailing);
    expect(route('no, stop listening', 'astraea')).toEqual(trailing);
    expect(route('hey astraea lock the door oh cancel', 'astraea')).toEqual(trailing);
    // A wake phrase said before it is dropped with the rest, and opens nothing.
    expect(route('hey echo ring the bell, never mind')).toEqual(trailing);
  });

  it('sends a request that starts with a cancel phrase to the assistant', () => {
    expect(route('Hey Astraea, cancel my meeting')).toMatchObject({
      mode: 'session_open',
      target: 'astraea',
      reason: 'trigger_phrase:hey astraea',
      forward: { text: 'cancel my meeting', mode: 'triggered' },
    });
    expect(route('cancel my meeting', 'astraea')).toMatchObject({
      mode: 'session_continue',
      forward: { text: 'cancel my meeting', mode: 'open_listen' },
    });
    // Nothing marks a new thought before it: the cancel phrase is part of the sentence.
    expect(route('why did you stop listening', 'astraea').mode).toBe('session_continue');
    expect(route('Stop listening, hey echo', 'astraea')).toMatchObject({
      mode: 'session_switch',
      target: 'echobell',
    });
  });

  it('respects word boundaries', () => {
    expect(route('they echoed the chime').mode).toBe('idle');
    expect(route('the cancellation policy').mode).toBe('idle');
  });

  it('picks the earliest phrase, then the longest', () => {
    expect(route('ok hey echo and hey astraea').target).toBe('echobell');
    const overlapping = compileMatcher(
      [
        { phrase: 'hey echo', target: 'short' },
        { phrase: 'hey echo bell', target: 'long' },
      ],
      { fuzzy: false, minScore: 1 },
    );
    expect(route('hey echo bell ring', null, { ...rules, triggers: overlapping }).target).toBe(
      'long',
    );
  });
});

describe('withoutSpan', () => {
  it.each([
    ['Hey, Astraea! Who is at the door?', 0, 12, 'Who is at the door?'],
    ['Um, hey astraea, what time is it', 4, 15, 'Um what time is it'],
    ['what time is it, hey astraea?', 17, 28, 'what time is it'],
    ['hey astraea', 0, 11, 'hey astraea'],
    ['hey astraea ... !', 0, 11, 'hey astraea ... !'],
  ])('%j without [%i,%i) is %j', (text, start, end, expected) => {
    expect(withoutSpan(text, start, end)).toBe(expected);
  });
});

describe('text with no word in it', () => {
  it.each(['   ', '\t\n', '?!', '...', ' , — ! ', '¿?'])(
    '%j is idle with empty_text, and forwards nothing even inside a session',
    (text) => {
      const empty = {
        mode: 'idle',
        target: null,
        reason: 'empty_text',
        match: null,
        forward: null,
      };
      expect(route(text)).toEqual(empty);
      expect(route(text, 'astraea')).toEqual(empty);
    },
  );

  it('still treats fillers as words: inside a session they are the answer', () => {
    expect(route('uh huh', 'astraea')).toMatchObject({
      mode: 'session_continue',
      forward: { text: 'uh huh', mode: 'open_listen' },
    });
    expect(route('um')).toMatchObject({ mode: 'idle', reason: 'no_trigger_no_session' });
  });
});

describe('decideActive', () => {
  const active = (text: string, session: string | null = null) =>
    decideActive(route(text, session), prepareUtterance(text), 'astraea');

  it('sends what no wake phrase claimed to the active target, once, without a session', () => {
    expect(active('sure, go ahead')).toEqual({
      mode: 'dispatch_once',
      target: 'astraea',
      reason: 'listen_mode_active',
      match: null,
      forward: { text: 'sure, go ahead', mode: 'open_listen' },
    });
    // A conversation with another target does not take it.
    expect(active('sure', 'echobell')).toMatchObject({ mode: 'dispatch_once', target: 'astraea' });
  });

  it('leaves wake phrases, cancel, empty text and a conversation with the target as they were', () => {
    expect(active('hey echo lights')).toMatchObject({ mode: 'session_open', target: 'echobell' });
    expect(active('cancel', 'echobell')).toMatchObject({ mode: 'session_end' });
    expect(active('...')).toMatchObject({ mode: 'idle', reason: 'empty_text' });
    expect(active('and then', 'astraea')).toMatchObject({
      mode: 'session_continue',
      target: 'astraea',
    });
  });
});

describe('names', () => {
  const named = buildRoutingTable(
    [
      { name: 'astraea', baseUrl: 'http://a:1', phrases: ['hey astraea'] },
      { name: 'echobell', baseUrl: 'http://e:1', phrases: ['hey echo'] },
    ],
    { fuzzy: true, minScore: 0.88 },
  );
  const withNames = { ...rules, triggers: named.triggers, names: true };

  it('open a session with the target named at the start, the name stripped', () => {
    expect(route("Astraea, who's at the door?", null, withNames)).toMatchObject({
      mode: 'session_open',
      target: 'astraea',
      reason: 'trigger_name:astraea',
      forward: { text: "who's at the door?", mode: 'triggered' },
    });
    expect(route('echobell ring', 'astraea', withNames)).toMatchObject({
      mode: 'session_switch',
      target: 'echobell',
      reason: 'trigger_name:echobell',
    });
  });

  it('wake nobody where the rules leave them off', () => {
    expect(
      route("Astraea, who's at the door?", null, { ...withNames, names: false }),
    ).toMatchObject({ mode: 'idle', reason: 'no_trigger_no_session' });
    expect(route('Astraea, lights', 'echobell', { ...withNames, names: undefined })).toMatchObject({
      mode: 'session_continue',
      target: 'echobell',
    });
  });

  it('give way to a cancel phrase', () => {
    expect(route('Astraea, never mind', 'astraea', withNames)).toMatchObject({
      mode: 'session_end',
    });
  });
});

describe('decideDefault', () => {
  const withDefault = (text: string, session: string | null = null) =>
    decideDefault(route(text, session), prepareUtterance(text), 'astraea');

  it('opens a session with the default target for what would have been idle', () => {
    expect(withDefault('what time is it')).toEqual({
      mode: 'session_open',
      target: 'astraea',
      reason: 'default_target',
      match: null,
      forward: { text: 'what time is it', mode: 'triggered' },
    });
  });

  it('leaves wake phrases, conversations, cancel and empty text alone', () => {
    expect(withDefault('hey echo lights')).toMatchObject({ target: 'echobell' });
    expect(withDefault('and tomorrow', 'echobell')).toMatchObject({
      mode: 'session_continue',
      target: 'echobell',
    });
    expect(withDefault('cancel')).toMatchObject({ mode: 'session_end' });
    expect(withDefault('?!')).toMatchObject({ mode: 'idle', reason: 'empty_text' });
  });

  it('comes after the active listen mode, which claims the utterance first', () => {
    const text = 'sure';
    const active = decideActive(route(text), prepareUtterance(text), 'echobell');
    expect(decideDefault(active, prepareUtterance(text), 'astraea')).toBe(active);
  });
});
