/**
 * GET /config, GET /config/{key}, PUT /config/{key} and DELETE /config/{key}: the Python service's
 * wire format on a real SQLite file, type validation naming the type, the change log, precedence
 * (api > env > default) with its `origin`, and the Python-era keys kept with their stored values.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, startTestApp, type TestApp } from '../helpers/app.js';
import { makePythonDb, usePythonService } from '../helpers/python-db.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const put = (t: TestApp, key: string, payload: unknown, headers?: Record<string, string>) =>
  t.request({ method: 'PUT', url: `/config/${key}`, payload: payload as object, headers });

const get = async (t: TestApp, key: string) => {
  const res = await t.request({ method: 'GET', url: `/config/${key}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

/** The `settings_log` rows for `name`, oldest first, read from the file itself. */
function logRows(t: TestApp, name: string) {
  const db = new Database(t.config.dbPath, { readonly: true });
  try {
    return db
      .prepare(
        'SELECT name, old_value, new_value, source, reason FROM settings_log WHERE name = ? ORDER BY id',
      )
      .all(name);
  } finally {
    db.close();
  }
}

const ROUTER_KEYS = [
  'active_timeout_s',
  'arbitration_window_ms',
  'cancel_phrases',
  'default_target',
  'echo_window_s',
  'fallback_target',
  'forward_strip_trigger',
  'http_timeout_s',
  'match_fuzzy',
  'match_min_score',
  'match_names',
  'session_timeout_s',
  'source_rooms',
  'wyoming_bindings',
];

describe('GET /config', () => {
  it('lists every setting in the Python wire format, values as strings, with their origin', async () => {
    const t = await startTestApp({ ECHONET_SESSION_TIMEOUT_S: '10' });
    const res = await t.request({ method: 'GET', url: '/config' });
    expect(res.statusCode).toBe(200);
    const { settings } = res.json();
    expect(Object.keys(settings).sort()).toEqual(
      [...ROUTER_KEYS, 'enable_preroll_buffer', 'preroll_buffer_seconds'].sort(),
    );
    for (const [key, s] of Object.entries<Record<string, unknown>>(settings)) {
      expect(Object.keys(s).sort()).toEqual(
        ['description', 'key', 'origin', 'type', 'updated_at', 'value'].sort(),
      );
      expect(s.key).toBe(key);
      expect(typeof s.value).toBe('string');
      expect(['bool', 'int', 'float', 'str']).toContain(s.type);
      // The Python service's model refuses longer descriptions; it reads the same table.
      expect((s.description as string).length).toBeLessThanOrEqual(200);
    }
    expect(settings.session_timeout_s).toEqual({
      key: 'session_timeout_s',
      value: '10',
      type: 'float',
      description: expect.any(String),
      updated_at: null,
      origin: 'env',
    });
    expect(settings.cancel_phrases).toMatchObject({
      value: 'cancel,never mind,nevermind,stop listening',
      type: 'str',
      origin: 'default',
    });
    expect(settings.match_fuzzy).toMatchObject({ value: 'true', type: 'bool', origin: 'default' });
    expect(settings.active_timeout_s).toMatchObject({ value: '30', origin: 'default' });
    expect(settings.enable_preroll_buffer).toMatchObject({
      value: 'false',
      type: 'bool',
      description: 'Enable pre-roll audio buffering (capture audio before trigger)',
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      origin: 'default',
    });
    expect(settings.preroll_buffer_seconds).toMatchObject({ value: '2.0', type: 'float' });
  });

  it('GET /config/{key} answers one setting, and 404 names an unknown key', async () => {
    const t = await startTestApp();
    expect(await get(t, 'match_min_score')).toMatchObject({
      key: 'match_min_score',
      value: '0.88',
      type: 'float',
      origin: 'default',
    });
    const res = await t.request({ method: 'GET', url: '/config/volume' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ ok: false, error: "Configuration key 'volume' not found" });
  });

  it('needs the API key', async () => {
    const t = await startTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/config' });
    expect(res.statusCode).toBe(401);
  });
});

