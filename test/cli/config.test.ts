/**
 * `echonet config [list|get|set|unset]` and `echonet serve` with stored settings, as real child
 * processes on a real database: a value stored before the start wins over the environment from
 * the first utterance, a value the command sets is applied by the running server without a
 * restart, and bad input is one line.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runCli, startServer, type RunningServer } from '../helpers/cli.js';
import { startRecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir();
const KEY = 'environment-key-0123456789abcdef';

function database(): string {
  const db = tempDbPath(dir);
  openStore(db).close();
  return db;
}

async function call(server: RunningServer, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      'x-api-key': KEY,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('echonet config', () => {
  it('lists, sets, gets and unsets, logging each change', async () => {
    const db = database();
    const env = { ECHONET_DB_PATH: db, ECHONET_SESSION_TIMEOUT_S: '10' };
    const list = await runCli(['config'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^key\s+value\s+origin\s+type$/m);
    expect(list.stdout).toMatch(/^session_timeout_s\s+"10"\s+env\s+float$/m);
    expect(list.stdout).toMatch(/^preroll_buffer_seconds\s+"2\.0"\s+default\s+float$/m);

    const set = await runCli(
      ['config', 'set', 'session_timeout_s', '45', '--reason', 'slow talkers'],
      {
        env,
      },
    );
    expect(set).toEqual({
      code: 0,
      stdout: 'session_timeout_s = "45" (float; origin api)\n',
      stderr: '',
    });
    const got = await runCli(['config', 'get', 'session_timeout_s'], { env });
    expect(got.stdout).toBe('45\n');
    const json = await runCli(['config', 'get', 'session_timeout_s', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ value: '45', origin: 'api', type: 'float' });

    const unset = await runCli(['config', 'unset', 'session_timeout_s'], { env });
    expect(unset.stdout).toBe('session_timeout_s = "10" (float; origin env)\n');

    const file = new Database(db, { readonly: true });
    try {
      expect(file.prepare("SELECT 1 FROM config WHERE key = 'session_timeout_s'").get()).toBe(
        undefined,
      );
      const log = file
        .prepare(
          "SELECT old_value, new_value, source, reason FROM settings_log WHERE name = 'session_timeout_s' ORDER BY id",
        )
        .all();
      expect(log).toEqual([
        { old_value: '10', new_value: '45', source: 'cli', reason: 'slow talkers' },
        {
          old_value: '45',
          new_value: '10',
          source: 'cli',
          reason: 'cleared session_timeout_s (back to env)',
        },
      ]);
    } finally {
      file.close();
    }
  });

  it('`echonet route` decides with the stored settings, as a server on the file would', async () => {
    const db = database();
    const store = openStore(db);
    store.targets.upsert({
      name: 'astraea',
      baseUrl: 'http://a.local:1',
      phrases: ['hey astraea'],
    });
    store.close();
    const env = { ECHONET_DB_PATH: db };
    const route = async () =>
      JSON.parse((await runCli(['route', 'hey astray, lights', '--json'], { env })).stdout);
    expect(await route()).toMatchObject({ mode: 'idle' });
    await runCli(['config', 'set', 'match_min_score', '0.85'], { env });
    await runCli(['config', 'set', 'forward_strip_trigger', 'false'], { env });
    expect(await route()).toMatchObject({
      mode: 'session_open',
      routed_to: 'astraea',
      forward_text: 'hey astray, lights',
    });
  });

  it.each([
    [
      ['config', 'set', 'match_fuzzy', 'perhaps'],
      'value for match_fuzzy must be a bool: true or false; got "perhaps"',
    ],
    [['config', 'get', 'volume'], "Configuration key 'volume' not found"],
    [['config', 'set', 'volume', '11'], "Configuration key 'volume' not found"],
  ])('`echonet %j` refuses in one line', async (args, message) => {
    const r = await runCli(args, { env: { ECHONET_DB_PATH: database() } });
    expect(r).toEqual({ code: 1, stdout: '', stderr: `echonet: ${message}\n` });
  });

  it('a stored value wins over the environment from the first utterance, and a set applies live', async () => {
    const target = await startRecordingTarget();
    const db = database();
    const env = { ECHONET_DB_PATH: db, ECHONET_API_KEY: KEY, ECHONET_MATCH_FUZZY: 'true' };
    // Stored before the server starts: the first routing table is built without fuzzy matching.
    const before = await runCli(['config', 'set', 'match_fuzzy', 'false'], { env });
    expect(before.code, before.stderr).toBe(0);
    const server = await startServer(env);
    try {
      const reg = await call(server, 'POST', '/register', {
        name: 'astraea',
        base_url: target.url,
        phrases: ['hey astraea'],
      });
      expect(reg.status).toBe(200);
      const say = (source: string) =>
        call(server, 'POST', '/text', { source_id: source, text: 'hey astrea what time is it' });
      expect((await say('a')).body).toMatchObject({ mode: 'idle' });
      expect((await call(server, 'GET', '/config/match_fuzzy')).body).toMatchObject({
        value: 'false',
        origin: 'api',
      });

      // Cleared by the command while the server runs: the environment's value applies again.
      const cleared = await runCli(['config', 'unset', 'match_fuzzy'], { env });
      expect(cleared.stdout).toBe('match_fuzzy = "true" (bool; origin env)\n');
      let n = 0;
      await waitFor(async () => (await say(`b-${++n}`)).body.mode === 'session_open', {
        what: 'the server to apply the cleared setting',
      });
      expect((await call(server, 'GET', '/config/match_fuzzy')).body).toMatchObject({
        value: 'true',
        origin: 'env',
      });
    } finally {
      await server.stop();
      await target.close();
    }
  });
});
