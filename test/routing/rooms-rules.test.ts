/**
 * The pieces of rooms.ts on their own, with the manual clock: how alike two utterances are, the
 * winner's order, rounds that are decided at once or wait, what a room knows, and that nothing
 * waiting is left hanging when the window changes or the handler closes.
 */
import { describe, expect, it } from 'vitest';
import { SourceRoom } from '../../src/config.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import { WakeArbiter, pickWinner, type Contender } from '../../src/routing/arbitration.js';
import { EchoGuard, containsWords, similarity } from '../../src/routing/echo.js';
import { KNOWN_FOR_MS, Rooms } from '../../src/routing/rooms.js';
import type { Decision } from '../../src/routing/router.js';
import { ManualClock } from '../helpers/app.js';

const words = (text: string) => prepareUtterance(text).tokens.map((t) => t.norm);

function contender(sourceId: string, after: number, confidence: number | null, at = 0): Contender {
  return { sourceId, frontEnd: 'http', text: `${sourceId} said`, after, confidence, at };
}

describe('similarity and containment', () => {
  it.each([
    ['the lights are on', 'the lights are on', 1],
    ['The lights are ON!', 'the lights are on', 1],
    ['the lights are now on', 'the lights are on', 0.8],
    ['the light are on at sixty', 'the lights are on at sixty', 5 / 6],
    ['turn off the radio', 'the lights are on', 0],
  ])('%j against %j: %d', (a, b, expected) => {
    expect(similarity(words(a), words(b))).toBeCloseTo(expected, 5);
  });

  it('finds a run of words in order and together, never an empty one', () => {
    const reply = words('The kitchen lights are on, at sixty percent.');
    expect(containsWords(reply, words('lights are on'))).toBe(true);
    expect(containsWords(reply, words('lights on'))).toBe(false);
    expect(containsWords(reply, [])).toBe(false);
    expect(containsWords(words('on'), reply)).toBe(false);
  });
});

describe('EchoGuard', () => {
  it('remembers the last reply per room for the window only', () => {
    const echo = new EchoGuard();
    echo.replied(
      'kitchen',
      'Kitchen',
      'It is raining.',
      words('It is raining.'),
      'e1',
      1_000,
      8_000,
    );
    expect(echo.check('kitchen', words('it is raining'), 8_999, 8_000)).toMatchObject({
      room: 'Kitchen',
      reply: 'It is raining.',
      reply_event_id: 'e1',
      after_ms: 7_999,
    });
    expect(echo.check('hall', words('it is raining'), 2_000, 8_000)).toBeNull();
    expect(echo.check('kitchen', words('is it raining tomorrow'), 2_000, 8_000)).toBeNull();
    expect(echo.check('kitchen', words('it is raining'), 9_000, 8_000)).toBeNull();
  });

  it('takes a short answer to a question for the speaker, three words of it for an echo', () => {
    const echo = new EchoGuard();
    const reply = 'Which room, the kitchen or the hall?';
    echo.replied('k', 'k', reply, words(reply), 'e2', 0, 8_000);
    expect(echo.check('k', words('the kitchen'), 1, 8_000)).toBeNull();
    expect(echo.check('k', words('kitchen or the hall'), 1, 8_000)).toMatchObject({
      contained: true,
    });
    // Half the reply or more is an echo however short the reply.
    echo.replied('k', 'k', 'Done.', words('Done.'), 'e3', 0, 8_000);
    expect(echo.check('k', words('done'), 1, 8_000)).toMatchObject({ similarity: 1 });
  });
});

describe('the winner', () => {
  it('is the most said after the wake phrase, then the most confident, then the earliest', () => {
    const early = contender('early', 10, 0.5, 0);
    expect(pickWinner([early, contender('longer', 11, 0.1, 5)]).sourceId).toBe('longer');
    expect(pickWinner([early, contender('surer', 10, 0.9, 5)]).sourceId).toBe('surer');
    expect(pickWinner([early, contender('later', 10, 0.5, 5)]).sourceId).toBe('early');
    // No confidence counts below any.
    expect(pickWinner([contender('none', 10, null), contender('some', 10, 0)]).sourceId).toBe(
      'some',
    );
  });
});

