/**
 * Many microphones, one house, end to end over real sockets and the manual clock: an HTTP panel
 * (POST /text with its own `room`) and a Wyoming satellite (placed by ECHONET_SOURCE_ROOMS) in one
 * kitchen. Duplicate wakes wait the arbitration window and only the most complete is forwarded;
 * a lone microphone answers before the clock moves at all; losers' follow-ups are dropped while
 * they match the winner's; a reply heard back by a microphone in its room is dropped as an echo.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { register } from '../helpers/app.js';
import { logged, say, type Json } from '../helpers/text.js';
import { waitFor, within } from '../helpers/wait.js';
import { ask, transcript } from '../helpers/wyoming-client.js';
import { startWyomingApp, type WyomingApp } from '../wyoming/helpers.js';
import { recordingTarget } from '../helpers/recording-target.js';

const KITCHEN = { ECHONET_SOURCE_ROOMS: 'kitchen-sat=kitchen,kitchen-panel=kitchen' };

async function kitchen(env: Record<string, string> = {}, reply = 'The lights are on.') {
  const astraea = await recordingTarget();
  astraea.behave({ kind: 'answer', body: JSON.stringify({ reply }) });
  const t = await startWyomingApp({ ...KITCHEN, ...env });
  await register(t, 'astraea', astraea.url, ['hey astraea']);
  return { t, astraea };
}

/** POST /text from the kitchen's panel (it sends its own room). */
function panel(t: WyomingApp, text: string, extra: Record<string, unknown> = {}): Promise<Json> {
  return say(t, 'kitchen-panel', text, { room: 'kitchen', ...extra });
}

/** A transcript from the kitchen's Wyoming satellite (its room comes from ECHONET_SOURCE_ROOMS). */
function satellite(t: WyomingApp, text: string) {
  return ask(t.port, transcript(text, { satellite_id: 'kitchen-sat' }));
}

