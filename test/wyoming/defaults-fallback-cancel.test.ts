/**
 * Over Wyoming, as Home Assistant sends it (a new connection per utterance): ECHONET_DEFAULT_TARGET
 * on the main port, ECHONET_FALLBACK_TARGET (its reply spoken, the log naming both targets, and
 * the answers when it cannot help in time or fails too), and the cancel rule that reads the
 * sentence ("cancel my meeting" goes to the assistant; "… never mind" ends the conversation).
 * Real targets on 127.0.0.1, a real database.
 */
import { describe, expect, it } from 'vitest';
import { register } from '../helpers/app.js';
import { closedPort, recordingTarget } from '../helpers/recording-target.js';
import { logged } from '../helpers/text.js';
import { waitFor } from '../helpers/wait.js';
import { ask, transcript } from '../helpers/wyoming-client.js';
import { startWyomingApp, type WyomingApp } from './helpers.js';

/** The decision log's rows for a satellite, oldest first, once `n` are written. */
async function rows(t: WyomingApp, source: string, n: number): Promise<{ id: string }[]> {
  const listed = await waitFor(async () => {
    const res = await t.request({ method: 'GET', url: `/events?source_id=${source}` });
    const events = res.json<{ events: { id: string }[] }>().events;
    return events.length === n ? events : undefined;
  });
  return [...listed].reverse();
}

describe('ECHONET_DEFAULT_TARGET over Wyoming', () => {
  it('takes what names no assistant on the main port, and the conversation continues', async () => {
    const echobell = await recordingTarget();
    echobell.behave({ kind: 'answer', body: JSON.stringify({ reply: 'Ding dong.' }) });
    const t = await startWyomingApp({ ECHONET_DEFAULT_TARGET: 'echobell' });
    await register(t, 'echobell', echobell.url, ['hey echobell']);

    const first = await ask(t.port, transcript('ring the chime', { satellite_id: 'porch' }));
    expect(first).toMatchObject({ type: 'handled', data: { text: 'Ding dong.' } });
    const second = await ask(t.port, transcript('and again', { satellite_id: 'porch' }));
    expect(second).toMatchObject({ type: 'handled', data: { text: 'Ding dong.' } });
    // The payload's modes: a new conversation's first utterance, then a follow-up in it.
    expect(echobell.received.map((r) => r.body)).toMatchObject([
      { source_id: 'porch', mode: 'triggered', text: 'ring the chime' },
      { source_id: 'porch', mode: 'open_listen', text: 'and again' },
    ]);

    const [opened, continued] = await rows(t, 'porch', 2);
    expect(await logged(t, opened!.id)).toMatchObject({
      front_end: 'wyoming',
      mode: 'session_open',
      reason: 'default_target',
      target: 'echobell',
    });
    expect(await logged(t, continued!.id)).toMatchObject({
      mode: 'session_continue',
      target: 'echobell',
    });
  });
});

