/**
 * TextHandler's onSession, through a real app, real targets on 127.0.0.1 and POST /text: every
 * conversation that opens is announced, and every one that ends, with why; a failed forward ends
 * the conversation it opened or continued, so the next follow-up is not sent to a dead target.
 */
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/routing/sessions.js';
import { ADMIN_KEY, register, startTestApp } from '../helpers/app.js';
import { closedPort, recordingTarget } from '../helpers/recording-target.js';
import { logged, say } from '../helpers/text.js';
import { ask, transcript } from '../helpers/wyoming-client.js';
import { startWyomingApp } from '../wyoming/helpers.js';

/** An app with astraea and echobell registered (both answering 200) and the events it announced. */
async function setUp(env: Record<string, string> = {}) {
  const events: SessionEvent[] = [];
  const astraea = await recordingTarget();
  const echobell = await recordingTarget();
  const t = await startTestApp(env, { onSession: (e) => events.push(e) });
  await register(t, 'astraea', astraea.url, ['hey astraea']);
  await register(t, 'echobell', echobell.url, ['hey echobell']);
  const said = () =>
    events.map((e) =>
      e.kind === 'started'
        ? `started ${e.session.sourceId}>${e.session.target} via ${e.frontEnd}`
        : `ended ${e.session.sourceId}>${e.session.target} ${e.reason}`,
    );
  return { t, astraea, echobell, events, said };
}

describe('session events from routing', () => {
  it('announces a conversation opened by a wake phrase, with the answer’s session id', async () => {
    const { t, events, said } = await setUp();
    const answer = await say(t, 'kitchen', 'hey astraea what time is it');
    expect(said()).toEqual(['started kitchen>astraea via http']);
    expect(events[0]?.session.id).toBe(answer.session.id);
  });

  it('announces a conversation opened by the default target', async () => {
    const { t, said } = await setUp({ ECHONET_DEFAULT_TARGET: 'echobell' });
    const answer = await say(t, 'hall', 'what is the weather');
    expect(answer.reason).toBe('default_target');
    expect(said()).toEqual(['started hall>echobell via http']);
  });

  it('a continued conversation announces nothing', async () => {
    const { t, said } = await setUp();
    await say(t, 'kitchen', 'hey astraea what time is it');
    const answer = await say(t, 'kitchen', 'and tomorrow');
    expect(answer.mode).toBe('session_continue');
    expect(said()).toEqual(['started kitchen>astraea via http']);
  });

  it('waking another target ends the old conversation (switched), then starts the new one', async () => {
    const { t, said } = await setUp();
    await say(t, 'kitchen', 'hey astraea what time is it');
    const answer = await say(t, 'kitchen', 'hey echobell play music');
    expect(answer.mode).toBe('session_switch');
    expect(said()).toEqual([
      'started kitchen>astraea via http',
      'ended kitchen>astraea switched',
      'started kitchen>echobell via http',
    ]);
  });

  it('waking the same target again is a new conversation: the old one ends (switched)', async () => {
    const { t, events, said } = await setUp();
    const first = await say(t, 'kitchen', 'hey astraea what time is it');
    const second = await say(t, 'kitchen', 'hey astraea what day is it');
    expect(second.session.id).not.toBe(first.session.id);
    expect(said()).toEqual([
      'started kitchen>astraea via http',
      'ended kitchen>astraea switched',
      'started kitchen>astraea via http',
    ]);
    expect(events[1]?.session.id).toBe(first.session.id);
  });

  it('a cancel phrase ends it (cancel)', async () => {
    const { t, said } = await setUp();
    await say(t, 'kitchen', 'hey astraea what time is it');
    await say(t, 'kitchen', 'never mind');
    expect(said()).toEqual(['started kitchen>astraea via http', 'ended kitchen>astraea cancel']);
  });

  it('the target’s end_session ends it (end_session)', async () => {
    const { t, astraea, said } = await setUp();
    astraea.behave({ kind: 'answer', body: '{"reply":"Bye.","end_session":true}' });
    await say(t, 'kitchen', 'hey astraea thanks that is all');
    expect(said()).toEqual([
      'started kitchen>astraea via http',
      'ended kitchen>astraea end_session',
    ]);
  });

  it('POST /sessions/{id}/end and DELETE /sessions/{id} end it (api)', async () => {
    const { t, said } = await setUp();
    await say(t, 'kitchen', 'hey astraea what time is it');
    await say(t, 'hall', 'hey astraea what time is it');
    expect((await t.request({ method: 'POST', url: '/sessions/kitchen/end' })).statusCode).toBe(
      200,
    );
    expect((await t.request({ method: 'DELETE', url: '/sessions/hall' })).statusCode).toBe(200);
    // Nothing left to end: nothing said.
    await t.request({ method: 'DELETE', url: '/sessions/hall' });
    expect(said().filter((line) => line.startsWith('ended'))).toEqual([
      'ended kitchen>astraea api',
      'ended hall>astraea api',
    ]);
  });

  it('deleting its target ends it (unregistered)', async () => {
    const { t, said } = await setUp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    await say(t, 'kitchen', 'hey astraea what time is it');
    const res = await t.request({ method: 'DELETE', url: '/targets/astraea' });
    expect(res.statusCode, res.body).toBe(200);
    expect(said()).toEqual([
      'started kitchen>astraea via http',
      'ended kitchen>astraea unregistered',
    ]);
  });

  it('expiry is announced when nobody speaks again (timeout), exactly once', async () => {
    const { t, said } = await setUp({ ECHONET_SESSION_TIMEOUT_S: '10' });
    await say(t, 'kitchen', 'hey astraea what time is it');
    t.clock.advance(9);
    expect(said()).toEqual(['started kitchen>astraea via http']);
    t.clock.advance(1);
    expect(said()).toEqual(['started kitchen>astraea via http', 'ended kitchen>astraea timeout']);
    const listed = await t.request({ method: 'GET', url: '/sessions' });
    expect(listed.json().sessions).toEqual([]);
    await say(t, 'kitchen', 'and tomorrow');
    expect(said()).toHaveLength(2);
  });

  it('a conversation extended before expiry is not announced as timed out', async () => {
    const { t, said } = await setUp({ ECHONET_SESSION_TIMEOUT_S: '10' });
    await say(t, 'kitchen', 'hey astraea what time is it');
    t.clock.advance(8);
    await say(t, 'kitchen', 'and tomorrow');
    t.clock.advance(8);
    expect(said()).toEqual(['started kitchen>astraea via http']);
    t.clock.advance(2);
    expect(said()).toEqual(['started kitchen>astraea via http', 'ended kitchen>astraea timeout']);
  });
});