describe('PUT /config/{key}', () => {
  it('stores the value, answers the setting and says it now comes from the API', async () => {
    const t = await startTestApp({ ECHONET_SESSION_TIMEOUT_S: '10' });
    const res = await put(t, 'session_timeout_s', { value: '42.5' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      key: 'session_timeout_s',
      value: '42.5',
      type: 'float',
      description: expect.any(String),
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      origin: 'api',
    });
    expect(await get(t, 'session_timeout_s')).toMatchObject({ value: '42.5', origin: 'api' });
  });

  it.each([
    ['match_fuzzy', 'maybe', 'must be a bool: true or false'],
    ['forward_strip_trigger', '2', 'must be a bool'],
    ['session_timeout_s', 'soon', 'must be a float: a number of seconds greater than 0'],
    ['session_timeout_s', '-5', 'must be a float'],
    [
      'http_timeout_s',
      '301',
      'must be a float: a number of seconds greater than 0 and at most 300',
    ],
    ['match_min_score', '1.5', 'must be a float: a number from 0 to 1'],
    ['match_names', 'sometimes', 'must be a str: one of wyoming, all, off'],
    [
      'default_target',
      'Astraea Prime',
      'must be a str: a target name (1 to 32 of a-z, 0-9, _ or -), or empty for none',
    ],
    ['active_timeout_s', '', 'must be a float'],
    ['enable_preroll_buffer', 'yes please', 'must be a bool'],
    ['preroll_buffer_seconds', 'two', 'must be a float'],
  ])('refuses %s = %j with a 400 naming the type', async (key, value, words) => {
    const t = await startTestApp();
    const before = await get(t, key);
    const res = await put(t, key, { value });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error).toContain(`body.value for ${key} ${words}`);
    expect(error).toContain(`got ${JSON.stringify(value)}`);
    expect(error).not.toContain('\n');
    // Nothing changed, and nothing was logged.
    expect(await get(t, key)).toEqual(before);
    expect(logRows(t, key)).toEqual([]);
  });

  it('refuses a value that is not a string, a missing value and an unknown key', async () => {
    const t = await startTestApp();
    const number = await put(t, 'session_timeout_s', { value: 30 });
    expect(number.statusCode).toBe(400);
    expect(number.json().error).toBe('body.value must be a string');
    const missing = await put(t, 'session_timeout_s', {});
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toBe('body.value is required');
    const unknown = await put(t, 'volume', { value: '11' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe("Configuration key 'volume' not found");
  });

  it('stores values in the form the Python service reads (bool as true/false)', async () => {
    const t = await startTestApp();
    expect((await put(t, 'match_fuzzy', { value: 'Off' })).json().value).toBe('false');
    expect((await put(t, 'enable_preroll_buffer', { value: 'TRUE' })).json().value).toBe('true');
    expect((await put(t, 'session_timeout_s', { value: ' 12 ' })).json().value).toBe('12');
    const db = new Database(t.config.dbPath, { readonly: true });
    try {
      const rows = db.prepare('SELECT key, value, type FROM config ORDER BY key').all();
      expect(rows).toEqual([
        { key: 'enable_preroll_buffer', value: 'true', type: 'bool' },
        { key: 'match_fuzzy', value: 'false', type: 'bool' },
        { key: 'preroll_buffer_seconds', value: '2.0', type: 'float' },
        { key: 'session_timeout_s', value: '12', type: 'float' },
      ]);
    } finally {
      db.close();
    }
  });

  it('logs each change in settings_log with the value it replaced, the source and the reason', async () => {
    const t = await startTestApp({ ECHONET_CANCEL_PHRASES: 'cancel,stop' });
    await put(t, 'cancel_phrases', { value: 'cancel,be quiet' });
    await put(t, 'cancel_phrases', { value: 'shush', reason: 'kitchen is noisy' });
    await put(t, 'preroll_buffer_seconds', { value: '3.5' });
    expect(logRows(t, 'cancel_phrases')).toEqual([
      {
        name: 'cancel_phrases',
        old_value: 'cancel,stop',
        new_value: 'cancel,be quiet',
        source: 'api',
        reason: 'PUT /config/cancel_phrases',
      },
      {
        name: 'cancel_phrases',
        old_value: 'cancel,be quiet',
        new_value: 'shush',
        source: 'api',
        reason: 'kitchen is noisy',
      },
    ]);
    expect(logRows(t, 'preroll_buffer_seconds')).toEqual([
      {
        name: 'preroll_buffer_seconds',
        old_value: '2.0',
        new_value: '3.5',
        source: 'api',
        reason: 'PUT /config/preroll_buffer_seconds',
      },
    ]);
  });

  it('needs the admin key when one is set', async () => {
    const t = await startTestApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    const without = await t.app.inject({
      method: 'PUT',
      url: '/config/match_fuzzy',
      headers: { 'x-api-key': API_KEY },
      payload: { value: 'false' },
    });
    expect(without.statusCode).toBe(401);
    expect(without.json().error).toBe('missing X-Admin-Key header');
    const wrong = await put(t, 'match_fuzzy', { value: 'false' }, { 'x-admin-key': 'nope' });
    expect(wrong.statusCode).toBe(403);
    expect(await get(t, 'match_fuzzy')).toMatchObject({ value: 'true', origin: 'default' });
    const right = await put(t, 'match_fuzzy', { value: 'false' });
    expect(right.statusCode).toBe(200);
  });

  it('ignores fields the Python service would ignore', async () => {
    const t = await startTestApp();
    const res = await put(t, 'session_timeout_s', { value: '9', note: 'from a python client' });
    expect(res.statusCode).toBe(200);
    expect(res.json().value).toBe('9');
  });
});

describe('precedence: api > env > default', () => {
  it('an API value wins over the environment, and clearing it gives the environment back', async () => {
    const dbPath = tempDbPath();
    const first = await startTestApp({ ECHONET_MATCH_MIN_SCORE: '0.9' }, { dbPath });
    expect(await get(first, 'match_min_score')).toMatchObject({ value: '0.9', origin: 'env' });
    await put(first, 'match_min_score', { value: '0.95' });
    await first.close();

    // A restart with the same environment keeps the API's value.
    const second = await startTestApp({ ECHONET_MATCH_MIN_SCORE: '0.9' }, { dbPath });
    expect(await get(second, 'match_min_score')).toMatchObject({ value: '0.95', origin: 'api' });
    const cleared = await second.request({ method: 'DELETE', url: '/config/match_min_score' });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toMatchObject({ value: '0.9', origin: 'env', updated_at: null });
    expect(logRows(second, 'match_min_score').at(-1)).toEqual({
      name: 'match_min_score',
      old_value: '0.95',
      new_value: '0.9',
      source: 'api',
      reason: 'cleared match_min_score (back to env)',
    });
    await second.close();

    // Without the variable, the default.
    const third = await startTestApp({}, { dbPath });
    expect(await get(third, 'match_min_score')).toMatchObject({ value: '0.88', origin: 'default' });
  });

  it('a value equal to the default that came from the environment still says env', async () => {
    const t = await startTestApp({ ECHONET_SESSION_TIMEOUT_S: '25' });
    expect(await get(t, 'session_timeout_s')).toMatchObject({ value: '25', origin: 'env' });
  });

  it('DELETE puts a Python-era key back to the value that service seeds', async () => {
    const t = await startTestApp();
    await put(t, 'preroll_buffer_seconds', { value: '4' });
    expect(await get(t, 'preroll_buffer_seconds')).toMatchObject({ value: '4', origin: 'api' });
    const res = await t.request({ method: 'DELETE', url: '/config/preroll_buffer_seconds' });
    expect(res.json()).toMatchObject({ value: '2.0', origin: 'default' });
  });

  it('a value another writer stored out of range is not used: the environment applies, with one warning', async () => {
    const warnings: string[] = [];
    const t = await startTestApp(
      { ECHONET_SESSION_TIMEOUT_S: '15' },
      { logger: { level: 'warn', stream: { write: (line: string) => warnings.push(line) } } },
    );
    await put(t, 'session_timeout_s', { value: '20' });
    // The Python service checks the type only: it would store this.
    const db = new Database(t.config.dbPath);
    db.prepare("UPDATE config SET value = '-3' WHERE key = 'session_timeout_s'").run();
    db.close();
    const entry = await waitFor(
      async () => {
        const e = await get(t, 'session_timeout_s');
        return e.value !== '20' && e;
      },
      { what: 'the server to read the changed row' },
    );
    expect(entry).toMatchObject({ value: '15', origin: 'env', updated_at: null });
    await get(t, 'session_timeout_s');
    const said = warnings.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(said).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'config session_timeout_s="-3" in the database is not a float: a number of seconds greater than 0 and at most 86400; using the env value 15',
      }),
    ]);
  });
});