describe('duplicate-wake arbitration', () => {
  it('forwards only the most complete of two wakes in one room, after the window', async () => {
    const { t, astraea } = await kitchen();
    const fromPanel = panel(t, 'Hey Astraea, lights on', { confidence: 0.99 });
    await waitFor(() => t.app.rooms.waiting === 1, { what: "the panel's wake to wait" });
    const fromSatellite = satellite(t, 'Hey Astraea, turn the kitchen lights on');
    await waitFor(() => t.app.rooms.waiting === 2, { what: 'both wakes to wait for the window' });
    // Both wait on the clock's one timer: nothing has gone to the target yet.
    expect(t.clock.pendingTimers).toBe(1);
    expect(astraea.received).toHaveLength(0);

    t.clock.advance(0.3);
    const [lost, won] = await Promise.all([fromPanel, fromSatellite]);
    // The satellite said more after the wake phrase: it wins despite the lower confidence.
    expect(won).toMatchObject({ type: 'handled', data: { text: 'The lights are on.' } });
    expect(lost).toMatchObject({
      handled: true,
      forwarded: false,
      reason: 'duplicate_wake',
      winner: 'kitchen-sat',
      routed_to: 'astraea',
      session: null,
      reply: null,
    });
    const [got] = await astraea.waitFor(1);
    expect(got!.body).toMatchObject({
      source_id: 'kitchen-sat',
      room: 'kitchen',
      text: 'turn the kitchen lights on',
    });

    // The why, in the log: both sources and their texts, on the loser's row and the winner's.
    const loser = await logged(t, lost.event_id!);
    expect(loser).toMatchObject({ reason: 'duplicate_wake', forwarded: false, room: 'kitchen' });
    expect(loser.detail.arbitration).toMatchObject({
      kind: 'wake',
      room: 'kitchen',
      target: 'astraea',
      window_ms: 300,
      winner: 'kitchen-sat',
    });
    expect(
      (loser.detail.arbitration.contenders as Json[]).map((c) => [c.source_id, c.text]),
    ).toEqual([
      ['kitchen-panel', 'Hey Astraea, lights on'],
      ['kitchen-sat', 'Hey Astraea, turn the kitchen lights on'],
    ]);
    const events = await waitFor(async () => {
      const list = (await t.request({ method: 'GET', url: '/events?source_id=kitchen-sat' })).json<{
        events: Json[];
      }>().events;
      return list.length === 1 ? list : undefined;
    });
    expect(events[0]).toMatchObject({
      reason: 'trigger_phrase:hey astraea',
      forwarded: true,
      front_end: 'wyoming',
      room: 'kitchen',
      detail: { arbitration: { winner: 'kitchen-sat' } },
    });
  });

  it('breaks a tie on completeness by confidence, then by who was first', async () => {
    const { t, astraea } = await kitchen();
    const low = panel(t, 'Hey Astraea, lights on', { confidence: 0.5 });
    await waitFor(() => t.app.rooms.waiting === 1);
    const high = say(t, 'kitchen-sat', 'Hey Astraea, lights on', { confidence: 0.9 });
    await waitFor(() => t.app.rooms.waiting === 2);
    t.clock.advance(0.3);
    expect(await low).toMatchObject({ reason: 'duplicate_wake', winner: 'kitchen-sat' });
    expect(await high).toMatchObject({ forwarded: true });

    // Same words, same confidence: the first one heard wins.
    t.clock.advance(60);
    const first = panel(t, 'Hey Astraea, lights off', { confidence: 0.8 });
    await waitFor(() => t.app.rooms.waiting === 1);
    const second = say(t, 'kitchen-sat', 'hey astraea lights off', { confidence: 0.8 });
    await waitFor(() => t.app.rooms.waiting === 2);
    t.clock.advance(0.3);
    expect(await first).toMatchObject({ forwarded: true });
    expect(await second).toMatchObject({
      reason: 'duplicate_wake',
      winner: 'kitchen-panel',
    });
    await astraea.waitFor(2);
    expect(astraea.received.map((r) => (r.body as Json).source_id)).toEqual([
      'kitchen-sat',
      'kitchen-panel',
    ]);
  });

  it('lets a lone microphone through before the clock moves: no timer, no wait', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp({ ECHONET_SOURCE_ROOMS: 'den-sat=den' });
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    // The clock is never advanced in this test: an answer at all proves nothing waited on it
    // (other timers may be pending: the sessions' expiry).
    const answer = await within(satellite2(t, 'den-sat', 'Hey Astraea, what time is it?'));
    expect(answer.type).toBe('handled');
    expect(t.app.rooms.waiting).toBe(0);
    const [got] = await astraea.waitFor(1);
    expect(got!.body).toMatchObject({ source_id: 'den-sat', room: 'den' });
    // Over HTTP with its own room, alone in it: the same.
    const http = await say(t, 'office-panel', 'hey astraea hello', { room: 'office' });
    expect(http).toMatchObject({ forwarded: true, reason: 'trigger_phrase:hey astraea' });
    expect(t.app.rooms.waiting).toBe(0);
  });

  it('drops a wake from a source nobody knew yet that comes inside the window, and knows it after', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const hall = (source: string, text: string) => say(t, source, text, { room: 'hall' });
    // Only one source was ever heard in the hall: no wait.
    expect(await hall('hall-a', 'hey astraea open the door')).toMatchObject({ forwarded: true });
    t.clock.advance(0.1);
    expect(await hall('hall-b', 'hey astraea open the door')).toMatchObject({
      handled: true,
      forwarded: false,
      reason: 'duplicate_wake',
      winner: 'hall-a',
    });
    expect(t.app.rooms.waiting).toBe(0);
    expect(t.app.rooms.known('hall')).toEqual(['hall-a', 'hall-b']);
    // Past the window, the hall has two known sources: the next wake waits for the other.
    t.clock.advance(5);
    const next = hall('hall-a', 'hey astraea close the door');
    await waitFor(() => t.app.rooms.waiting === 1);
    t.clock.advance(0.3);
    expect(await next).toMatchObject({ forwarded: true });
    expect(astraea.received).toHaveLength(2);
  });

  it("drops a loser's follow-ups that match the winner's, before or after it, and lets others through", async () => {
    const { t, astraea } = await kitchen();
    const lost = panel(t, 'Hey Astraea, lights on');
    await waitFor(() => t.app.rooms.waiting === 1);
    const won = satellite(t, 'Hey Astraea, turn the lights on please');
    await waitFor(() => t.app.rooms.waiting === 2);
    t.clock.advance(0.3);
    expect(await lost).toMatchObject({ reason: 'duplicate_wake', winner: 'kitchen-sat' });
    await won;
    await astraea.waitFor(1);

    // The winner's follow-up first: the loser's copy is dropped at once.
    t.clock.advance(2);
    expect((await satellite(t, 'and dim them a little')).type).toBe('handled');
    const copy = await panel(t, 'and dim them a little');
    expect(copy).toMatchObject({ handled: true, forwarded: false, reason: 'duplicate_wake' });
    expect(copy.winner).toBe('kitchen-sat');
    expect(t.app.rooms.waiting).toBe(0);

    // The loser's copy first: it waits for the winner to say the same, then is dropped.
    t.clock.advance(2);
    const early = panel(t, 'make them warmer');
    await waitFor(() => t.app.rooms.waiting === 1, { what: 'the follow-up to wait' });
    expect((await satellite(t, 'make them warmer')).type).toBe('handled');
    const dropped = await early;
    expect(dropped).toMatchObject({ reason: 'duplicate_wake', winner: 'kitchen-sat' });
    const row = await logged(t, dropped.event_id!);
    expect(row.detail.arbitration).toMatchObject({ kind: 'follow_up', winner: 'kitchen-sat' });
    expect((row.detail.arbitration.contenders as Json[]).map((c) => [c.source_id, c.text])).toEqual(
      [
        ['kitchen-sat', 'make them warmer'],
        ['kitchen-panel', 'make them warmer'],
      ],
    );

    // Something the winner does not say within the window is the loser's own (here: no wake
    // phrase, no conversation of its own, so nothing).
    t.clock.advance(2);
    const own = panel(t, 'what is the weather');
    await waitFor(() => t.app.rooms.waiting === 1);
    t.clock.advance(0.3);
    expect(await own).toMatchObject({ handled: false, reason: 'no_trigger_no_session' });
    // The target heard the winner's three utterances, never a copy.
    expect(astraea.received.map((r) => (r.body as Json).source_id)).toEqual([
      'kitchen-sat',
      'kitchen-sat',
      'kitchen-sat',
    ]);
  });

  it('arbitrates satellites whose wake word never reaches Echonet (a default target) alike', async () => {
    const { t, astraea } = await kitchen({ ECHONET_DEFAULT_TARGET: 'astraea' });
    const lost = panel(t, 'turn on the lights');
    await waitFor(() => t.app.rooms.waiting === 1);
    const won = satellite(t, 'turn on the kitchen lights');
    await waitFor(() => t.app.rooms.waiting === 2);
    t.clock.advance(0.3);
    expect(await lost).toMatchObject({ reason: 'duplicate_wake', winner: 'kitchen-sat' });
    expect((await won).type).toBe('handled');

    // The copy of the follow-up is not a new conversation with the default target.
    t.clock.advance(2);
    expect((await satellite(t, 'and dim them')).type).toBe('handled');
    expect(await panel(t, 'and dim them')).toMatchObject({
      reason: 'duplicate_wake',
      winner: 'kitchen-sat',
    });
    expect(
      astraea.received.map((r) => [(r.body as Json).source_id, (r.body as Json).text]),
    ).toEqual([
      ['kitchen-sat', 'turn on the kitchen lights'],
      ['kitchen-sat', 'and dim them'],
    ]);
  });

  it("ends a loser's own conversation, so its copies of the winner's follow-ups are dropped", async () => {
    const { t, astraea } = await kitchen();
    // The satellite wins a first round alone and has a conversation with Astraea.
    expect((await wake(t, 'Hey Astraea, lights on')).type).toBe('handled');
    // Both hear the next wake; the panel's transcript is the more complete.
    t.clock.advance(5);
    const fromPanel = panel(t, 'Hey Astraea, set the oven to two hundred degrees');
    await waitFor(() => t.app.rooms.waiting === 1);
    const fromSatellite = satellite(t, 'Hey Astraea, set the oven');
    await waitFor(() => t.app.rooms.waiting === 2);
    t.clock.advance(0.3);
    // The losing satellite says nothing.
    expect(await fromSatellite).toMatchObject({ type: 'handled', data: { text: '' } });
    expect(await fromPanel).toMatchObject({ forwarded: true });
    const sessions = (await t.request({ method: 'GET', url: '/sessions' })).json<{
      sessions: Json[];
    }>().sessions;
    expect(sessions.map((s) => s.source_id)).toEqual(['kitchen-panel']);

    t.clock.advance(1);
    expect(await panel(t, 'and preheat it')).toMatchObject({ forwarded: true });
    expect(await satellite(t, 'and preheat it')).toMatchObject({
      type: 'handled',
      data: { text: '' },
    });
    expect(astraea.received.map((r) => (r.body as Json).source_id)).toEqual([
      'kitchen-sat',
      'kitchen-panel',
      'kitchen-panel',
    ]);
  });

  it('is off at ECHONET_ARBITRATION_WINDOW_MS=0, and the window is a live setting', async () => {
    const { t, astraea } = await kitchen({ ECHONET_ARBITRATION_WINDOW_MS: '0' });
    expect(await panel(t, 'hey astraea lights on')).toMatchObject({ forwarded: true });
    expect(await panel(t, 'hey astraea lights on')).toMatchObject({ forwarded: true });
    expect(t.app.rooms.waiting).toBe(0);

    const set = await t.request({
      method: 'PUT',
      url: '/config/arbitration_window_ms',
      payload: { value: '500' },
    });
    expect(set.statusCode).toBe(200);
    const waiting = panel(t, 'hey astraea lights off');
    await waitFor(() => t.app.rooms.waiting === 1);
    t.clock.advance(0.499);
    expect(t.app.rooms.waiting).toBe(1);
    t.clock.advance(0.001);
    expect(await waiting).toMatchObject({ forwarded: true });
    expect(astraea.received).toHaveLength(3);

    const bad = await t.request({
      method: 'PUT',
      url: '/config/arbitration_window_ms',
      payload: { value: 'soon' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(
      /arbitration_window_ms must be an int: an integer from 0 to 5000/,
    );
  });
});

/** The satellite's wake, alone in the kitchen: the window passes with no other microphone. */
async function wake(t: WyomingApp, text: string) {
  const answer = satellite(t, text);
  await waitFor(() => t.app.rooms.waiting === 1);
  t.clock.advance(0.3);
  return answer;
}

function satellite2(t: WyomingApp, satellite_id: string, text: string) {
  return ask(t.port, transcript(text, { satellite_id }));
}

describe('echo suppression', () => {
  it('drops a microphone hearing the reply in its room, and nothing once the window is over', async () => {
    const { t, astraea } = await kitchen({}, 'The kitchen lights are on, at sixty percent.');
    const answer = await wake(t, 'Hey Astraea, kitchen lights on');
    expect(answer.data.text).toBe('The kitchen lights are on, at sixty percent.');
    await astraea.waitFor(1);

    // The panel hears the speaker: the whole reply, a part of it, and the reply a little misheard.
    t.clock.advance(1);
    const whole = await panel(t, 'the kitchen lights are on at sixty percent');
    expect(whole).toMatchObject({
      handled: true,
      forwarded: false,
      reason: 'echo_of_reply',
      routed_to: null,
      session: null,
    });
    expect(whole.winner).toBeUndefined();
    expect(await panel(t, 'lights are on')).toMatchObject({ reason: 'echo_of_reply' });
    // Over Wyoming too, and the satellite says nothing about it.
    const heard = await satellite(t, 'the kitchen light are on at sixty percent');
    expect(heard).toMatchObject({ type: 'handled', data: { text: '' } });
    // Not forwarded, though the satellite's conversation with Astraea is open.
    expect(astraea.received).toHaveLength(1);

    const row = await logged(t, whole.event_id!);
    expect(row).toMatchObject({ reason: 'echo_of_reply', room: 'kitchen', forwarded: false });
    expect(row.detail.echo).toMatchObject({
      room: 'kitchen',
      reply: 'The kitchen lights are on, at sixty percent.',
      reply_event_id: expect.any(String),
      after_ms: 1000,
      similarity: 1,
      contained: true,
    });

    // Another room never heard it.
    const elsewhere = await say(t, 'hall-panel', 'lights are on', { room: 'hall' });
    expect(elsewhere).toMatchObject({ reason: 'no_trigger_no_session' });

    // Something else said in the kitchen is no echo: it continues the conversation.
    expect((await satellite(t, 'now the hallway too')).type).toBe('handled');
    expect(astraea.received).toHaveLength(2);

    // Eight seconds after the last reply, the same words are the speaker's own.
    t.clock.advance(8);
    expect(await panel(t, 'the kitchen lights are on at sixty percent')).toMatchObject({
      reason: 'no_trigger_no_session',
    });
  });

  it('is off at ECHONET_ECHO_WINDOW_S=0; the log keeps no words at the metadata level', async () => {
    const { t, astraea } = await kitchen({ ECHONET_ECHO_WINDOW_S: '0' }, 'Done.');
    expect((await wake(t, 'Hey Astraea, lights on')).data.text).toBe('Done.');
    expect((await satellite(t, 'done')).type).toBe('handled');
    expect(astraea.received).toHaveLength(2);

    const quiet = await kitchen({ ECHONET_EVENT_LOG: 'metadata' }, 'Done and dusted.');
    await wake(quiet.t, 'Hey Astraea, lights on');
    const echo = await panel(quiet.t, 'done and dusted');
    expect(echo.reason).toBe('echo_of_reply');
    const row = await logged(quiet.t, echo.event_id!);
    expect(row.text).toBeNull();
    expect(row.detail.echo).toMatchObject({ reply: null, similarity: 1 });
  });
});

describe('ECHONET_SOURCE_ROOMS', () => {
  it('puts a source without a room of its own in one; its own room wins', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp({ ECHONET_SOURCE_ROOMS: 'porch-sat=porch' });
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    await say(t, 'porch-sat', 'hey astraea one');
    await say(t, 'porch-sat', 'hey astraea two', { room: 'garden' });
    await astraea.waitFor(2);
    expect(astraea.received.map((r) => (r.body as Json).room)).toEqual(['porch', 'garden']);
  });

  it('is a live setting: PUT /config/source_rooms places a satellite from the next utterance', async () => {
    const astraea = await recordingTarget();
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const put = await t.request({
      method: 'PUT',
      url: '/config/source_rooms',
      payload: { value: 'hall-sat=hall' },
    });
    expect(put.json()).toMatchObject({ value: 'hall-sat=hall', origin: 'api' });
    expect((await satellite2(t, 'hall-sat', 'Hey Astraea, hello')).type).toBe('handled');
    const [got] = await astraea.waitFor(1);
    expect(got!.body).toMatchObject({ source_id: 'hall-sat', room: 'hall' });

    const bad = await t.request({
      method: 'PUT',
      url: '/config/source_rooms',
      payload: { value: 'hall-sat' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(
      /^body\.value for source_rooms must be a str: a comma-separated list of source=room/,
    );
  });

  it.each([
    ['kitchen-mic', 'source=room'],
    ['a=kitchen,a=hall', 'each source once'],
    ['a=b=c', 'without = or ,'],
    [`${'x'.repeat(65)}=kitchen`, '1 to 64 characters'],
  ])('refuses %j with one line naming the variable', (value, words) => {
    expect(() => loadConfig({ ECHONET_SOURCE_ROOMS: value }, { envFile: false })).toThrow(
      ConfigError,
    );
    try {
      loadConfig({ ECHONET_SOURCE_ROOMS: value }, { envFile: false });
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/^ECHONET_SOURCE_ROOMS=.* is invalid: expected a comma-separated/);
      expect(message).toContain(words);
      expect(message).not.toContain('\n');
    }
  });

  it('accepts the windows it documents, and refuses others naming the variable', () => {
    const config = loadConfig(
      {
        ECHONET_SOURCE_ROOMS: ' kitchen-mic = kitchen , hall-mic=Kitchen ',
        ECHONET_ARBITRATION_WINDOW_MS: '0',
        ECHONET_ECHO_WINDOW_S: '2.5',
      },
      { envFile: false },
    );
    expect(config.sourceRooms?.map(String)).toEqual(['kitchen-mic=kitchen', 'hall-mic=Kitchen']);
    expect(config.arbitrationWindowMs).toBe(0);
    expect(config.echoWindowS).toBe(2.5);
    expect(() => loadConfig({ ECHONET_ARBITRATION_WINDOW_MS: '-1' }, { envFile: false })).toThrow(
      /^ECHONET_ARBITRATION_WINDOW_MS="-1" is invalid: expected an integer from 0 to 5000$/,
    );
    expect(() => loadConfig({ ECHONET_ECHO_WINDOW_S: 'x' }, { envFile: false })).toThrow(
      /^ECHONET_ECHO_WINDOW_S="x" is invalid/,
    );
  });
});