describe('ECHONET_FALLBACK_TARGET over Wyoming', () => {
  it("speaks the fallback's reply when the assistant named is down; the log names both", async () => {
    const echobell = await recordingTarget();
    echobell.behave({ kind: 'answer', body: JSON.stringify({ reply: 'Astraea is away.' }) });
    const t = await startWyomingApp({ ECHONET_FALLBACK_TARGET: 'echobell' });
    await register(t, 'astraea', `http://127.0.0.1:${await closedPort()}`, ['hey astraea']);
    await register(t, 'echobell', echobell.url, ['hey echobell']);

    const answer = await ask(
      t.port,
      transcript('Astraea, what is on my calendar?', { satellite_id: 'study' }),
    );
    expect(answer).toMatchObject({ type: 'handled', data: { text: 'Astraea is away.' } });
    expect(echobell.received[0]?.body).toMatchObject({
      source_id: 'study',
      mode: 'fallback',
      intended_target: 'astraea',
      text: 'what is on my calendar?',
    });
    const [row] = await rows(t, 'study', 1);
    expect(await logged(t, row!.id)).toMatchObject({
      front_end: 'wyoming',
      target: 'echobell',
      intended_target: 'astraea',
      forwarded: true,
      failure: 'forward_failed:refused',
      reply: 'Astraea is away.',
    });
  });

  it('names the assistant asked for when both it and the fallback fail', async () => {
    const echobell = await recordingTarget();
    echobell.behave({ kind: 'status', status: 503 });
    const t = await startWyomingApp({ ECHONET_FALLBACK_TARGET: 'echobell' });
    await register(t, 'astraea', `http://127.0.0.1:${await closedPort()}`, ['hey astraea']);
    await register(t, 'echobell', echobell.url, ['hey echobell']);

    expect(await ask(t.port, transcript('Astraea, hello', { satellite_id: 'study' }))).toEqual({
      type: 'not-handled',
      data: { text: 'Astraea did not answer, and Echobell did not answer.' },
      payload: null,
    });
    expect(echobell.received).toHaveLength(1);
  });

  it('answers within the forward timeout, naming the assistant, while the fallback is still tried', async () => {
    const astraea = await recordingTarget();
    astraea.behave({ kind: 'hold' });
    const echobell = await recordingTarget();
    echobell.behave({ kind: 'hold' });
    // The fallback's forward starts when the first one times out and has a timeout of its own, so
    // Home Assistant's deadline (the timeout and a little more) comes while it is under way.
    const t = await startWyomingApp({
      ECHONET_FALLBACK_TARGET: 'echobell',
      ECHONET_HTTP_TIMEOUT_S: '0.3',
    });
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    await register(t, 'echobell', echobell.url, ['hey echobell']);

    const answer = await ask(t.port, transcript('Astraea, are you there?', { satellite_id: 'x' }));
    expect(answer).toEqual({
      type: 'not-handled',
      data: { text: 'Astraea did not answer in time.' },
      payload: null,
    });
    expect(astraea.received).toHaveLength(1);
    astraea.release();
    echobell.release();
  });
});

describe('the cancel rule over Wyoming', () => {
  it('forwards "cancel my meeting", and ends the conversation on "… never mind"', async () => {
    const astraea = await recordingTarget();
    astraea.behave({ kind: 'answer', body: JSON.stringify({ reply: 'Done.' }) });
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);
    const say = (text: string) => ask(t.port, transcript(text, { satellite_id: 'office' }));

    expect(await say('Astraea, cancel my meeting')).toMatchObject({
      type: 'handled',
      data: { text: 'Done.' },
    });
    expect(await say('stop the music')).toMatchObject({ type: 'handled', data: { text: 'Done.' } });
    expect(astraea.received.map((r) => (r.body as { text: string }).text)).toEqual([
      'cancel my meeting',
      'stop the music',
    ]);

    // A trailing cancel: nothing is forwarded, nothing is said, the conversation ends.
    expect(await say('turn on the porch light\u2026 never mind')).toEqual({
      type: 'handled',
      data: { text: '' },
      payload: null,
    });
    expect(astraea.received).toHaveLength(2);
    const events = await rows(t, 'office', 3);
    expect(await logged(t, events[2]!.id)).toMatchObject({
      front_end: 'wyoming',
      reason: 'cancel_trailing',
      session_change: 'ended',
      forwarded: false,
    });
    // So the next utterance needs a name again.
    expect((await say('what time is it')).type).toBe('not-handled');
  });

  it('on a binding port, a cancel alone reaches no one, not even the binding’s target', async () => {
    const echobell = await recordingTarget();
    const t = await startWyomingApp({}, { bindings: [{ port: 0, target: 'echobell' }] });
    await register(t, 'echobell', echobell.url, ['hey echobell']);
    const port = t.listening[1]!.port;

    expect(await ask(port, transcript('uh, never mind', { satellite_id: 'porch' }))).toEqual({
      type: 'handled',
      data: { text: '' },
      payload: null,
    });
    expect(await ask(port, transcript('ring the chime', { satellite_id: 'porch' }))).toMatchObject({
      type: 'handled',
    });
    expect(echobell.received.map((r) => (r.body as { text: string }).text)).toEqual([
      'ring the chime',
    ]);
  });
});
