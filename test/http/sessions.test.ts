/**
 * The session routes in the Python service's wire format: whole seconds in `expires_in_s`, the
 * ended source in `ended`, and DELETE /sessions/{source_id} doing what POST .../end does.
 */
import { describe, expect, it } from 'vitest';
import { register, startTestApp, type TestApp } from '../helpers/app.js';
import { recordingTarget } from '../helpers/recording-target.js';

/** Targets that take every utterance: a failed forward would end the conversation. */

/**
 * Opens a conversation for `source`, heard in `room`: a microphone of its own there, since two
 * in one room waking the same target at once are one wake (duplicate-wake arbitration).
 */
async function openSession(t: TestApp, source: string, room = 'hall'): Promise<void> {
  const res = await t.request({
    method: 'POST',
    url: '/text',
    payload: { source_id: source, room, ts: 1_700_000_000, text: 'hey astraea hello' },
  });
  expect(res.json()).toMatchObject({ handled: true, mode: 'session_open' });
}

describe('session routes', () => {
  it('give expires_in_s in whole seconds, rounded up while the session lives', async () => {
    const t = await startTestApp();
    await register(t, 'astraea', (await recordingTarget()).url, ['hey astraea']);
    await openSession(t, 'door');
    t.clock.advance(0.3);
    const list = (await t.request({ method: 'GET', url: '/sessions' })).json();
    // 24.7 s left: 25, never 24.7 (the Python service's clients parse an int).
    expect(list.sessions[0]).toMatchObject({ last_ts: 1_700_000_000, expires_in_s: 25 });
    t.clock.advance(24.5);
    const last = (await t.request({ method: 'GET', url: '/sessions' })).json();
    expect(last.sessions[0].expires_in_s).toBe(1);
    expect(Number.isInteger(last.sessions[0].expires_in_s)).toBe(true);
  });

  it('DELETE /sessions/{source_id} ends the session like POST .../end', async () => {
    const t = await startTestApp();
    await register(t, 'astraea', (await recordingTarget()).url, ['hey astraea']);
    await openSession(t, 'door');
    await openSession(t, 'kitchen', 'kitchen');

    const del = await t.request({ method: 'DELETE', url: '/sessions/door' });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ ok: true, ended: 'door', had_session: true });
    const sessions = (await t.request({ method: 'GET', url: '/sessions' })).json().sessions;
    expect(sessions.map((s: { source_id: string }) => s.source_id)).toEqual(['kitchen']);

    const again = await t.request({ method: 'DELETE', url: '/sessions/door' });
    expect(again.json()).toEqual({ ok: true, ended: 'door', had_session: false });
  });

  it('refuse a source_id the API never accepts, naming it', async () => {
    const t = await startTestApp();
    const long = 'x'.repeat(65);
    for (const req of [
      { method: 'DELETE' as const, url: `/sessions/${long}` },
      { method: 'POST' as const, url: `/sessions/${long}/end` },
    ]) {
      const res = await t.request(req);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe('params.source_id must be at most 64 characters');
    }
  });
});
