/**
 * Names and the default target through the API: ECHONET_MATCH_NAMES and ECHONET_DEFAULT_TARGET,
 * their live keys (PUT /config applies to the next utterance), POST /route/preview as another
 * front end, and the 409 a name and a phrase sharing a key get at registration. Real app, real
 * SQLite file, real targets.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { register, startTestApp, type TestApp } from '../helpers/app.js';
import { startRecordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { waitFor } from '../helpers/wait.js';

let astraea: RecordingTarget;
let echobell: RecordingTarget;
const open: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  astraea = await startRecordingTarget();
  echobell = await startRecordingTarget();
  open.push(astraea, echobell);
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(env: Record<string, string> = {}, logLines?: string[]): Promise<TestApp> {
  const t = await startTestApp(
    env,
    logLines && { logger: { level: 'warn', stream: { write: (l: string) => logLines.push(l) } } },
  );
  open.push(t);
  await register(t, 'astraea', astraea.url, ['hey astraea']);
  await register(t, 'echobell', echobell.url, ['hey echo']);
  return t;
}

async function say(t: TestApp, text: string, source = 'door') {
  const res = await t.request({
    method: 'POST',
    url: '/text',
    payload: { source_id: source, text },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function put(t: TestApp, key: string, value: string) {
  return t.request({ method: 'PUT', url: `/config/${key}`, payload: { value } });
}

describe('ECHONET_MATCH_NAMES over HTTP', () => {
  it('leaves names off for POST /text by default (HTTP is no Wyoming front end)', async () => {
    const t = await setup();
    expect(await say(t, "Astraea, who's at the door?")).toMatchObject({
      mode: 'idle',
      reason: 'no_trigger_no_session',
    });
    expect(astraea.received).toHaveLength(0);
  });

  it('all: a name at the start wakes its target, a name in passing does not', async () => {
    const t = await setup({ ECHONET_MATCH_NAMES: 'all' });
    expect(await say(t, "Astraea, who's at the door?")).toMatchObject({
      mode: 'session_open',
      routed_to: 'astraea',
      reason: 'trigger_name:astraea',
      forwarded: true,
      match: { phrase: 'astraea', matched_text: 'Astraea' },
    });
    expect(astraea.received[0]?.body).toMatchObject({
      text: "who's at the door?",
      mode: 'triggered',
    });
    expect(await say(t, 'I think echobell is broken', 'hall')).toMatchObject({ mode: 'idle' });
  });

  it('match_names is live: all, then off, then back to the environment', async () => {
    const t = await setup();
    expect((await put(t, 'match_names', 'all')).json()).toMatchObject({
      key: 'match_names',
      value: 'all',
      origin: 'api',
    });
    expect(await say(t, 'echobell, ring', 'a')).toMatchObject({ routed_to: 'echobell' });
    await put(t, 'match_names', 'OFF');
    expect(await say(t, 'echobell, ring', 'b')).toMatchObject({ mode: 'idle' });
    const cleared = await t.request({ method: 'DELETE', url: '/config/match_names' });
    expect(cleared.json()).toMatchObject({ value: 'wyoming', origin: 'default' });
  });

  it('POST /route/preview can preview as another front end, and refuses an unknown one', async () => {
    const t = await setup();
    const preview = (payload: object) =>
      t.request({ method: 'POST', url: '/route/preview', payload });
    expect((await preview({ text: 'Astraea, lights' })).json()).toMatchObject({ mode: 'idle' });
    expect((await preview({ text: 'Astraea, lights', front_end: 'wyoming' })).json()).toMatchObject(
      {
        mode: 'session_open',
        routed_to: 'astraea',
        reason: 'trigger_name:astraea',
        forward_text: 'lights',
      },
    );
    const bad = await preview({ text: 'Astraea, lights', front_end: 'telegraph' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/front_end/);
    expect(astraea.received).toHaveLength(0);
  });
});

describe('the decision log', () => {
  it('records trigger_name, and at the metadata level keeps the name out of the reason', async () => {
    for (const level of ['full', 'metadata']) {
      const t = await setup({ ECHONET_MATCH_NAMES: 'all', ECHONET_EVENT_LOG: level });
      const { event_id } = await say(t, 'Astraea, secret plans');
      const event = await waitFor(
        async () => {
          const r = await t.request({ method: 'GET', url: `/events/${event_id}` });
          return r.statusCode === 200 ? r.json().event : undefined;
        },
        { what: 'the event to be logged' },
      );
      expect(event).toMatchObject({
        mode: 'session_open',
        target: 'astraea',
        reason: level === 'full' ? 'trigger_name:astraea' : 'trigger_name',
      });
    }
  });
});

describe('ECHONET_DEFAULT_TARGET over HTTP', () => {
  it('opens a conversation with the default target for what no wake phrase claimed', async () => {
    const t = await setup({ ECHONET_DEFAULT_TARGET: 'Echobell' });
    expect(await say(t, 'what time is it')).toMatchObject({
      handled: true,
      mode: 'session_open',
      routed_to: 'echobell',
      reason: 'default_target',
      forwarded: true,
      session: { target: 'echobell' },
    });
    expect(echobell.received[0]?.body).toMatchObject({
      text: 'what time is it',
      mode: 'triggered',
    });
    expect(await say(t, 'hey astraea lights', 'hall')).toMatchObject({ routed_to: 'astraea' });
  });

  it('routes nowhere while the default target is not registered, with one warning in the log', async () => {
    const lines: string[] = [];
    const t = await setup({ ECHONET_DEFAULT_TARGET: 'nova' }, lines);
    expect(await say(t, 'what time is it', 'a')).toMatchObject({ mode: 'idle' });
    expect(await say(t, 'and now', 'b')).toMatchObject({ mode: 'idle' });
    const warned = lines.filter((l) => l.includes("default target 'nova' is not registered"));
    expect(warned).toHaveLength(1);
  });

  it('default_target is live; empty turns the environment’s off, clearing gives it back', async () => {
    const t = await setup({ ECHONET_DEFAULT_TARGET: 'astraea' });
    expect((await put(t, 'default_target', 'echobell')).json()).toMatchObject({
      value: 'echobell',
      origin: 'api',
    });
    expect(await say(t, 'ring', 'a')).toMatchObject({ routed_to: 'echobell' });
    expect((await put(t, 'default_target', '')).json()).toMatchObject({ value: '', origin: 'api' });
    expect(await say(t, 'ring', 'b')).toMatchObject({ mode: 'idle' });
    const cleared = await t.request({ method: 'DELETE', url: '/config/default_target' });
    expect(cleared.json()).toMatchObject({ value: 'astraea', origin: 'env' });
    expect(await say(t, 'ring', 'c')).toMatchObject({ routed_to: 'astraea' });
  });
});

describe('POST /register and names', () => {
  it('answers 409 when a phrase is another target’s name, or a name another’s phrase', async () => {
    const t = await setup();
    const reg = (name: string, phrases: string[]) =>
      t.request({
        method: 'POST',
        url: '/register',
        payload: { name, base_url: 'http://127.0.0.1:9', phrases },
      });
    const phrase = await reg('nova', ['hey nova', 'Astraea']);
    expect(phrase.statusCode).toBe(409);
    expect(phrase.json()).toMatchObject({
      ok: false,
      error:
        "Phrase 'Astraea' of target 'nova' collides with the name of target 'astraea' (a target's name wakes it like a wake phrase)",
    });
    const name = await reg('hey_echo', ['hey there']);
    expect(name.statusCode).toBe(409);
    expect(name.json().error).toBe(
      "The name of target 'hey_echo' collides with phrase 'hey echo' of target 'echobell' (a target's name wakes it like a wake phrase)",
    );
    // A target may list its own name as a phrase.
    expect((await reg('nova', ['hey nova', 'Nova'])).statusCode).toBe(200);
  });
});
