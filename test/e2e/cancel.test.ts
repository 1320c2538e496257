/**
 * The cancel rule end to end (issue 13): a real app on 127.0.0.1 spoken to over HTTP, a real
 * SQLite file, real targets recording what they get. A cancel is what an utterance ends on; a
 * cancel phrase that begins a request reaches the assistant.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { register } from '../helpers/app.js';
import { startListeningApp, type ListeningApp } from '../helpers/listening-app.js';
import { startRecordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { loggedEvent as logged } from '../helpers/logged.js';

let astraea: RecordingTarget;
/** Closed after each test, last opened first. */
const open: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  astraea = await startRecordingTarget();
  open.push(astraea);
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(): Promise<ListeningApp> {
  const t = await startListeningApp({});
  open.push(t);
  await register(t, 'astraea', astraea.url, ['hey astraea']);
  return t;
}

async function say(t: ListeningApp, text: string) {
  const res = await t.request({
    method: 'POST',
    url: '/text',
    payload: { source_id: 'hall', text },
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function sessions(t: ListeningApp): Promise<unknown[]> {
  return (await t.request({ method: 'GET', url: '/sessions' })).json().sessions;
}

describe('cancel end to end', () => {
  it('delivers requests that start with a cancel phrase, and cancels what ends with one', async () => {
    const t = await setup();
    const meeting = await say(t, 'Hey Astraea, cancel my meeting');
    expect(meeting).toMatchObject({
      mode: 'session_open',
      routed_to: 'astraea',
      forwarded: true,
      reason: 'trigger_phrase:hey astraea',
    });
    expect(await say(t, 'stop the music')).toMatchObject({
      mode: 'session_continue',
      forwarded: true,
    });
    expect(astraea.received.map((r) => (r.body as { text: string }).text)).toEqual([
      'cancel my meeting',
      'stop the music',
    ]);

    const trailing = await say(t, 'turn on the porch light\u2026 never mind');
    expect(trailing).toEqual({
      handled: true,
      routed_to: null,
      mode: 'session_end',
      session: null,
      forwarded: false,
      reason: 'cancel_trailing',
      match: null,
      event_id: expect.any(String),
      reply: null,
    });
    expect(await sessions(t)).toEqual([]);
    expect(await logged(t, trailing.event_id)).toMatchObject({
      text: 'turn on the porch light\u2026 never mind',
      mode: 'session_end',
      reason: 'cancel_trailing',
      session_change: 'ended',
      forwarded: false,
    });
    expect(astraea.received).toHaveLength(2);
  });

  it('ends the conversation on a cancel after the wake phrase, forwarding nothing', async () => {
    const t = await setup();
    await say(t, 'hey astraea what is on today');
    const cancelled = await say(t, 'Hey Astraea, uh, never mind, thanks.');
    expect(cancelled).toMatchObject({
      mode: 'session_end',
      reason: 'cancel',
      forwarded: false,
      routed_to: null,
    });
    expect(await sessions(t)).toEqual([]);
    expect((await logged(t, cancelled.event_id)).reason).toBe('cancel');
    expect(astraea.received).toHaveLength(1);
  });
});
