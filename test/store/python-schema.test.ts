/**
 * Schema v1–v3 against the Python service's own DDL and seeds (test/fixtures/python-schema.sql,
 * taken from its source): every table and index Echonet creates for them has the same SQL in
 * sqlite_master, the seeded rows are the same, versions are recorded in the same format, and each
 * service opens and uses the other's files.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { makePythonDb, usePythonService } from '../helpers/python-db.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();
/** What SQLite's datetime('now') writes: UTC, 'YYYY-MM-DD HH:MM:SS'. */
const SQLITE_DATETIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

interface SchemaObject {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/**
 * Layout is not meaning: runs of whitespace become one space, and none is kept beside brackets
 * and commas. Every word, quote and keyword still has to match.
 */
const normalise = (sql: string | null) =>
  sql
    ?.replace(/\s+/g, ' ')
    .replace(/ ?([(),]) ?/g, '$1')
    .trim() ?? null;

function schemaOf(path: string): Map<string, SchemaObject> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name')
      .all() as SchemaObject[];
    return new Map(rows.map((r) => [r.name, { ...r, sql: normalise(r.sql) }]));
  } finally {
    db.close();
  }
}

/** The seeded rows, without the moments they were written (checked for format apart). */
function seedsOf(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    const stamps = db
      .prepare(
        `SELECT applied_at FROM schema_version
         UNION ALL SELECT updated_at FROM settings
         UNION ALL SELECT changed_at FROM settings_log
         UNION ALL SELECT updated_at FROM config`,
      )
      .pluck()
      .all() as string[];
    return {
      versions: db.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all(),
      settings: db.prepare('SELECT name, value, description FROM settings ORDER BY name').all(),
      settingsLog: db
        .prepare(
          'SELECT id, name, old_value, new_value, source, reason FROM settings_log ORDER BY id',
        )
        .all(),
      config: db.prepare('SELECT key, value, type, description FROM config ORDER BY key').all(),
      sequences: db.prepare('SELECT name, seq FROM sqlite_sequence ORDER BY name').all(),
      stamps,
    };
  } finally {
    db.close();
  }
}

function echonetFile(): string {
  const path = tempDbPath(dir);
  openStore(path).close();
  return path;
}

function pythonFile(version: 1 | 2 | 3): string {
  const path = tempDbPath(dir);
  makePythonDb(path, version, []);
  return path;
}

describe('schema v1–v3 against the Python source', () => {
  it('has every Python table and index, with the same SQL in sqlite_master', () => {
    const python = schemaOf(pythonFile(3));
    const echonet = schemaOf(echonetFile());
    // Sanity: the fixture holds what the Python service creates.
    expect([...python.keys()].sort()).toEqual([
      'config',
      'idx_config_key',
      'idx_settings_log_name',
      'idx_target_name',
      'schema_version',
      'settings',
      'settings_log',
      'sqlite_autoindex_config_1',
      'sqlite_autoindex_settings_1',
      'sqlite_autoindex_targets_1',
      'sqlite_sequence',
      'targets',
    ]);
    for (const [name, object] of python) expect(echonet.get(name), name).toEqual(object);
  });

  it('seeds the same rows, with the Python service’s exact descriptions', () => {
    const python = seedsOf(pythonFile(3));
    const echonet = seedsOf(echonetFile());
    expect(echonet.settings).toEqual(python.settings);
    expect(echonet.settingsLog).toEqual(python.settingsLog);
    expect(echonet.config).toEqual(python.config);
    expect(echonet.sequences).toEqual(python.sequences);
    expect(echonet.versions.slice(0, 3)).toEqual(python.versions);
  });

  it('records every version and seeded moment in datetime(’now’) format, like the Python service', () => {
    const echonet = seedsOf(echonetFile());
    expect(echonet.stamps.length).toBeGreaterThan(3);
    for (const stamp of [...echonet.stamps, ...seedsOf(pythonFile(3)).stamps])
      expect(stamp).toMatch(SQLITE_DATETIME);
  });

  it.each([1, 2, 3] as const)(
    'upgrades a Python v%i file to the same schema and seeds as a fresh file',
    (version) => {
      const path = pythonFile(version);
      openStore(path).close();
      expect(schemaOf(path)).toEqual(schemaOf(echonetFile()));
      const { stamps: _s1, ...upgraded } = seedsOf(path);
      const { stamps: _s2, ...fresh } = seedsOf(echonetFile());
      expect(upgraded).toEqual(fresh);
    },
  );
});

describe('files shared with the Python service', () => {
  it('opens a Python-made file, reads its JSON (Python’s separators and escapes) and keeps it', () => {
    const path = tempDbPath(dir);
    const targets = [
      { name: 'Astraea', base_url: 'http://astraea.local:9001', phrases: ['hey astraea', 'héllo'] },
    ];
    makePythonDb(path, 3, targets);
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT phrases FROM targets').pluck().get()).toBe(
      '["hey astraea", "h\\u00e9llo"]',
    );
    raw.close();
    const store = openStore(path);
    try {
      expect(store.targets.all()).toEqual([
        {
          name: 'astraea',
          baseUrl: 'http://astraea.local:9001',
          phrases: ['hey astraea', 'héllo'],
        },
      ]);
    } finally {
      store.close();
    }
  });

  it('leaves a file the Python service can use, and reads back what that service wrote', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    store.targets.upsert({
      name: 'echobell',
      baseUrl: 'http://echobell.local:9000',
      phrases: ['hey echo'],
    });
    store.close();

    const python = usePythonService(path, {
      name: 'astraea',
      base_url: 'http://astraea.local:9001',
      phrases: ['hey astraea'],
    });
    // Newer than v3: the Python service migrates nothing and uses the file as it is.
    expect(python.version).toBeGreaterThanOrEqual(4);
    expect(python.targets).toEqual([
      { name: 'echobell', base_url: 'http://echobell.local:9000', phrases: ['hey echo'] },
    ]);

    const again = openStore(path);
    try {
      expect(again.migrated).toEqual([]);
      expect(
        again.targets
          .all()
          .map((t) => t.name)
          .sort(),
      ).toEqual(['astraea', 'echobell']);
    } finally {
      again.close();
    }
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT new_value FROM settings_log ORDER BY id').pluck().all()).toEqual([
      'trigger',
      'active',
    ]);
    db.close();
  });
});
