/**
 * The v2 settings tables: a change and its log row together, the history newest first, and rows
 * the Python service wrote (on a v3 file made with its own DDL) read and continued by Echonet.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { historyLimit, parseSqlTime, sqlTime } from '../../src/store/settings.js';
import { startTestApp } from '../helpers/app.js';
import { makePythonDb, usePythonService } from '../helpers/python-db.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();

describe('SettingsStore', () => {
  it('writes a change with its log row, and nothing for an unchanged value', () => {
    const store = openStore(tempDbPath(dir));
    try {
      const s = store.settings;
      expect(s.set('listen_mode', 'active', { source: 'api:astraea', reason: 'asked' })).toBe(true);
      expect(s.set('listen_mode', 'active', { source: 'api:astraea', reason: 'again' })).toBe(
        false,
      );
      expect(
        s.set('listen_mode', 'active', {
          source: 'api:peter',
          reason: 'renewed',
          at: '2026-01-01 00:00:05',
          always: true,
        }),
      ).toBe(true);
      expect(s.get('listen_mode')).toMatchObject({
        value: 'active',
        updated_at: '2026-01-01 00:00:05',
        // Kept from the migration's seed: a description is only written for a new setting.
        description: 'Current listening mode: trigger (idle) or active (responding to LLM)',
      });
      expect(s.history({ name: 'listen_mode', limit: 10 })).toEqual([
        {
          id: 3,
          name: 'listen_mode',
          old_value: 'active',
          new_value: 'active',
          changed_at: '2026-01-01 00:00:05',
          source: 'api:peter',
          reason: 'renewed',
        },
        expect.objectContaining({ id: 2, old_value: 'trigger', source: 'api:astraea' }),
        expect.objectContaining({ id: 1, old_value: null, source: 'migration' }),
      ]);
      expect(s.lastChangeTo('listen_mode', 'active')?.source).toBe('api:peter');
      s.set('listen_mode:back_door', 'inactive', { source: 'x', reason: null });
      s.set('listen_modeX', 'trigger', { source: 'x', reason: null });
      // `_` is no wildcard: only names that truly start with the prefix.
      expect(s.withPrefix('listen_mode:').map((r) => r.name)).toEqual(['listen_mode:back_door']);
    } finally {
      store.close();
    }
  });

  it('logs a change stored elsewhere (the config table) with logChange', () => {
    const store = openStore(tempDbPath(dir));
    try {
      store.settings.logChange('match_min_score', '0.88', '0.9', 'api', 'tuning');
      expect(store.settings.history({ limit: 1 })[0]).toMatchObject({
        name: 'match_min_score',
        old_value: '0.88',
        new_value: '0.9',
        source: 'api',
        reason: 'tuning',
        changed_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      });
    } finally {
      store.close();
    }
  });

  it('writes times as SQLite does and reads them back', () => {
    const ms = Date.UTC(2026, 10, 30, 9, 8, 7);
    expect(sqlTime(ms)).toBe('2026-11-30 09:08:07');
    expect(parseSqlTime('2026-11-30 09:08:07')).toBe(ms);
  });

  it.each([
    [undefined, 50],
    ['1', 1],
    ['500', 500],
    ['501', 500],
  ])('takes limit %s as %i', (raw, limit) => {
    expect(historyLimit(raw, 'limit')).toBe(limit);
  });
});

describe('Python-era rows', () => {
  it('read in the history and GET /state, and the Python service keeps using the file', async () => {
    const path = tempDbPath(dir);
    makePythonDb(path, 3, [
      { name: 'Astraea', base_url: 'http://127.0.0.1:9', phrases: ['hey astraea'] },
    ]);
    // The Python service sets the mode to active (source 'api', no target named).
    usePythonService(path, {
      name: 'peter',
      base_url: 'http://127.0.0.1:9',
      phrases: ['hey peter'],
    });

    const t = await startTestApp({}, { dbPath: path });
    const res = await t.request({ method: 'GET', url: '/state/history' });
    expect(res.statusCode).toBe(200);
    const { changes } = res.json();
    expect(changes).toEqual([
      expect.objectContaining({ old_value: 'active', new_value: 'trigger', source: 'startup' }),
      {
        id: 2,
        name: 'listen_mode',
        old_value: 'trigger',
        new_value: 'active',
        changed_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        source: 'api',
        reason: 'compatibility test',
      },
      {
        id: 1,
        name: 'listen_mode',
        old_value: null,
        new_value: 'trigger',
        changed_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        source: 'migration',
        reason: 'Initial setup',
      },
    ]);
    const state = (await t.request({ method: 'GET', url: '/state' })).json();
    expect(state.listen_mode).toBe('trigger');
    expect(state.settings).toEqual([
      expect.objectContaining({
        name: 'listen_mode',
        value: 'trigger',
        description: 'Current listening mode: trigger (idle) or active (responding to LLM)',
      }),
    ]);

    const put = await t.request({
      method: 'PUT',
      url: '/state',
      payload: { target: 'astraea', source: 'llm', state: 'inactive', source_id: 'porch' },
    });
    expect(put.statusCode).toBe(200);
    await t.close();

    // The Python service's reads of the same rows (its get_history query), and its writes.
    usePythonService(path, {
      name: 'third',
      base_url: 'http://127.0.0.1:9',
      phrases: ['hey third'],
    });
    const db = new Database(path, { readonly: true });
    try {
      const rows = db
        .prepare(
          `SELECT id, name, old_value, new_value, changed_at, source, reason FROM settings_log
           ORDER BY changed_at DESC, id DESC`,
        )
        .all() as { name: string; source: string }[];
      expect(rows.map((r) => `${r.name} ${r.source}`)).toEqual(
        expect.arrayContaining([
          'listen_mode api',
          'listen_mode startup',
          'listen_mode:porch llm:astraea',
          'listen_mode migration',
        ]),
      );
      expect(rows).toHaveLength(5);
    } finally {
      db.close();
    }
  });
});
