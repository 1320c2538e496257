import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, register, startTestApp, type TestApp } from '../helpers/app.js';
import { recordingTarget } from '../helpers/recording-target.js';

/** A target's forwarding health before anything was forwarded to it (see target-health.test.ts). */
const NEW_HEALTH = {
  last_ok_at: null,
  last_error: null,
  last_error_at: null,
  consecutive_failures: 0,
  breaker: 'closed',
  in_flight: 0,
};

describe('GET /health', () => {
  it('answers without a key', async () => {
    const t = await startTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      ok: true,
      service: 'echonet',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      // No ECHONET_MQTT_URL: the MQTT front end is off.
      mqtt: 'off',
    });
  });
});

describe('API key', () => {
  it.each([
    ['GET', '/targets'],
    ['POST', '/register'],
    ['DELETE', '/targets/astraea'],
    ['POST', '/text'],
    ['GET', '/sessions'],
    ['POST', '/sessions/door/end'],
    ['POST', '/route/preview'],
  ])('%s %s needs X-API-Key', async (method, url) => {
    const t = await startTestApp();
    const missing = await t.app.inject({ method: method as 'GET', url });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toEqual({
      ok: false,
      error: 'missing X-API-Key header',
      detail: 'missing X-API-Key header',
    });
    const wrong = await t.app.inject({
      method: method as 'GET',
      url,
      headers: { 'x-api-key': 'nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({
      ok: false,
      error: 'invalid API key',
      detail: 'invalid API key',
    });
    expect(wrong.body).not.toContain(API_KEY);
  });

  it('uses a generated key kept in the database when none is configured', async () => {
    const t = await startTestApp({ ECHONET_API_KEY: '' });
    const stored = t.store.secrets.get('api_key');
    expect(stored).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ok = await t.app.inject({
      method: 'GET',
      url: '/targets',
      headers: { 'x-api-key': stored as string },
    });
    expect(ok.statusCode).toBe(200);
    const old = await t.app.inject({
      method: 'GET',
      url: '/targets',
      headers: { 'x-api-key': API_KEY },
    });
    expect(old.statusCode).toBe(401);
  });
});

describe('admin key', () => {
  const body = { name: 'astraea', base_url: 'http://127.0.0.1:9', phrases: ['hey astraea'] };

  it('guards register and delete when configured: 401 missing, 403 wrong', async () => {
    const t = await startTestApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    const headers = { 'x-api-key': API_KEY };
    const missing = await t.app.inject({
      method: 'POST',
      url: '/register',
      headers,
      payload: body,
    });
    expect(missing.statusCode).toBe(401);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/register',
      headers: { ...headers, 'x-admin-key': 'x' },
      payload: body,
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toEqual({
      ok: false,
      error: 'invalid admin key',
      detail: 'invalid admin key',
    });
    const ok = await t.request({ method: 'POST', url: '/register', payload: body });
    expect(ok.statusCode).toBe(200);
    const del = await t.app.inject({ method: 'DELETE', url: '/targets/astraea', headers });
    expect(del.statusCode).toBe(401);
    const list = await t.app.inject({ method: 'GET', url: '/targets', headers });
    expect(list.statusCode).toBe(200);
  });

  it('is not needed when not configured', async () => {
    const t = await startTestApp();
    const res = await t.app.inject({
      method: 'POST',
      url: '/register',
      headers: { 'x-api-key': API_KEY },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('POST /register', () => {
  it('registers, lower-cases the name and returns the listen URL', async () => {
    const t = await startTestApp();
    const res = await t.request({
      method: 'POST',
      url: '/register',
      payload: {
        name: 'Astraea',
        base_url: 'http://astraea.local:9001/',
        phrases: ['  Hey   Astraea ', 'hello astraea'],
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      ok: true,
      registered: 'astraea',
      listen_url: 'http://astraea.local:9001/listen',
      phrases: ['Hey Astraea', 'hello astraea'],
    });
    expect(t.store.targets.get('ASTRAEA')?.baseUrl).toBe('http://astraea.local:9001/');
  });

  it('updates an existing target (upsert)', async () => {
    const t = await startTestApp();
    await register(t, 'astraea', 'http://a:1', ['hey astraea']);
    await register(t, 'ASTRAEA', 'http://b:2', ['hi astraea']);
    const list = (await t.request({ method: 'GET', url: '/targets' })).json();
    expect(list.targets).toEqual([
      {
        name: 'astraea',
        base_url: 'http://b:2',
        listen_url: 'http://b:2/listen',
        phrases: ['hi astraea'],
        health: NEW_HEALTH,
      },
    ]);
  });

  it.each([
    [{ base_url: 'http://a:1', phrases: [] }, 'body.name is required'],
    [{ name: '', base_url: 'http://a:1', phrases: [] }, 'body.name must be at least 1 characters'],
    [
      { name: 'x'.repeat(33), base_url: 'http://a:1', phrases: [] },
      'body.name must be at most 32 characters',
    ],
    [
      { name: 'bad name!', base_url: 'http://a:1', phrases: [] },
      "body.name must be 1-32 characters of a-z, 0-9, '_' or '-'",
    ],
    [{ name: 42, base_url: 'http://a:1', phrases: [] }, 'body.name must be a string'],
    [
      { name: 'a', base_url: 'not a url', phrases: [] },
      'body.base_url must be an absolute http(s) URL',
    ],
    [{ name: 'a', base_url: 'ftp://a/', phrases: [] }, 'body.base_url must use http or https'],
    [
      { name: 'a', base_url: 'http://user:pw@a/', phrases: [] },
      'body.base_url must not contain credentials',
    ],
    [{ name: 'a', base_url: 'http://a:1' }, 'body.phrases is required'],
    [{ name: 'a', base_url: 'http://a:1', phrases: 'hey a' }, 'body.phrases must be an array'],
    [
      { name: 'a', base_url: 'http://a:1', phrases: Array(33).fill('p') },
      'body.phrases may hold at most 32 items',
    ],
    [
      { name: 'a', base_url: 'http://a:1', phrases: ['x'.repeat(101)] },
      'body.phrases[0] must be at most 100 characters',
    ],
    [
      { name: 'a', base_url: 'http://a:1', phrases: ['ok', '   '] },
      'body.phrases[1] must be 1-100 characters and not blank',
    ],
    [
      { name: 'a', base_url: 'http://a:1', phrases: [''] },
      'body.phrases[0] must be at least 1 characters',
    ],
    [
      { name: 'a', base_url: 'http://a:1', phrases: ['!!!'] },
      'body.phrases[0] ("!!!") has no words Echonet can match',
    ],
    [{ name: 'a', base_url: 'http://a:1', phrases: [7] }, 'body.phrases[0] must be a string'],
  ])('rejects %j with 400: %s', async (payload, message) => {
    const t = await startTestApp();
    const res = await t.request({ method: 'POST', url: '/register', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().ok).toBe(false);
    expect(res.json().error).toContain(message);
    expect(t.store.targets.count()).toBe(0);
  });

  it('refuses a phrase another target owns with 409 naming it, after normalisation', async () => {
    const t = await startTestApp();
    await register(t, 'echobell', 'http://e:1', ['hey echo']);
    for (const phrase of ['hey echo', 'HEY  Echo', ' hey echo ']) {
      const res = await t.request({
        method: 'POST',
        url: '/register',
        payload: { name: 'astraea', base_url: 'http://a:1', phrases: ['hey astraea', phrase] },
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().error).toContain("'echobell'");
    }
    expect(t.store.targets.all().map((t) => t.name)).toEqual(['echobell']);
    // The owner itself may re-register its phrase.
    await register(t, 'echobell', 'http://e:2', ['hey echo']);
  });

  it('refuses malformed JSON, wrong content types and oversized bodies', async () => {
    const t = await startTestApp();
    const bad = await postRaw(t, '{"name":', 'application/json');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      ok: false,
      error: expect.stringContaining('body is not valid JSON'),
      detail: bad.json().error,
    });
    const empty = await postRaw(t, '', 'application/json');
    expect(empty.statusCode).toBe(400);
    const array = await postRaw(t, '[]', 'application/json');
    expect(array.statusCode).toBe(400);
    expect(array.json().error).toBe('body must be an object');
    const text = await postRaw(t, 'name=a', 'text/plain');
    expect(text.statusCode).toBe(415);
    const huge = await t.request({
      method: 'POST',
      url: '/register',
      payload: { name: 'a', base_url: 'http://a:1', phrases: ['x'.repeat(70_000)] },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toEqual({
      ok: false,
      error: 'request body is too large',
      detail: 'request body is too large',
    });
  });
});

/** POST /register with a body sent as-is. */
function postRaw(t: TestApp, payload: string, contentType: string) {
  return t.request({
    method: 'POST',
    url: '/register',
    payload,
    headers: { 'content-type': contentType },
  });
}

describe('GET /targets and DELETE /targets/{name}', () => {
  it('lists targets sorted by name with listen URLs', async () => {
    const t = await startTestApp();
    await register(t, 'echobell', 'http://e:9000', ['hey echo']);
    await register(t, 'astraea', 'http://a:9001//', ['hey astraea']);
    const res = await t.request({ method: 'GET', url: '/targets' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      ok: true,
      targets: [
        {
          name: 'astraea',
          base_url: 'http://a:9001//',
          listen_url: 'http://a:9001/listen',
          phrases: ['hey astraea'],
          health: NEW_HEALTH,
        },
        {
          name: 'echobell',
          base_url: 'http://e:9000',
          listen_url: 'http://e:9000/listen',
          phrases: ['hey echo'],
          health: NEW_HEALTH,
        },
      ],
    });
  });

  it('deletes case-insensitively, and 404s a missing target', async () => {
    const t = await startTestApp();
    await register(t, 'astraea', 'http://a:1', ['hey astraea']);
    const del = await t.request({ method: 'DELETE', url: '/targets/ASTRAEA' });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ ok: true, deleted: 'astraea' });
    const again = await t.request({ method: 'DELETE', url: '/targets/astraea' });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({
      ok: false,
      error: "Target 'astraea' not found",
      detail: "Target 'astraea' not found",
    });
  });
});

describe('POST /text validation', () => {
  it.each([
    [{ text: 'hi' }, 'body.source_id is required'],
    [{ source_id: '', text: 'hi' }, 'body.source_id must be at least 1 characters'],
    [{ source_id: 'x'.repeat(65), text: 'hi' }, 'body.source_id must be at most 64 characters'],
    [{ source_id: 'door' }, 'body.text is required'],
    [{ source_id: 'door', text: '' }, 'body.text must be at least 1 characters'],
    [{ source_id: 'door', text: 'x'.repeat(501) }, 'body.text must be at most 500 characters'],
    [{ source_id: 'door', text: 123 }, 'body.text must be a string'],
    [{ source_id: 'door', text: 'hi', room: 'r'.repeat(65) }, 'body.room'],
    [{ source_id: 'door', text: 'hi', confidence: 1.5 }, 'body.confidence'],
    [{ source_id: 'door', text: 'hi', confidence: '0.5' }, 'body.confidence'],
    [{ source_id: 'door', text: 'hi', ts: 'now' }, 'body.ts'],
    [{ source_id: 'door', text: 'hi', ts: -5 }, 'body.ts'],
  ])('rejects %j with 400 naming the field', async (payload, message) => {
    const t = await startTestApp();
    const res = await t.request({ method: 'POST', url: '/text', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toContain(message);
  });
});

describe('sessions endpoints', () => {
  // A target that takes the utterance: a failed forward would end the conversation.

  it('list live sessions and end one', async () => {
    const t = await startTestApp();
    await register(t, 'astraea', (await recordingTarget()).url, ['hey astraea']);
    await t.request({
      method: 'POST',
      url: '/text',
      payload: { source_id: 'door', room: 'hall', text: 'hey astraea hello' },
    });
    const list = await t.request({ method: 'GET', url: '/sessions' });
    expect(list.json()).toEqual({
      ok: true,
      sessions: [
        {
          id: expect.any(String),
          target: 'astraea',
          source_id: 'door',
          room: 'hall',
          last_ts: expect.any(Number),
          expires_in_s: 25,
        },
      ],
    });
    const end = await t.request({ method: 'POST', url: '/sessions/door/end' });
    // The Python service's answer (`ended`: the source), and ours (whether a session was open).
    expect(end.json()).toEqual({ ok: true, ended: 'door', had_session: true });
    const again = await t.request({ method: 'POST', url: '/sessions/door/end' });
    expect(again.json()).toEqual({ ok: true, ended: 'door', had_session: false });
    expect((await t.request({ method: 'GET', url: '/sessions' })).json().sessions).toEqual([]);
  });
});

describe('unknown routes', () => {
  it('answer 404 JSON', async () => {
    const t = await startTestApp();
    const res = await t.request({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      ok: false,
      error: 'Route GET /nope not found',
      detail: 'Route GET /nope not found',
    });
  });
});
