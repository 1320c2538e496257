/**
 * Versioned schema. v1–v3 are the original Python Echonet's: the same tables, indexes and seed
 * rows, so a file made by either service opens in the other (test/store/python-schema.test.ts
 * compares them with test/fixtures/python-schema.sql, taken from the Python source). Echonet's
 * own tables start at v4.
 */
import { SchemaTooNew } from '../errors.js';
import type { Db } from './db.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'targets registry',
    // IF NOT EXISTS: early Python builds created `targets` before they recorded versions.
    sql: `
      CREATE TABLE IF NOT EXISTS targets (
        name TEXT PRIMARY KEY,
        base_url TEXT NOT NULL,
        phrases TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS idx_target_name ON targets(name COLLATE NOCASE);
    `,
  },
  {
    version: 2,
    description: 'settings and settings log (listen mode)',
    sql: `
      CREATE TABLE IF NOT EXISTS settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL DEFAULT (datetime('now')),
        description TEXT
      );
      CREATE TABLE IF NOT EXISTS settings_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        old_value TEXT,
        new_value TEXT NOT NULL,
        changed_at TEXT NOT NULL DEFAULT (datetime('now')),
        source TEXT,
        reason TEXT
      );
      CREATE INDEX IF NOT EXISTS idx_settings_log_name ON settings_log(name, changed_at DESC);
      INSERT OR IGNORE INTO settings (name, value, description)
        VALUES ('listen_mode', 'trigger',
          'Current listening mode: trigger (idle) or active (responding to LLM)');
      INSERT INTO settings_log (name, old_value, new_value, source, reason)
        SELECT 'listen_mode', NULL, 'trigger', 'migration', 'Initial setup'
        WHERE NOT EXISTS (SELECT 1 FROM settings_log WHERE name = 'listen_mode');
    `,
  },
  {
    version: 3,
    description: 'typed runtime config',
    sql: `
      CREATE TABLE IF NOT EXISTS config (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        type TEXT NOT NULL CHECK(type IN ('bool', 'int', 'float', 'str')),
        description TEXT,
        updated_at TEXT NOT NULL DEFAULT (datetime('now'))
      );
      CREATE INDEX IF NOT EXISTS idx_config_key ON config(key);
      INSERT OR IGNORE INTO config (key, value, type, description)
        VALUES ('enable_preroll_buffer', 'false', 'bool',
          'Enable pre-roll audio buffering (capture audio before trigger)');
      INSERT OR IGNORE INTO config (key, value, type, description)
        VALUES ('preroll_buffer_seconds', '2.0', 'float',
          'Seconds of audio to buffer before trigger event');
    `,
  },
  {
    version: 4,
    description: 'Echonet secrets (generated API key)',
    sql: `
      CREATE TABLE IF NOT EXISTS echonet_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
      );
    `,
  },
  {
    // Uses no other table (v5's included), so it applies the same whatever came before it.
    version: 6,
    description: 'API keys managed at run time (stored as SHA-256 digests)',
    sql: `
      CREATE TABLE IF NOT EXISTS echonet_api_keys (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        label TEXT NOT NULL,
        key_sha256 TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
      );
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export interface AppliedVersion {
  readonly version: number;
  readonly appliedAt: string;
}

/** The schema version recorded in the file (0 for a new or pre-migration file). */
export function currentVersion(db: Db): number {
  if (!hasTable(db, 'schema_version')) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as {
    v: number | null;
  };
  return row.v ?? 0;
}

export function migrationHistory(db: Db): AppliedVersion[] {
  if (!hasTable(db, 'schema_version')) return [];
  return db
    .prepare('SELECT version, applied_at AS appliedAt FROM schema_version ORDER BY version')
    .all() as AppliedVersion[];
}

/** Throws SchemaTooNew, touching nothing, when the file is newer than this code. */
export function assertKnownVersion(db: Db): number {
  const version = currentVersion(db);
  if (version > LATEST_VERSION) throw new SchemaTooNew(version, LATEST_VERSION);
  return version;
}

/**
 * Applies every pending migration, each in its own IMMEDIATE transaction that re-reads the
 * version after taking the write lock, so two processes starting together apply each one once.
 * Returns the versions this call applied.
 */
export function migrate(db: Db): number[] {
  assertKnownVersion(db);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    const ran = db
      .transaction(() => {
        db.exec(
          'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
        );
        const version = assertKnownVersion(db);
        if (version >= m.version) return false;
        db.exec(m.sql);
        // SQLite's own UTC 'YYYY-MM-DD HH:MM:SS', as the Python service records it, so the
        // history reads the same whichever service applied a version.
        db.prepare(
          "INSERT INTO schema_version (version, applied_at) VALUES (?, datetime('now'))",
        ).run(m.version);
        return true;
      })
      .immediate();
    if (ran) applied.push(m.version);
  }
  return applied;
}

export function hasTable(db: Db, name: string): boolean {
  return (
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !==
    undefined
  );
}

/** Every user table with its row count, for `echonet migrate --status`. */
export function tableRowCounts(db: Db): { name: string; rows: number }[] {
  const names = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .pluck()
    .all() as string[];
  return names.map((name) => ({
    name,
    rows: db
      .prepare(`SELECT COUNT(*) FROM "${name.replace(/"/g, '""')}"`)
      .pluck()
      .get() as number,
  }));
}
