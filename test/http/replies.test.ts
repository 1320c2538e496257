/**
 * Replies flow back: a target's /listen answering `{"reply", "end_session"}` gives the `/text`
 * answer its `reply`, ends the conversation when asked, and leaves its mark in the decision log;
 * old targets (`{"ok":true}`) and answers that are no JSON keep working, with no reply.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_REPLY_CHARS } from '../../src/delivery/target-answer.js';
import { register, startTestApp, type TestApp } from '../helpers/app.js';
import { recordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { logged as loggedIn, say as sayTo, type Json } from '../helpers/text.js';

let target: RecordingTarget;
let t: TestApp;

beforeEach(async () => {
  target ??= await recordingTarget();
  target.received.length = 0;
  target.behave({ kind: 'status', status: 200 });
  if (t === undefined) {
    t = await startTestApp();
    await register(t, 'astraea', target.url, ['hey astraea']);
  }
  await t.request({ method: 'DELETE', url: '/sessions/kitchen' });
});

const say = (text: string, source_id = 'kitchen'): Promise<Json> => sayTo(t, source_id, text);
const logged = (eventId: string): Promise<Json> => loggedIn(t, eventId);

async function liveSessions(): Promise<Json[]> {
  return (await t.request({ method: 'GET', url: '/sessions' })).json().sessions;
}

describe('a reply', () => {
  it('comes back in the /text answer and is logged', async () => {
    target.behave({ kind: 'answer', body: '{"reply":"Nobody is at the door.","ok":true}' });
    const answer = await say('hey astraea who is at the door');
    expect(answer).toMatchObject({
      handled: true,
      routed_to: 'astraea',
      mode: 'session_open',
      forwarded: true,
      reply: 'Nobody is at the door.',
    });
    expect(answer).not.toHaveProperty('intended_target');
    expect(await logged(answer.event_id)).toMatchObject({
      reply: 'Nobody is at the door.',
      reply_truncated: false,
      front_end: 'http',
      conversation_id: null,
      intended_target: null,
    });
  });

  it('is null for an old target answering {"ok":true}, which gets the payload it always got', async () => {
    const answer = await say('hey astraea lights on');
    expect(answer).toMatchObject({ forwarded: true, reply: null });
    expect(target.received[0]?.body).toEqual({
      event_id: answer.event_id,
      ts: expect.any(Number),
      source_id: 'kitchen',
      room: null,
      session_id: answer.session.id,
      mode: 'triggered',
      text: 'lights on',
      confidence: null,
    });
    expect(await logged(answer.event_id)).toMatchObject({ reply: null, reply_truncated: false });
  });

  it.each([
    ['plain text', 'Sure thing', 'text/plain'],
    ['HTML', '<p>ok</p>', 'text/html'],
    ['broken JSON', '{"reply":"unfinished', 'application/json'],
    ['a JSON list', '["reply"]', 'application/json'],
  ])(
    'is null when the target answers %s, and the utterance still counts as delivered',
    async (_, body, contentType) => {
      target.behave({ kind: 'answer', body, contentType });
      const answer = await say('hey astraea lights off');
      expect(answer).toMatchObject({
        forwarded: true,
        reply: null,
        reason: 'trigger_phrase:hey astraea',
      });
      // Delivered: the conversation is open, as after any delivered wake phrase.
      expect(answer.session).not.toBeNull();
    },
  );

  it(`is cut at a word boundary beyond ${MAX_REPLY_CHARS} characters, and the log says so`, async () => {
    const long = Array.from({ length: 500 }, (_, i) => `sentence${i}`).join(' ');
    target.behave({ kind: 'answer', body: JSON.stringify({ reply: long }) });
    const answer = await say('hey astraea read me the news');
    expect(answer.reply.length).toBeLessThanOrEqual(MAX_REPLY_CHARS);
    expect(long.startsWith(answer.reply)).toBe(true);
    expect(long[answer.reply.length]).toBe(' ');
    expect(answer.reply.length).toBeGreaterThan(MAX_REPLY_CHARS - 'sentence499 '.length);
    expect(await logged(answer.event_id)).toMatchObject({
      reply: answer.reply,
      reply_truncated: true,
    });
  });

  it('comes back in a continued conversation too', async () => {
    await say('hey astraea set a timer');
    target.behave({ kind: 'answer', body: '{"reply":"For how long?"}' });
    const answer = await say('for ten minutes');
    expect(answer).toMatchObject({ mode: 'session_continue', reply: 'For how long?' });
  });
});

describe('end_session', () => {
  it('ends the conversation once the utterance is delivered', async () => {
    target.behave({ kind: 'answer', body: '{"reply":"Goodbye.","end_session":true}' });
    const answer = await say('hey astraea thanks that is all');
    expect(answer).toMatchObject({
      mode: 'session_open',
      forwarded: true,
      reply: 'Goodbye.',
      session: null,
    });
    expect(await liveSessions()).toEqual([]);
    const event = await logged(answer.event_id);
    expect(event).toMatchObject({ session_change: 'ended', reply: 'Goodbye.' });
    // The session it was delivered in is still named, so the log reads as one conversation.
    expect(event.session_id).toEqual(expect.any(String));

    // With no conversation left, the next utterance needs a wake phrase again.
    target.behave({ kind: 'status', status: 200 });
    const next = await say('and the lights');
    expect(next).toMatchObject({ handled: false, mode: 'idle', reason: 'no_trigger_no_session' });
  });

  it('ends a continued conversation, without a reply too', async () => {
    const first = await say('hey astraea play some jazz');
    target.behave({ kind: 'answer', body: '{"end_session":true}' });
    const answer = await say('that will do');
    expect(answer).toMatchObject({
      mode: 'session_continue',
      forwarded: true,
      reply: null,
      session: null,
    });
    expect(await liveSessions()).toEqual([]);
    expect(await logged(answer.event_id)).toMatchObject({
      session_id: first.session.id,
      session_change: 'ended',
    });
  });

  it('false, or anything but true, keeps the conversation', async () => {
    for (const body of ['{"end_session":false}', '{"end_session":"true"}', '{"end_session":1}']) {
      target.behave({ kind: 'answer', body });
      const answer = await say('hey astraea what is the time');
      expect(answer.session, body).not.toBeNull();
      expect((await liveSessions()).map((s) => s.source_id)).toEqual(['kitchen']);
    }
  });

  it('is not heeded from a target that failed, whose conversation ends as failed', async () => {
    await say('hey astraea start the dishwasher');
    target.behave({ kind: 'answer', status: 500, body: '{"end_session":true,"reply":"oops"}' });
    const answer = await say('on eco mode');
    expect(answer).toMatchObject({
      forwarded: false,
      reason: 'forward_failed:status_500',
      reply: null,
      session: null,
    });
    // Ended by the failure (any failed forward ends its conversation), not by the body.
    expect(await liveSessions()).toEqual([]);
  });

  it("ends only the speaker's conversation", async () => {
    target.behave({ kind: 'status', status: 200 });
    await say('hey astraea hello', 'hall');
    target.behave({ kind: 'answer', body: '{"end_session":true}' });
    await say('hey astraea bye');
    expect((await liveSessions()).map((s) => s.source_id)).toEqual(['hall']);
    await t.request({ method: 'DELETE', url: '/sessions/hall' });
  });
});

describe('a reply in the decision log at ECHONET_EVENT_LOG=metadata', () => {
  it('is handed back but not kept: a reply is words, like the text', async () => {
    const m = await startTestApp({ ECHONET_EVENT_LOG: 'metadata' });
    await register(m, 'astraea', target.url, ['hey astraea']);
    const long = 'private '.repeat(400);
    target.behave({ kind: 'answer', body: JSON.stringify({ reply: long }) });
    const answer = await sayTo(m, 'kitchen', 'hey astraea tell me a secret');
    expect(answer.reply).toMatch(/^private private/);
    expect(await loggedIn(m, answer.event_id)).toMatchObject({
      reply: null,
      reply_truncated: true,
      privacy: 'metadata',
    });
  });
});
