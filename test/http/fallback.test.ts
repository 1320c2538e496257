/**
 * ECHONET_FALLBACK_TARGET: when the chosen target times out, refuses, fails with a 5xx or has its
 * breaker open, the utterance goes once to the fallback, with `mode: "fallback"` and
 * `intended_target` in the payload; the answer and the decision log name both targets. Real
 * targets on 127.0.0.1, a real database.
 */
import { describe, expect, it } from 'vitest';
import { register, startTestApp, type TestApp } from '../helpers/app.js';
import { closedPort, recordingTarget } from '../helpers/recording-target.js';
import { logged, say as sayFrom, type Json } from '../helpers/text.js';

const say = (t: TestApp, text: string): Promise<Json> => sayFrom(t, 'kitchen', text);

/**
 * An app where `astraea` lives at `astraeaUrl` (default: a port that refuses connections) and
 * `echobell`, a recording target with a reply, is the fallback (`fallback: false`: registered,
 * but not configured as one).
 */
async function setUp(
  astraeaUrl?: string,
  env: Record<string, string> = {},
  { fallback: configured = true } = {},
) {
  const fallback = await recordingTarget();
  fallback.behave({ kind: 'answer', body: '{"reply":"Astraea is away; Echobell here."}' });
  const t = await startTestApp({
    ...(configured && { ECHONET_FALLBACK_TARGET: 'echobell' }),
    ...env,
  });
  await register(t, 'astraea', astraeaUrl ?? `http://127.0.0.1:${await closedPort()}`, [
    'hey astraea',
  ]);
  await register(t, 'echobell', fallback.url, ['hey echobell']);
  return { t, fallback };
}

