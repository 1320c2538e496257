/**
 * Registrations that can never work are refused with a 400 that says why, and conflicts with a 409
 * naming both sides, over a listening socket on a real app and file; the same rules for
 * `echonet restore` (the built command, as a child process).
 */
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { API_KEY, startTestApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();

/**
 * A real app on a real file, listening on a free port. startTestApp closes it after the file's
 * tests, once the routing-table rebuild a registration schedules has run.
 */
async function listening(env: Record<string, string> = {}, dbPath?: string) {
  const t = await startTestApp(env, dbPath === undefined ? {} : { dbPath });
  const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const register = async (body: unknown) => {
    const res = await fetch(`${url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { ok: boolean; error?: string } };
  };
  return { t, register };
}

async function count(t: TestApp): Promise<number> {
  return t.store.targets.count();
}

describe('POST /register refuses what could never work', () => {
  it('an empty phrase list, with 400 saying why', async () => {
    const { t, register } = await listening();
    const res = await register({ name: 'mute', base_url: 'http://m:1', phrases: [] });
    expect(res).toEqual({
      status: 400,
      body: {
        ok: false,
        error:
          'body.phrases must hold at least one phrase: a target without one can never be woken',
        detail:
          'body.phrases must hold at least one phrase: a target without one can never be woken',
      },
    });
    expect(await count(t)).toBe(0);
  });

  it('a phrase that normalises to a default cancel phrase', async () => {
    const { t, register } = await listening();
    const res = await register({
      name: 'quitter',
      base_url: 'http://q:1',
      phrases: ['hey quitter', 'Never-Mind!'],
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      'body.phrases[1] ("Never-Mind!") is the cancel phrase "never mind" (ECHONET_CANCEL_PHRASES): said on its own, it would end the conversation, never wake this target',
    );
    expect(await count(t)).toBe(0);
  });

  it('a phrase that is a cancel phrase give or take fillers, or ends with one', async () => {
    const { t, register } = await listening();
    const alone = await register({
      name: 'a',
      base_url: 'http://a:1',
      phrases: ['Please, cancel'],
    });
    expect(alone.status).toBe(400);
    expect(alone.body.error).toBe(
      'body.phrases[0] ("Please, cancel") is the cancel phrase "cancel" (ECHONET_CANCEL_PHRASES): said on its own, it would end the conversation, never wake this target',
    );
    const ending = await register({
      name: 'a',
      base_url: 'http://a:1',
      phrases: ['hey a', 'computer stop listening'],
    });
    expect(ending.status).toBe(400);
    expect(ending.body.error).toBe(
      'body.phrases[1] ("computer stop listening") ends with the cancel phrase "stop listening" (ECHONET_CANCEL_PHRASES): said with a pause before it, it would end the conversation, never wake this target',
    );
    expect(await count(t)).toBe(0);
  });

  it('a phrase holding a cancel phrase elsewhere wakes its target: a cancel is what an utterance ends on', async () => {
    const { t, register } = await listening();
    expect(
      (await register({ name: 'a', base_url: 'http://a:1', phrases: ['Cancel my order'] })).status,
    ).toBe(200);
    const preview = async (text: string) =>
      (await t.request({ method: 'POST', url: '/route/preview', payload: { text } })).json();
    expect(await preview('cancel my order, the blue one')).toMatchObject({
      routed_to: 'a',
      mode: 'session_open',
    });
    expect(await preview('cancel my order, the blue one. never mind')).toMatchObject({
      mode: 'session_end',
      reason: 'cancel_trailing',
    });
    expect(await preview('cancel my order. never mind')).toMatchObject({
      mode: 'session_end',
      reason: 'cancel',
    });
    // Part of a word is not the word: "cancellation desk" wakes its target.
    expect(
      (await register({ name: 'b', base_url: 'http://b:1', phrases: ['cancellation desk'] }))
        .status,
    ).toBe(200);
    const routed = await t.request({
      method: 'POST',
      url: '/route/preview',
      payload: { source_id: 'hall', text: 'cancellation desk, hello' },
    });
    expect(routed.json()).toMatchObject({ routed_to: 'b' });
  });

  it('follows ECHONET_CANCEL_PHRASES as configured', async () => {
    const { t, register } = await listening({ ECHONET_CANCEL_PHRASES: 'stop it, forget it' });
    const refused = await register({ name: 'a', base_url: 'http://a:1', phrases: ['Forget  it.'] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toContain('is the cancel phrase "forget it"');
    // "cancel" is not a cancel phrase here, so it may wake a target.
    expect(
      (await register({ name: 'a', base_url: 'http://a:1', phrases: ['cancel'] })).status,
    ).toBe(200);
    expect(await count(t)).toBe(1);
  });
});

describe('POST /register conflicts', () => {
  it('is a 409 naming both targets and both phrases, also against a target another tool wrote', async () => {
    const db = tempDbPath(dir);
    const { t, register } = await listening({}, db);
    expect(
      (await register({ name: 'astraea', base_url: 'http://a:1', phrases: ['hey astraea'] }))
        .status,
    ).toBe(200);
    expect(
      await register({ name: 'nova', base_url: 'http://n:1', phrases: ['Hey, Astraea'] }),
    ).toEqual({
      status: 409,
      body: {
        ok: false,
        error:
          "Phrase 'Hey, Astraea' of target 'nova' collides with 'hey astraea' of target 'astraea'",
        detail:
          "Phrase 'Hey, Astraea' of target 'nova' collides with 'hey astraea' of target 'astraea'",
      },
    });
    // The Python service adds a target on its own connection, as it does (app/registry.py).
    const py = new Database(db);
    py.prepare(
      `INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET base_url = excluded.base_url, phrases = excluded.phrases`,
    ).run('vega', 'http://v:1', JSON.stringify(['hey vega']));
    py.close();
    const res = await register({ name: 'nova', base_url: 'http://n:1', phrases: ['hey vega'] });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe(
      "Phrase 'hey vega' of target 'nova' is already registered by target 'vega'",
    );
    expect(t.store.targets.all().map((x) => x.name)).toEqual(['astraea', 'vega']);
  });
});

describe('echonet restore refuses what could never work', () => {
  function seeded(): string {
    const db = tempDbPath(dir);
    const store = openStore(db);
    store.targets.upsert({ name: 'astraea', baseUrl: 'http://a:1', phrases: ['hey astraea'] });
    store.close();
    return db;
  }

  it.each([
    [
      'an empty phrase list',
      [{ name: 'mute', base_url: 'http://m:1', phrases: [] }],
      {},
      'targets[0].phrases must hold at least one phrase: a target without one can never be woken',
    ],
    [
      'a cancel phrase',
      [
        { name: 'ok', base_url: 'http://o:1', phrases: ['hey ok'] },
        { name: 'quitter', base_url: 'http://q:1', phrases: ['STOP listening'] },
      ],
      {},
      'targets[1].phrases[0] ("STOP listening") is the cancel phrase "stop listening" (ECHONET_CANCEL_PHRASES)',
    ],
    [
      'a configured cancel phrase',
      [{ name: 'quitter', base_url: 'http://q:1', phrases: ['hush now'] }],
      { ECHONET_CANCEL_PHRASES: 'hush now' },
      'targets[0].phrases[0] ("hush now") is the cancel phrase "hush now"',
    ],
  ])('%s: exit 1, one line, database untouched', async (_label, targets, env, message) => {
    const db = seeded();
    const file = `${dir}/never-${Math.random()}.json`;
    writeFileSync(file, JSON.stringify({ targets }));
    for (const mode of [['--yes'], ['--merge']]) {
      const res = await runCli(['restore', file, ...mode, '--db-path', db], { env });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(message);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
    }
    const store = openStore(db);
    expect(store.targets.all().map((t) => t.name)).toEqual(['astraea']);
    store.close();
  });
});
