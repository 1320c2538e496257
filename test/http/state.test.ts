/**
 * Listen modes over HTTP (GET /state, GET /state/history, PUT /state) and what each mode does to
 * POST /text, on a real database and a real target, with the injected clock for the timeout.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, register, startTestApp, type TestApp } from '../helpers/app.js';
import { recordingTarget } from '../helpers/recording-target.js';
import { sqlTime } from '../../src/store/settings.js';
import { openStore } from '../../src/store/store.js';
import { waitFor } from '../helpers/wait.js';

/** An app with `astraea` ("hey astraea") and `peter` ("hey peter") registered on real targets. */
async function setUp(env: Record<string, string> = {}) {
  const t = await startTestApp(env);
  const astraea = await recordingTarget();
  const peter = await recordingTarget();
  await register(t, 'astraea', astraea.url, ['hey astraea']);
  await register(t, 'peter', peter.url, ['hey peter']);
  return { t, astraea, peter };
}

function put(t: TestApp, payload: object) {
  return t.request({ method: 'PUT', url: '/state', payload });
}

function say(t: TestApp, text: string, sourceId = 'kitchen') {
  return t.request({ method: 'POST', url: '/text', payload: { source_id: sourceId, text } });
}

async function state(t: TestApp) {
  const res = await t.request({ method: 'GET', url: '/state' });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function history(t: TestApp, query = '') {
  const res = await t.request({ method: 'GET', url: `/state/history${query}` });
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe('GET /state and GET /state/history', () => {
  it('answer the Python wire format on a new database', async () => {
    const t = await startTestApp();
    expect(await state(t)).toEqual({
      ok: true,
      settings: [
        {
          name: 'listen_mode',
          value: 'trigger',
          updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
          description: 'Current listening mode: trigger (idle) or active (responding to LLM)',
        },
      ],
      listen_mode: 'trigger',
      active_target: null,
      active_expires_in_s: null,
      sources: [],
    });
    expect(await history(t)).toEqual({
      ok: true,
      count: 1,
      changes: [
        {
          id: 1,
          name: 'listen_mode',
          old_value: null,
          new_value: 'trigger',
          changed_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
          source: 'migration',
          reason: 'Initial setup',
        },
      ],
    });
  });

  it('lists the history newest first, 50 by default, at most 500, filtered by name', async () => {
    const t = await startTestApp();
    for (let i = 0; i < 260; i++) {
      t.store.settings.set('listen_mode', i % 2 ? 'trigger' : 'inactive', {
        source: 'test',
        reason: String(i),
      });
      t.store.settings.set('other', String(i), { source: 'test', reason: null });
    }
    const first = await history(t);
    expect(first.count).toBe(50);
    const ids = first.changes.map((c: { id: number }) => c.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(first.changes[0]).toMatchObject({ name: 'other', new_value: '259', old_value: '258' });
    expect((await history(t, '?limit=1000')).count).toBe(500);
    const named = await history(t, '?name=listen_mode&limit=3');
    expect(named.changes.map((c: { reason: string }) => c.reason)).toEqual(['259', '258', '257']);
  });

  it.each([
    ['0', 'querystring.limit must be a whole number from 1 (at most 500 are returned)'],
    ['-5', 'querystring.limit must be a whole number from 1 (at most 500 are returned)'],
    ['ten', 'querystring.limit must be a whole number from 1 (at most 500 are returned)'],
  ])('refuses limit=%s with a 400 naming the field', async (limit, error) => {
    const t = await startTestApp();
    const res = await t.request({ method: 'GET', url: `/state/history?limit=${limit}` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ ok: false, error });
  });

  it('needs the API key', async () => {
    const t = await startTestApp();
    for (const url of ['/state', '/state/history']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(401);
      expect((await t.request({ method: 'GET', url })).statusCode).toBe(200);
    }
  });
});

describe('PUT /state', () => {
  it('sets the mode, answers as the Python service and logs source:target with the reason', async () => {
    const { t } = await setUp();
    const res = await put(t, { target: 'astraea', source: 'llm', state: 'inactive' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      ok: true,
      listen_mode: 'inactive',
      target: 'astraea',
      source: 'llm',
      message: "listen mode is now inactive, requested by target 'astraea'",
      source_id: null,
      expires_in_s: null,
    });
    expect((await state(t)).listen_mode).toBe('inactive');
    const again = await put(t, {
      target: 'Astraea',
      source: 'user',
      state: 'trigger',
      reason: 'back to normal',
    });
    expect(again.statusCode).toBe(200);
    const { changes } = await history(t, '?name=listen_mode');
    expect(changes.slice(0, 2)).toEqual([
      expect.objectContaining({
        old_value: 'inactive',
        new_value: 'trigger',
        source: 'user:astraea',
        reason: 'back to normal',
      }),
      expect.objectContaining({
        old_value: 'trigger',
        new_value: 'inactive',
        source: 'llm:astraea',
        reason: 'State change requested by astraea',
      }),
    ]);
  });

  it('refuses an unknown target with 404 and changes nothing', async () => {
    const { t } = await setUp();
    const res = await put(t, { target: 'nobody', source: 'llm', state: 'active' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({
      ok: false,
      error: "Target 'nobody' not found. Register the target first.",
    });
    expect((await state(t)).listen_mode).toBe('trigger');
    expect((await history(t)).count).toBe(1);
  });

  it.each([
    [
      { target: 'astraea', source: 'llm', state: 'listening' },
      'body.state must be one of inactive, trigger, active',
    ],
    [{ target: 'astraea', source: 'llm' }, 'body.state is required'],
    [{ source: 'llm', state: 'active' }, 'body.target is required'],
    [{ target: 'astraea', state: 'active' }, 'body.source is required'],
    [
      { target: 'astraea', source: '', state: 'active' },
      'body.source must be at least 1 characters',
    ],
    [
      { target: 'astraea', source: 'llm', state: 'active', reason: 'x'.repeat(201) },
      'body.reason must be at most 200 characters',
    ],
    [
      { target: 'astraea', source: 'llm', state: 'active', source_id: '' },
      'body.source_id must be at least 1 characters',
    ],
    [{ target: 'astraea', source: 'llm', state: 3 }, 'body.state must be a string'],
  ])('refuses %j with a 400 naming the field', async (payload, error) => {
    const { t } = await setUp();
    const res = await put(t, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ ok: false, error });
    expect((await history(t)).count).toBe(1);
  });

  it('needs the admin key when one is set', async () => {
    const { t } = await setUp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    const payload = { target: 'astraea', source: 'llm', state: 'inactive' };
    const without = await t.app.inject({
      method: 'PUT',
      url: '/state',
      headers: { 'x-api-key': API_KEY },
      payload,
    });
    expect(without.statusCode).toBe(401);
    expect((await state(t)).listen_mode).toBe('trigger');
    expect((await put(t, payload)).statusCode).toBe(200);
  });
});

describe('inactive', () => {
  it('routes nothing, answers idle listen_mode_inactive, and leaves sessions alone', async () => {
    const { t, astraea } = await setUp();
    expect((await say(t, 'hey astraea what time is it')).json().mode).toBe('session_open');
    await put(t, { target: 'astraea', source: 'user', state: 'inactive' });

    for (const text of ['hey astraea are you there', 'and tomorrow', 'cancel', 'hey peter']) {
      const res = await say(t, text);
      expect(res.json()).toEqual({
        handled: false,
        routed_to: null,
        mode: 'idle',
        session: null,
        forwarded: false,
        reason: 'listen_mode_inactive',
        match: null,
        event_id: expect.any(String),
        reply: null,
      });
    }
    expect(astraea.received).toHaveLength(1);
    const sessions = (await t.request({ method: 'GET', url: '/sessions' })).json().sessions;
    expect(sessions).toMatchObject([{ source_id: 'kitchen', target: 'astraea' }]);

    // Back to trigger: the conversation that was open goes on.
    await put(t, { target: 'astraea', source: 'user', state: 'trigger' });
    const res = (await say(t, 'and tomorrow')).json();
    expect(res).toMatchObject({ mode: 'session_continue', routed_to: 'astraea', forwarded: true });
  });
});

describe('active', () => {
  it('delivers one utterance without a wake phrase to the target that asked, then resets (auto_reset)', async () => {
    const { t, astraea, peter } = await setUp();
    const set = await put(t, { target: 'astraea', source: 'llm', state: 'active' });
    expect(set.json()).toMatchObject({ listen_mode: 'active', expires_in_s: 30 });
    expect(await state(t)).toMatchObject({
      listen_mode: 'active',
      active_target: 'astraea',
      active_expires_in_s: 30,
    });

    const res = (await say(t, "It's sunny, thanks", 'hall')).json();
    expect(res).toMatchObject({
      handled: true,
      routed_to: 'astraea',
      mode: 'dispatch_once',
      session: null,
      forwarded: true,
      reason: 'listen_mode_active',
    });
    expect(astraea.received).toHaveLength(1);
    expect(astraea.received[0]?.body).toMatchObject({
      event_id: res.event_id,
      source_id: 'hall',
      session_id: null,
      mode: 'open_listen',
      text: "It's sunny, thanks",
    });
    expect(peter.received).toHaveLength(0);

    expect(await state(t)).toMatchObject({ listen_mode: 'trigger', active_target: null });
    const { changes } = await history(t);
    expect(changes[0]).toMatchObject({
      name: 'listen_mode',
      old_value: 'active',
      new_value: 'trigger',
      source: 'auto_reset',
      reason: 'delivered one utterance to astraea',
    });
    expect(changes[1]).toMatchObject({ new_value: 'active', source: 'llm:astraea' });

    // Back in trigger mode: no wake phrase, nothing routed.
    expect((await say(t, 'and tomorrow?', 'hall')).json()).toMatchObject({
      mode: 'idle',
      reason: 'no_trigger_no_session',
    });
    expect(astraea.received).toHaveLength(1);
  });

  it('lets a wake phrase and cancel work as usual, and resets once the active target is reached', async () => {
    const { t, astraea, peter } = await setUp();
    await put(t, { target: 'astraea', source: 'llm', state: 'active' });
    expect((await say(t, 'cancel')).json()).toMatchObject({ mode: 'session_end' });
    expect((await say(t, 'hey peter lights on')).json()).toMatchObject({
      mode: 'session_open',
      routed_to: 'peter',
      forwarded: true,
    });
    // Not delivered to astraea yet: still active.
    expect((await state(t)).listen_mode).toBe('active');
    // Peter's conversation is open, but what no wake phrase claims goes to astraea.
    expect((await say(t, 'is it raining')).json()).toMatchObject({
      mode: 'dispatch_once',
      routed_to: 'astraea',
      forwarded: true,
    });
    expect(peter.received).toHaveLength(1);
    expect(astraea.received).toHaveLength(1);
    expect((await state(t)).listen_mode).toBe('trigger');
    // Peter's conversation was left as it was.
    expect((await say(t, 'dim them')).json()).toMatchObject({
      mode: 'session_continue',
      routed_to: 'peter',
    });
  });

  it('ends after ECHONET_ACTIVE_TIMEOUT_S with nothing said (active_timeout), on the injected clock', async () => {
    const { t, astraea } = await setUp({ ECHONET_ACTIVE_TIMEOUT_S: '20' });
    await put(t, { target: 'astraea', source: 'llm', state: 'active' });
    const since = t.clock.now();
    t.clock.advance(19);
    expect(await state(t)).toMatchObject({ listen_mode: 'active', active_expires_in_s: 1 });
    t.clock.advance(1);
    expect(await state(t)).toMatchObject({ listen_mode: 'trigger', active_expires_in_s: null });
    const { changes } = await history(t);
    expect(changes[0]).toMatchObject({
      old_value: 'active',
      new_value: 'trigger',
      source: 'active_timeout',
      reason: 'nothing delivered within 20 s of active mode',
      // When it ended, not when it was noticed.
      changed_at: sqlTime(since + 20_000),
    });
    expect((await say(t, 'hello?')).json()).toMatchObject({ mode: 'idle' });
    expect(astraea.received).toHaveLength(0);
  });

  it('ends by the timeout even when nothing reads the state: the utterance after it is not delivered', async () => {
    const { t, astraea } = await setUp();
    await put(t, { target: 'astraea', source: 'llm', state: 'active' });
    t.clock.advance(31);
    expect((await say(t, 'hello?')).json()).toMatchObject({
      mode: 'idle',
      reason: 'no_trigger_no_session',
    });
    expect(astraea.received).toHaveLength(0);
    expect((await history(t)).changes[0]).toMatchObject({ source: 'active_timeout' });
  });

  it('ends at once, stored, when active_timeout_s is made shorter than the time it has run', async () => {
    const { t, astraea } = await setUp();
    await put(t, { target: 'astraea', source: 'llm', state: 'active' });
    const since = t.clock.now();
    t.clock.advance(10);
    const res = await t.request({
      method: 'PUT',
      url: '/config/active_timeout_s',
      payload: { value: '5' },
    });
    expect(res.statusCode, res.body).toBe(200);
    // Read from the file, as another process (echonet state, the Python service) reads it.
    expect(t.store.settings.get('listen_mode')?.value).toBe('trigger');
    expect(t.store.settings.history({ name: 'listen_mode', limit: 1 })[0]).toMatchObject({
      old_value: 'active',
      new_value: 'trigger',
      source: 'active_timeout',
      reason: 'nothing delivered within 5 s of active mode',
      changed_at: sqlTime(since + 5_000),
    });
    expect((await say(t, 'hello?')).json()).toMatchObject({ mode: 'idle' });
    expect(astraea.received).toHaveLength(0);
  });

  it('stays active when the delivery fails, until the timeout ends it', async () => {
    const { t, astraea } = await setUp();
    astraea.behave({ kind: 'status', status: 500 });
    await put(t, { target: 'astraea', source: 'llm', state: 'active' });
    expect((await say(t, 'hello')).json()).toMatchObject({
      mode: 'dispatch_once',
      forwarded: false,
      reason: 'forward_failed:status_500',
    });
    expect((await state(t)).listen_mode).toBe('active');
    t.clock.advance(30);
    expect((await state(t)).listen_mode).toBe('trigger');
    expect((await history(t)).changes[0]).toMatchObject({ source: 'active_timeout' });
  });

  it('is not reset by a delivery that began before the mode was set again', async () => {
    const { t, astraea } = await setUp();
    astraea.behave({ kind: 'hold' });
    await put(t, { target: 'astraea', source: 'llm', state: 'active' });
    const pending = say(t, 'first answer');
    await astraea.waitFor(1);
    t.clock.advance(10);
    await put(t, { target: 'astraea', source: 'llm', state: 'active', reason: 'one more' });
    astraea.release();
    expect((await pending).json()).toMatchObject({ mode: 'dispatch_once', forwarded: true });
    expect(await state(t)).toMatchObject({ listen_mode: 'active', active_expires_in_s: 30 });
    const { changes } = await history(t);
    expect(changes[0]).toMatchObject({
      old_value: 'active',
      new_value: 'active',
      reason: 'one more',
    });
  });

  it('routes as trigger when its target was deleted meanwhile', async () => {
    const { t } = await setUp();
    expect((await put(t, { target: 'astraea', source: 'llm', state: 'active' })).statusCode).toBe(
      200,
    );
    expect((await t.request({ method: 'DELETE', url: '/targets/astraea' })).statusCode).toBe(200);
    // Still active (nothing was delivered), but nobody can receive.
    expect(await state(t)).toMatchObject({ listen_mode: 'active', active_target: 'astraea' });
    expect((await say(t, 'hello')).json()).toMatchObject({
      mode: 'idle',
      reason: 'no_trigger_no_session',
    });
  });
});

describe('POST /route/preview', () => {
  it('shows the decision in the listen mode the source is in, changing nothing', async () => {
    const { t, astraea } = await setUp();
    const preview = async (payload: object) =>
      (await t.request({ method: 'POST', url: '/route/preview', payload })).json();
    await put(t, { target: 'astraea', source: 'x', state: 'active', source_id: 'porch' });
    expect(await preview({ text: 'a parcel', source_id: 'porch' })).toMatchObject({
      mode: 'dispatch_once',
      routed_to: 'astraea',
      reason: 'listen_mode_active',
      forward_text: 'a parcel',
    });
    expect(await preview({ text: 'a parcel', source_id: 'hall' })).toMatchObject({
      mode: 'idle',
      reason: 'no_trigger_no_session',
    });
    await put(t, { target: 'astraea', source: 'x', state: 'inactive' });
    expect(await preview({ text: 'hey astraea hi' })).toMatchObject({
      handled: false,
      mode: 'idle',
      reason: 'listen_mode_inactive',
      match: null,
    });
    expect(astraea.received).toHaveLength(0);
  });
});

describe('modes scoped to one source', () => {
  it('makes one front end active while the others stay in trigger, and logs the scope', async () => {
    const { t, astraea } = await setUp();
    const res = await put(t, {
      target: 'astraea',
      source: 'doorbell',
      state: 'active',
      source_id: 'back-door',
    });
    expect(res.json()).toMatchObject({
      listen_mode: 'active',
      source_id: 'back-door',
      message: "listen mode is now active for source 'back-door', requested by target 'astraea'",
    });
    const before = await state(t);
    expect(before.listen_mode).toBe('trigger');
    expect(before.sources).toEqual([
      { source_id: 'back-door', listen_mode: 'active', target: 'astraea', expires_in_s: 30 },
    ]);
    expect(before.settings.map((s: { name: string; value: string }) => [s.name, s.value])).toEqual([
      ['listen_mode', 'trigger'],
      ['listen_mode:back-door', 'active'],
    ]);

    expect((await say(t, 'who is it', 'kitchen')).json()).toMatchObject({ mode: 'idle' });
    expect((await say(t, 'a parcel for you', 'back-door')).json()).toMatchObject({
      mode: 'dispatch_once',
      routed_to: 'astraea',
      forwarded: true,
    });
    expect(astraea.received).toHaveLength(1);

    const after = await state(t);
    expect(after.sources).toEqual([
      { source_id: 'back-door', listen_mode: 'trigger', target: null, expires_in_s: null },
    ]);
    const { changes } = await history(t, '?name=listen_mode:back-door');
    expect(changes).toEqual([
      expect.objectContaining({ old_value: 'active', new_value: 'trigger', source: 'auto_reset' }),
      expect.objectContaining({ old_value: null, new_value: 'active', source: 'doorbell:astraea' }),
    ]);
  });

  it('times out per source', async () => {
    const { t } = await setUp();
    await put(t, { target: 'astraea', source: 'x', state: 'active', source_id: 'a' });
    t.clock.advance(10);
    await put(t, { target: 'peter', source: 'x', state: 'active', source_id: 'b' });
    t.clock.advance(20);
    expect((await state(t)).sources).toEqual([
      { source_id: 'a', listen_mode: 'trigger', target: null, expires_in_s: null },
      { source_id: 'b', listen_mode: 'active', target: 'peter', expires_in_s: 10 },
    ]);
  });

  it('mutes one source, and a global inactive mutes every source whatever its own mode', async () => {
    const { t, astraea } = await setUp();
    await put(t, { target: 'astraea', source: 'x', state: 'inactive', source_id: 'kitchen' });
    expect((await say(t, 'hey astraea hi', 'kitchen')).json().reason).toBe('listen_mode_inactive');
    expect((await say(t, 'hey astraea hi', 'hall')).json().mode).toBe('session_open');

    await put(t, { target: 'astraea', source: 'x', state: 'active', source_id: 'porch' });
    await put(t, { target: 'astraea', source: 'x', state: 'inactive' });
    for (const source of ['kitchen', 'hall', 'porch']) {
      expect((await say(t, 'hey astraea hi', source)).json().reason).toBe('listen_mode_inactive');
    }
    expect(astraea.received).toHaveLength(1);
  });
});

describe('ECHONET_INITIAL_LISTEN_MODE', () => {
  it('is applied at start-up and logged with source startup only when it changes the stored mode', async () => {
    const astraea = await recordingTarget();
    const first = await startTestApp({ ECHONET_INITIAL_LISTEN_MODE: 'inactive' });
    const dbPath = first.config.dbPath;
    expect((await state(first)).listen_mode).toBe('inactive');
    expect((await history(first)).changes[0]).toMatchObject({
      old_value: 'trigger',
      new_value: 'inactive',
      source: 'startup',
      reason: 'ECHONET_INITIAL_LISTEN_MODE is inactive',
    });
    await register(first, 'astraea', astraea.url, ['hey astraea']);
    expect((await say(first, 'hey astraea hi')).json().reason).toBe('listen_mode_inactive');
    await first.close();

    // Same mode again: no new row.
    const second = await startTestApp({ ECHONET_INITIAL_LISTEN_MODE: 'inactive' }, { dbPath });
    expect((await history(second)).count).toBe(2);
    await put(second, { target: 'astraea', source: 'llm', state: 'active' });
    await put(second, { target: 'astraea', source: 'llm', state: 'active', source_id: 'porch' });
    await put(second, { target: 'astraea', source: 'llm', state: 'inactive', source_id: 'attic' });
    await second.close();

    // An active mode does not outlive a restart: the configured mode replaces it.
    const third = await startTestApp({}, { dbPath });
    expect((await state(third)).listen_mode).toBe('trigger');
    expect((await history(third)).changes.slice(0, 2)).toEqual([
      expect.objectContaining({
        name: 'listen_mode:porch',
        old_value: 'active',
        new_value: 'trigger',
        source: 'startup',
        reason: 'an active mode does not outlive a restart',
      }),
      expect.objectContaining({
        name: 'listen_mode',
        old_value: 'active',
        new_value: 'trigger',
        source: 'startup',
        reason: 'ECHONET_INITIAL_LISTEN_MODE is trigger',
      }),
    ]);
    // A scoped mode other than active is kept.
    expect((await state(third)).sources).toMatchObject([
      { source_id: 'attic', listen_mode: 'inactive' },
      { source_id: 'porch', listen_mode: 'trigger' },
    ]);
  });
});

describe('changes made by another process', () => {
  it('are followed: a mode written to the file is applied to the next utterance', async () => {
    const { t, astraea } = await setUp();
    // Another connection to the same file, as `echonet state set` or the Python service.
    const other = openStore(t.config.dbPath);
    try {
      other.settings.set('listen_mode', 'active', { source: 'api:astraea', reason: 'elsewhere' });
    } finally {
      other.close();
    }
    await waitFor(async () => (await state(t)).listen_mode === 'active', {
      what: 'the server to read the mode another process wrote',
    });
    expect(await state(t)).toMatchObject({ active_target: 'astraea' });
    expect((await say(t, 'sure, go ahead')).json()).toMatchObject({
      mode: 'dispatch_once',
      routed_to: 'astraea',
      forwarded: true,
    });
    expect(astraea.received).toHaveLength(1);
    expect((await state(t)).listen_mode).toBe('trigger');
  });
});
