/**
 * Text with no word in it, over a listening socket: POST /text answers idle with `empty_text`, a
 * live conversation is neither extended nor ended, and the target receives nothing (the next real
 * follow-up is the only thing it gets after the wake phrase).
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, register, startTestApp, type TestApp } from '../helpers/app.js';
import { startRecordingTarget, type RecordingTarget } from '../helpers/recording-target.js';

let target: RecordingTarget;
let t: TestApp;
let base: string;

beforeAll(async () => {
  target = await startRecordingTarget();
  t = await startTestApp();
  await register(t, 'astraea', target.url, ['hey astraea']);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await target.close();
});

async function post(path: string, body: Record<string, unknown>) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown> & {
    session: { id: string; expires_in_s: number } | null;
  };
}

describe('POST /text with no word in it', () => {
  it('is idle without a session', async () => {
    expect(await post('/text', { source_id: 'hall', text: '   ' })).toMatchObject({
      handled: false,
      mode: 'idle',
      reason: 'empty_text',
      forwarded: false,
      routed_to: null,
      session: null,
      event_id: expect.any(String),
    });
  });

  it('inside a session forwards nothing and neither extends nor ends it', async () => {
    const opened = await post('/text', { source_id: 'door', text: 'Hey Astraea, who is there?' });
    expect(opened).toMatchObject({ mode: 'session_open', forwarded: true });
    const sessionId = opened.session?.id;

    // 20 of the 25 s pass; an utterance that extended the session would reset them.
    t.clock.advance(20);
    for (const text of ['   ', '?!']) {
      const res = await post('/text', { source_id: 'door', text });
      expect(res).toMatchObject({
        handled: false,
        mode: 'idle',
        reason: 'empty_text',
        forwarded: false,
        routed_to: null,
        event_id: expect.any(String),
        session: { id: sessionId, expires_in_s: 5 },
      });
    }
    expect(await post('/route/preview', { source_id: 'door', text: '?!' })).toMatchObject({
      mode: 'idle',
      reason: 'empty_text',
      forward_text: null,
    });

    // The next real words still continue the same session, and they are all the target got.
    const next = await post('/text', { source_id: 'door', text: 'and the weather?' });
    expect(next).toMatchObject({
      mode: 'session_continue',
      forwarded: true,
      session: { id: sessionId, expires_in_s: 25 },
    });
    const received = await target.waitFor(2);
    expect(received.map((r) => (r.body as { text: string }).text)).toEqual([
      'who is there?',
      'and the weather?',
    ]);
  });
});