describe('the fallback target', () => {
  it('gets an utterance whose target refuses the connection, once, and the answer names both', async () => {
    const { t, fallback } = await setUp();
    const answer = await say(t, 'hey astraea what is on my calendar');
    expect(answer).toMatchObject({
      handled: true,
      mode: 'session_open',
      routed_to: 'echobell',
      intended_target: 'astraea',
      forwarded: true,
      reason: 'fallback:forward_failed:refused',
      reply: 'Astraea is away; Echobell here.',
    });
    // The conversation stays with the target that was meant: it gets the next turn.
    expect(answer.session).toMatchObject({ target: 'astraea' });

    expect(fallback.received).toHaveLength(1);
    expect(fallback.received[0]?.body).toEqual({
      event_id: answer.event_id,
      ts: expect.any(Number),
      source_id: 'kitchen',
      room: null,
      session_id: null,
      mode: 'fallback',
      text: 'what is on my calendar',
      confidence: null,
      intended_target: 'astraea',
    });

    expect(await logged(t, answer.event_id)).toMatchObject({
      mode: 'session_open',
      target: 'echobell',
      intended_target: 'astraea',
      forwarded: true,
      status: 200,
      reason: 'fallback:forward_failed:refused',
      failure: 'forward_failed:refused',
      reply: 'Astraea is away; Echobell here.',
    });
  });

  it('gets an utterance whose target answers 5xx, in a continued conversation too', async () => {
    const astraea = await recordingTarget();
    const { t, fallback } = await setUp(astraea.url);
    const opened = await say(t, 'hey astraea start a list');
    expect(opened).toMatchObject({ routed_to: 'astraea', forwarded: true });
    expect(opened).not.toHaveProperty('intended_target');

    astraea.behave({ kind: 'status', status: 503 });
    const answer = await say(t, 'add milk');
    expect(answer).toMatchObject({
      mode: 'session_continue',
      routed_to: 'echobell',
      intended_target: 'astraea',
      forwarded: true,
      reason: 'fallback:forward_failed:status_503',
    });
    expect(fallback.received[0]?.body).toMatchObject({
      mode: 'fallback',
      intended_target: 'astraea',
      session_id: null,
      text: 'add milk',
    });
    expect(await logged(t, answer.event_id)).toMatchObject({
      target: 'echobell',
      intended_target: 'astraea',
      failure: 'forward_failed:status_503',
      session_id: opened.session.id,
    });

    // Once: astraea is back, and the conversation goes on with it.
    astraea.behave({ kind: 'status', status: 200 });
    const next = await say(t, 'and eggs');
    expect(next).toMatchObject({ routed_to: 'astraea', mode: 'session_continue' });
    expect(next).not.toHaveProperty('intended_target');
    expect(fallback.received).toHaveLength(1);
  });

  it('gets an utterance whose target times out', async () => {
    const astraea = await recordingTarget();
    astraea.behave({ kind: 'hold' });
    const { t, fallback } = await setUp(astraea.url, { ECHONET_HTTP_TIMEOUT_S: '0.3' });
    const pending = say(t, 'hey astraea are you there');
    await astraea.waitFor(1);
    // The fallback's own forward gets a generous timeout: this test is about the first one's.
    const put = await t.request({
      method: 'PUT',
      url: '/config/http_timeout_s',
      payload: { value: '30' },
    });
    expect(put.statusCode).toBe(200);
    const answer = await pending;
    astraea.release();
    expect(answer).toMatchObject({
      routed_to: 'echobell',
      intended_target: 'astraea',
      forwarded: true,
      reason: 'fallback:forward_failed:timeout',
    });
    expect(fallback.received).toHaveLength(1);
  });

  it('gets an utterance whose target’s breaker is open', async () => {
    const astraea = await recordingTarget();
    astraea.behave({ kind: 'status', status: 500 });
    const { t, fallback } = await setUp(astraea.url, { ECHONET_BREAKER_FAILURES: '1' });
    expect(await say(t, 'hey astraea one')).toMatchObject({
      reason: 'fallback:forward_failed:status_500',
    });
    const answer = await say(t, 'hey astraea two');
    expect(answer).toMatchObject({
      routed_to: 'echobell',
      intended_target: 'astraea',
      forwarded: true,
      reason: 'fallback:target_unavailable',
    });
    // The open breaker kept the second utterance from astraea.
    expect(astraea.received).toHaveLength(1);
    expect(fallback.received).toHaveLength(2);
  });

  it.each([
    [
      'answers 4xx (it refused this utterance on purpose)',
      { kind: 'status', status: 404 } as const,
      'forward_failed:status_404',
    ],
    [
      'resets the connection twice (it may have acted already)',
      { kind: 'reset' } as const,
      'forward_failed:reset',
    ],
  ])('is not used when the target %s', async (_, behaviour, reason) => {
    const astraea = await recordingTarget();
    astraea.behave(behaviour);
    const { t, fallback } = await setUp(astraea.url);
    const answer = await say(t, 'hey astraea hello');
    expect(answer).toMatchObject({ routed_to: 'astraea', forwarded: false, reason });
    expect(answer).not.toHaveProperty('intended_target');
    expect(fallback.received).toHaveLength(0);
  });

  it('that fails too leaves the utterance undelivered, naming both, and is not tried again', async () => {
    const { t, fallback } = await setUp();
    fallback.behave({ kind: 'status', status: 502 });
    const answer = await say(t, 'hey astraea hello');
    expect(answer).toMatchObject({
      routed_to: 'echobell',
      intended_target: 'astraea',
      forwarded: false,
      reason: 'forward_failed:status_502',
      reply: null,
    });
    expect(fallback.received).toHaveLength(1);
    expect(await logged(t, answer.event_id)).toMatchObject({
      target: 'echobell',
      intended_target: 'astraea',
      forwarded: false,
      status: 502,
      reason: 'forward_failed:status_502',
      failure: 'forward_failed:refused',
    });
  });

  it('is not sent what it failed itself: no second forward to the same target', async () => {
    const echobell = await recordingTarget();
    echobell.behave({ kind: 'status', status: 500 });
    const t = await startTestApp({ ECHONET_FALLBACK_TARGET: 'echobell' });
    await register(t, 'echobell', echobell.url, ['hey echobell']);
    const answer = await say(t, 'hey echobell hello');
    expect(answer).toMatchObject({ routed_to: 'echobell', reason: 'forward_failed:status_500' });
    expect(answer).not.toHaveProperty('intended_target');
    expect(echobell.received).toHaveLength(1);
  });

  it('that is not registered is skipped, with one warning however often it is needed', async () => {
    const warnings: string[] = [];
    const t = await startTestApp(
      { ECHONET_FALLBACK_TARGET: 'nobody' },
      { logger: { level: 'warn', stream: { write: (line: string) => warnings.push(line) } } },
    );
    await register(t, 'astraea', `http://127.0.0.1:${await closedPort()}`, ['hey astraea']);
    for (let i = 0; i < 3; i++) {
      const answer = await say(t, 'hey astraea hello');
      expect(answer).toMatchObject({ forwarded: false, reason: 'forward_failed:refused' });
      expect(answer).not.toHaveProperty('intended_target');
    }
    const about = warnings.filter((l) => l.includes("fallback target 'nobody' is not registered"));
    expect(about).toHaveLength(1);
  });

  it('can hand back end_session: the conversation ends', async () => {
    const { t, fallback } = await setUp();
    fallback.behave({ kind: 'answer', body: '{"reply":"Bye for now.","end_session":true}' });
    const answer = await say(t, 'hey astraea goodbye');
    expect(answer).toMatchObject({ routed_to: 'echobell', reply: 'Bye for now.', session: null });
    expect((await t.request({ method: 'GET', url: '/sessions' })).json().sessions).toEqual([]);
  });
});