describe('WakeArbiter', () => {
  it('decides at once without waiting, and on the clock with; one timer per round', async () => {
    const clock = new ManualClock();
    const arbiter = new WakeArbiter(clock);
    const now = arbiter.wake(
      'den\u0000astraea',
      'den',
      'astraea',
      contender('a', 3, null),
      false,
      300,
    );
    expect(now).toEqual({ won: true, detail: null });

    const rounds = ['kitchen', 'hall', 'porch'].map((room) =>
      arbiter.wake(
        `${room}\u0000astraea`,
        room,
        'astraea',
        contender(`${room}-1`, 3, null),
        true,
        300,
      ),
    );
    const second = arbiter.wake(
      'kitchen\u0000astraea',
      'kitchen',
      'astraea',
      contender('kitchen-2', 9, null),
      true,
      300,
    );
    expect(clock.pendingTimers).toBe(3);
    expect(arbiter.waiting).toBe(4);
    clock.advance(0.3);
    expect(clock.pendingTimers).toBe(0);
    expect(await rounds[0]).toMatchObject({ won: false, winner: 'kitchen-2' });
    expect(await second).toMatchObject({ won: true, detail: { winner: 'kitchen-2' } });
    expect(await rounds[1]).toMatchObject({ won: true });
  });

  it('flush decides every waiting round now and cancels its timer', async () => {
    const clock = new ManualClock();
    const arbiter = new WakeArbiter(clock);
    const waiting = arbiter.wake('k\u0000a', 'k', 'a', contender('x', 1, null), true, 300);
    arbiter.flush();
    expect(await waiting).toMatchObject({ won: true });
    expect(clock.pendingTimers).toBe(0);
    expect(arbiter.waiting).toBe(0);
  });
});

describe('Rooms', () => {
  const wakeDecision = (text: string): Decision => ({
    mode: 'session_open',
    target: 'astraea',
    reason: 'trigger_phrase:hey astraea',
    match: null,
    forward: { text, mode: 'triggered' },
  });
  const heard = (sourceId: string, at: number, text = 'hey astraea lights') => ({
    sourceId,
    frontEnd: 'wyoming',
    text,
    confidence: null,
    at,
  });

  it('knows configured sources and those heard within the day, rooms compared without case', () => {
    const clock = new ManualClock();
    const rooms = new Rooms(
      clock,
      { sourceRooms: [new SourceRoom('mic-a', 'Kitchen')], arbitrationWindowMs: 300 },
      () => false,
    );
    expect(rooms.roomOf('mic-a', null)).toBe('Kitchen');
    expect(rooms.roomOf('mic-a', 'garden')).toBe('garden');
    expect(rooms.roomOf('mic-b', undefined)).toBeNull();
    rooms.screen('kitchen ', prepareUtterance('hello'), heard('mic-b', clock.now()));
    expect(rooms.known('KITCHEN')).toEqual(['mic-a', 'mic-b']);
    clock.advance(KNOWN_FOR_MS / 1000);
    expect(rooms.known('kitchen')).toEqual(['mic-a']);
  });

  it('lets what waits go when the window changes', async () => {
    const clock = new ManualClock();
    const rules = {
      sourceRooms: [new SourceRoom('a', 'k'), new SourceRoom('b', 'k')],
      arbitrationWindowMs: 300,
    };
    const rooms = new Rooms(clock, rules, () => false);
    const u = prepareUtterance('hey astraea lights');
    rooms.screen('k', u, heard('a', clock.now()));
    const verdict = rooms.arbitrate('k', u, wakeDecision('lights'), heard('a', clock.now()));
    expect(verdict).toBeInstanceOf(Promise);
    expect(rooms.waiting).toBe(1);
    rooms.configure({ ...rules, arbitrationWindowMs: 0 });
    expect(await verdict).toMatchObject({ won: true });
    expect(clock.pendingTimers).toBe(0);
    // Off: nothing to say about the next one.
    expect(rooms.arbitrate('k', u, wakeDecision('lights'), heard('b', clock.now()))).toBeNull();
    expect(rooms.enabled).toBe(false);
  });
});