describe('the Python-era keys', () => {
  it('keep the values the Python service stored, and a Python write is seen', async () => {
    const dbPath = tempDbPath();
    makePythonDb(dbPath, 3, []);
    const db = new Database(dbPath);
    db.prepare("UPDATE config SET value = 'true' WHERE key = 'enable_preroll_buffer'").run();
    db.close();
    const t = await startTestApp({}, { dbPath });
    expect(await get(t, 'enable_preroll_buffer')).toMatchObject({
      value: 'true',
      type: 'bool',
      origin: 'api',
    });
    expect(await get(t, 'preroll_buffer_seconds')).toMatchObject({
      value: '2.0',
      origin: 'default',
    });
    // The Python service, sharing the file, changes preroll_buffer_seconds to 1.5.
    usePythonService(dbPath, { name: 'py', base_url: 'http://py.local:1', phrases: ['hey py'] });
    const seen = await waitFor(
      async () => {
        const e = await get(t, 'preroll_buffer_seconds');
        return e.value === '1.5' && e;
      },
      { what: "the Python service's write to be seen" },
    );
    expect(seen).toMatchObject({ origin: 'api' });
  });

  it('rows written here read back through the Python service’s own query, typed as it requires', async () => {
    const t = await startTestApp();
    for (const key of ROUTER_KEYS) {
      const current = await get(t, key);
      expect((await put(t, key, { value: current.value })).statusCode).toBe(200);
    }
    const db = new Database(t.config.dbPath, { readonly: true });
    try {
      const rows = db
        .prepare('SELECT key, value, type, description, updated_at FROM config ORDER BY key')
        .all() as { key: string; type: string; description: string }[];
      expect(rows.map((r) => r.key)).toEqual(
        [...ROUTER_KEYS, 'enable_preroll_buffer', 'preroll_buffer_seconds'].sort(),
      );
      for (const r of rows) {
        expect(['bool', 'int', 'float', 'str']).toContain(r.type);
        expect(r.key.length).toBeLessThanOrEqual(64);
        expect(r.description.length).toBeLessThanOrEqual(200);
      }
    } finally {
      db.close();
    }
  });
});