describe('fallback_target, live', () => {
  const setFallback = (t: TestApp, value: string) =>
    t.request({ method: 'PUT', url: '/config/fallback_target', payload: { value } });
  const getFallback = async (t: TestApp): Promise<Json> =>
    (await t.request({ method: 'GET', url: '/config/fallback_target' })).json();

  it('is set, cleared and refused through PUT /config, and applies from the next utterance', async () => {
    const { t, fallback } = await setUp(undefined, {}, { fallback: false });

    expect(await getFallback(t)).toMatchObject({
      key: 'fallback_target',
      value: '',
      type: 'str',
      origin: 'default',
    });
    expect(await say(t, 'hey astraea one')).toMatchObject({ reason: 'forward_failed:refused' });

    const set = await setFallback(t, 'EchoBell');
    expect(set.statusCode, set.body).toBe(200);
    // Stored as a target name is: lower-case.
    expect(set.json()).toMatchObject({ value: 'echobell', origin: 'api' });
    expect(await say(t, 'hey astraea two')).toMatchObject({
      routed_to: 'echobell',
      intended_target: 'astraea',
      forwarded: true,
    });

    const bad = await setFallback(t, 'echo bell!');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/^body\.value for fallback_target must be a str: .*target/);

    const off = await setFallback(t, '');
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json()).toMatchObject({ value: '', origin: 'api' });
    expect(await say(t, 'hey astraea three')).toMatchObject({ reason: 'forward_failed:refused' });
    expect(fallback.received).toHaveLength(1);
  });

  it('an empty value stored through the API turns off a fallback the environment set', async () => {
    const { t, fallback } = await setUp();
    expect(await getFallback(t)).toMatchObject({ value: 'echobell', origin: 'env' });
    expect((await setFallback(t, '')).statusCode).toBe(200);
    expect(await say(t, 'hey astraea hello')).toMatchObject({ reason: 'forward_failed:refused' });
    expect(fallback.received).toHaveLength(0);

    // Cleared, the environment's value is back.
    const cleared = await t.request({ method: 'DELETE', url: '/config/fallback_target' });
    expect(cleared.json()).toMatchObject({ value: 'echobell', origin: 'env' });
    expect(await say(t, 'hey astraea again')).toMatchObject({ routed_to: 'echobell' });
  });
});