describe('a failed forward ends its conversation (failed)', () => {
  it('one it opened: the answer has no session, the log says ended, the follow-up is routed afresh', async () => {
    const { t, astraea, said } = await setUp();
    astraea.behave({ kind: 'status', status: 500 });
    const answer = await say(t, 'kitchen', 'hey astraea what time is it');
    expect(answer).toMatchObject({
      mode: 'session_open',
      forwarded: false,
      reason: 'forward_failed:status_500',
      session: null,
    });
    expect(said()).toEqual(['started kitchen>astraea via http', 'ended kitchen>astraea failed']);
    expect((await logged(t, answer.event_id)).session_change).toBe('ended');
    const followUp = await say(t, 'kitchen', 'are you there');
    expect(followUp).toMatchObject({ mode: 'idle', reason: 'no_trigger_no_session' });
    expect(astraea.received).toHaveLength(1);
  });

  it('one it continued', async () => {
    const { t, astraea, said } = await setUp();
    await say(t, 'kitchen', 'hey astraea what time is it');
    astraea.behave({ kind: 'status', status: 503 });
    const answer = await say(t, 'kitchen', 'and tomorrow');
    expect(answer).toMatchObject({ mode: 'session_continue', forwarded: false, session: null });
    expect(said()).toEqual(['started kitchen>astraea via http', 'ended kitchen>astraea failed']);
    expect((await t.request({ method: 'GET', url: '/sessions' })).json().sessions).toEqual([]);
  });

  it('nor when the target refused that one utterance (4xx): the conversation stays', async () => {
    const { t, astraea, said } = await setUp();
    await say(t, 'kitchen', 'hey astraea what time is it');
    astraea.behave({ kind: 'status', status: 422 });
    const answer = await say(t, 'kitchen', 'and tomorrow');
    expect(answer).toMatchObject({
      mode: 'session_continue',
      forwarded: false,
      reason: 'forward_failed:status_422',
      session: { target: 'astraea' },
    });
    astraea.behave({ kind: 'status', status: 200 });
    expect(await say(t, 'kitchen', 'and the day after')).toMatchObject({
      mode: 'session_continue',
      forwarded: true,
    });
    expect(said()).toEqual(['started kitchen>astraea via http']);
  });

  it("nor on target_busy (Echonet's own in-flight cap; the target is up): the conversation stays", async () => {
    const events: SessionEvent[] = [];
    const astraea = await recordingTarget();
    const t = await startTestApp(
      { ECHONET_TARGET_MAX_INFLIGHT: '1', ECHONET_HTTP_TIMEOUT_S: '60' },
      { onSession: (e) => events.push(e) },
    );
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    await say(t, 'kitchen', 'hey astraea play some music');
    // Another source's forward holds astraea's one slot while the kitchen follows up.
    astraea.behave({ kind: 'hold' });
    const held = say(t, 'hall', 'hey astraea what is the weather');
    await astraea.waitFor(2);
    const busy = await say(t, 'kitchen', 'a bit louder');
    expect(busy).toMatchObject({
      mode: 'session_continue',
      forwarded: false,
      reason: 'target_busy',
      session: { target: 'astraea' },
    });
    astraea.release();
    await held;
    astraea.behave({ kind: 'status', status: 200 });
    expect(await say(t, 'kitchen', 'a bit louder')).toMatchObject({
      mode: 'session_continue',
      forwarded: true,
    });
    expect(events.filter((e) => e.kind === 'ended')).toEqual([]);
  });

  it('but not when the fallback took it: the conversation stays with the intended target', async () => {
    const { t, said } = await setUp({ ECHONET_FALLBACK_TARGET: 'echobell' });
    await register(t, 'astraea', `http://127.0.0.1:${await closedPort()}`, ['hey astraea']);
    const answer = await say(t, 'kitchen', 'hey astraea what time is it');
    expect(answer).toMatchObject({ forwarded: true, routed_to: 'echobell' });
    expect(answer.session).toMatchObject({ target: 'astraea' });
    expect(said()).toEqual(['started kitchen>astraea via http']);
  });

  it('nor a conversation the failed utterance did not belong to (a dispatch outside it)', async () => {
    const { t, astraea, said } = await setUp();
    await say(t, 'kitchen', 'hey astraea what time is it');
    astraea.behave({ kind: 'status', status: 500 });
    await say(t, 'hall', 'hey astraea what time is it');
    expect(said()).toEqual([
      'started kitchen>astraea via http',
      'started hall>astraea via http',
      'ended hall>astraea failed',
    ]);
    expect((await t.request({ method: 'GET', url: '/sessions' })).json().sessions).toHaveLength(1);
  });
});

describe('the same rules for a Wyoming satellite', () => {
  it('announces its conversation as opened by wyoming, and ends it when the target fails', async () => {
    const events: SessionEvent[] = [];
    const astraea = await recordingTarget();
    const t = await startWyomingApp({}, { onSession: (e) => events.push(e) });
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const hall = { satellite_id: 'hall' };
    expect((await ask(t.port, transcript('hey astraea lights on', hall))).type).toBe('handled');
    expect(events).toMatchObject([
      { kind: 'started', frontEnd: 'wyoming', session: { sourceId: 'hall', frontEnd: 'wyoming' } },
    ]);
    astraea.behave({ kind: 'status', status: 500 });
    await ask(t.port, transcript('and the hall', hall));
    expect(events[1]).toMatchObject({ kind: 'ended', reason: 'failed', frontEnd: 'wyoming' });
    // The follow-up is not sent to the target that failed: no conversation, nothing forwarded.
    astraea.behave({ kind: 'status', status: 200 });
    expect((await ask(t.port, transcript('are you there', hall))).type).toBe('not-handled');
    expect(astraea.received).toHaveLength(2);
  });
});
