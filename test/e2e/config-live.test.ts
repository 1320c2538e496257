/**
 * Each router setting changed through PUT /config (or by another process writing the `config`
 * table) applies to the very next utterance, with no restart: a real app on 127.0.0.1, a real
 * SQLite file, real targets recording what they get, the injected clock for session expiry.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { RuntimeSettings, type RuntimeSetting } from '../../src/runtime-settings.js';
import { openStore } from '../../src/store/store.js';
import { register } from '../helpers/app.js';
import { startListeningApp, type ListeningApp } from '../helpers/listening-app.js';
import { startRecordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

let astraea: RecordingTarget;
const open: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  astraea = await startRecordingTarget();
  open.push(astraea);
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(env: Record<string, string> = {}): Promise<ListeningApp> {
  const t = await startListeningApp(env);
  open.push(t);
  await register(t, 'astraea', astraea.url, ['hey astraea']);
  return t;
}

async function say(t: ListeningApp, text: string, source = 'door') {
  const res = await t.request({
    method: 'POST',
    url: '/text',
    payload: { source_id: source, text },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function set(t: ListeningApp, key: string, value: string) {
  const res = await t.request({ method: 'PUT', url: `/config/${key}`, payload: { value } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('live settings', () => {
  it('session_timeout_s: the next session or extension lasts the new time', async () => {
    const t = await setup();
    expect((await say(t, 'hey astraea lights')).session.expires_in_s).toBe(25);
    await set(t, 'session_timeout_s', '5');
    const next = await say(t, 'and the porch');
    expect(next).toMatchObject({ mode: 'session_continue', session: { expires_in_s: 5 } });
    t.clock.advance(5.5);
    expect(await say(t, 'anyone there')).toMatchObject({
      mode: 'idle',
      reason: 'no_trigger_no_session',
    });
  });

  it('cancel_phrases: the new phrases end a session, the old ones no longer do', async () => {
    const t = await setup();
    await say(t, 'hey astraea play music');
    await set(t, 'cancel_phrases', 'be quiet, shush');
    expect(await say(t, 'never mind')).toMatchObject({ mode: 'session_continue' });
    expect(await say(t, 'shush')).toMatchObject({ mode: 'session_end', reason: 'cancel' });
  });

  it('cancel_phrases: registration refuses a wake phrase that is a new cancel phrase', async () => {
    const t = await setup();
    await set(t, 'cancel_phrases', 'shush');
    const refused = await t.request({
      method: 'POST',
      url: '/register',
      payload: { name: 'hush', base_url: astraea.url, phrases: ['shush now'] },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toContain('shush');
    // "never mind" is no cancel phrase any more, so it may wake a target.
    await register(t, 'minder', astraea.url, ['never mind bot']);
  });

  it('forward_strip_trigger: the wake phrase is kept in the forwarded text once turned off', async () => {
    const t = await setup();
    await say(t, 'hey astraea lights on');
    await set(t, 'forward_strip_trigger', 'false');
    await say(t, 'hey astraea lights off');
    const got = await astraea.waitFor(2);
    expect(got.map((r) => (r.body as { text: string }).text)).toEqual([
      'lights on',
      'hey astraea lights off',
    ]);
  });

  it('http_timeout_s: the next forward is bounded by the new timeout', async () => {
    // 30 s in the test config: a hanging target would hold this test far past its own limit.
    const t = await setup();
    await set(t, 'http_timeout_s', '0.2');
    astraea.behave({ kind: 'hang' });
    expect(await say(t, 'hey astraea are you there')).toMatchObject({
      mode: 'session_open',
      forwarded: false,
      reason: 'forward_failed:timeout',
    });
  });

  it('match_fuzzy: turning it off stops a misheard wake phrase from routing', async () => {
    const t = await setup();
    expect(await say(t, 'hey astrea what time is it')).toMatchObject({
      mode: 'session_open',
      match: { exact: false },
    });
    await say(t, 'cancel');
    await set(t, 'match_fuzzy', 'false');
    expect(await say(t, 'hey astrea what time is it')).toMatchObject({ mode: 'idle' });
    expect(await say(t, 'hey astraea what time is it')).toMatchObject({ mode: 'session_open' });
  });

  it('match_min_score: lowering it lets a weaker match through', async () => {
    const t = await setup();
    // "hey astray" scores about 0.86 against "hey astraea": below the 0.88 default.
    expect(await say(t, 'hey astray what time is it')).toMatchObject({ mode: 'idle' });
    await set(t, 'match_min_score', '0.85');
    const res = await say(t, 'hey astray what time is it');
    expect(res).toMatchObject({ mode: 'session_open', routed_to: 'astraea' });
    expect(res.match.score).toBeGreaterThanOrEqual(0.85);
    expect(res.match.score).toBeLessThan(0.88);
  });

  it('a change another process writes to the config table applies without a restart', async () => {
    const t = await setup();
    const other = openStore(t.config.dbPath);
    try {
      const runtime = new RuntimeSettings(loadConfig({}, { envFile: false }), other.config);
      runtime.set('match_fuzzy', 'false', { source: 'cli' });
    } finally {
      other.close();
    }
    // A source of its own each time: a session opened before the change would continue.
    let n = 0;
    await waitFor(
      async () => (await say(t, 'hey astrea what time', `kitchen-${++n}`)).mode === 'idle',
      { what: 'the change made by another process to apply' },
    );
    const entry = (await t.request({ method: 'GET', url: '/config/match_fuzzy' })).json();
    expect(entry).toMatchObject({ value: 'false', origin: 'api' });
  });
});

describe('RuntimeSettings', () => {
  it('tells listeners which values changed, active_timeout_s included, and serves them typed', () => {
    const store = openStore(tempDbPath());
    try {
      const runtime = new RuntimeSettings(loadConfig({}, { envFile: false }), store.config);
      const heard: RuntimeSetting[][] = [];
      runtime.onChange((changed) => heard.push([...changed]));
      expect(runtime.values.activeTimeoutS).toBe(30);
      runtime.set('active_timeout_s', '12.5', { source: 'test' });
      runtime.set('cancel_phrases', 'stop, hush ,', { source: 'test' });
      // The same value again changes nothing a listener needs to hear of.
      runtime.set('active_timeout_s', '12.5', { source: 'test' });
      expect(heard).toEqual([['activeTimeoutS'], ['cancelPhrases']]);
      expect(runtime.values.activeTimeoutS).toBe(12.5);
      expect(runtime.values.cancelPhrases).toEqual(['stop', 'hush']);
      runtime.unset('active_timeout_s', { source: 'test' });
      expect(runtime.values.activeTimeoutS).toBe(30);
      expect(heard.at(-1)).toEqual(['activeTimeoutS']);
    } finally {
      store.close();
    }
  });
});
