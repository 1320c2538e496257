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

/**
 * Notes a target as changed. NOT EXISTS rather than INSERT OR IGNORE: a trigger's own conflict
 * clause gives way to the outer statement's, so inside the Python service's upsert (INSERT ...
 * ON CONFLICT DO UPDATE) OR IGNORE would not ignore, and its write would fail.
 */
function noteStale(row: 'NEW' | 'OLD'): string {
  return `INSERT INTO echonet_phrases_stale (target) SELECT lower(${row}.name)
          WHERE NOT EXISTS (SELECT 1 FROM echonet_phrases_stale WHERE target = lower(${row}.name));`;
}

/**
 * The v5 triggers that note which targets any writer changed (phrase-index.ts re-derives them).
 * Plain SQL on purpose: they run inside the Python service's and the sqlite3 shell's writes too.
 */
export const PHRASE_TRIGGERS_SQL = `
      CREATE TRIGGER IF NOT EXISTS echonet_phrases_on_insert AFTER INSERT ON targets BEGIN
        ${noteStale('NEW')}
      END;
      CREATE TRIGGER IF NOT EXISTS echonet_phrases_on_update
        AFTER UPDATE OF name, phrases ON targets BEGIN
        ${noteStale('OLD')}
        ${noteStale('NEW')}
      END;
      CREATE TRIGGER IF NOT EXISTS echonet_phrases_on_delete AFTER DELETE ON targets BEGIN
        ${noteStale('OLD')}
      END;
`;

/** The triggers PHRASE_TRIGGERS_SQL creates, to check they are all still there. */
export const PHRASE_TRIGGERS = [
  'echonet_phrases_on_insert',
  'echonet_phrases_on_update',
  'echonet_phrases_on_delete',
] as const;

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
    version: 5,
    description: 'Echonet normalised-phrase index (derived from targets)',
    // Derived from `targets`, which keeps its exact shape for the Python service. One row per
    // (target, normalised phrase), and no phrase text: a conflict's message quotes the owner's
    // `targets` row, which is read anyway to verify it. The partial UNIQUE index lets no two targets own a normalised
    // phrase, except rows marked `shadowed` that mirror a clash a foreign writer already stored.
    // The triggers are plain SQL, so they run for every writer (the Python service, the sqlite3
    // shell): they only note which targets changed, and Echonet re-derives those rows (it needs
    // its own normalisation, which exists only in this process). Filled on the first open
    // (src/store/phrase-index.ts: no rules fingerprint recorded yet means a full rebuild).
    sql: `
      CREATE TABLE IF NOT EXISTS echonet_phrases (
        target TEXT NOT NULL,
        norm TEXT NOT NULL,
        shadowed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (target, norm)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX IF NOT EXISTS echonet_phrases_owner
        ON echonet_phrases(norm) WHERE shadowed = 0;
      CREATE INDEX IF NOT EXISTS echonet_phrases_shadowed
        ON echonet_phrases(norm) WHERE shadowed = 1;
      CREATE TABLE IF NOT EXISTS echonet_phrases_stale (
        target TEXT PRIMARY KEY
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS echonet_phrases_rules (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        fingerprint TEXT NOT NULL
      );
      ${PHRASE_TRIGGERS_SQL}
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
  {
    // The decision log (src/store/events.ts). `seq` orders rows as they were logged and is the
    // list cursor; AUTOINCREMENT so a seq is never reused after pruning empties the table. No
    // foreign key to `targets`: deleting a target keeps its past events. The only index besides
    // seq is the id's, and ids are time-ordered (event-id.ts) so it grows at one end: an index
    // per filter (source, target, mode) cost more per logged decision than the rest of the row
    // (measured: 6.5 µs of CPU a row with the id index alone, 15 with a source index too), and
    // the filters scan the retained rows newest first instead, which a page of results stops.
    version: 7,
    description: 'Echonet decision log (one row per utterance)',
    sql: `
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        received_at INTEGER NOT NULL,
        source_id TEXT NOT NULL,
        room TEXT,
        text TEXT,
        confidence REAL,
        listen_mode TEXT NOT NULL,
        mode TEXT NOT NULL,
        reason TEXT NOT NULL,
        target TEXT,
        match_phrase TEXT,
        match_text TEXT,
        match_score REAL,
        match_exact INTEGER,
        session_id TEXT,
        session_change TEXT,
        forwarded INTEGER NOT NULL,
        status INTEGER,
        latency_ms REAL,
        failure TEXT,
        near_phrase TEXT,
        near_target TEXT,
        near_text TEXT,
        near_score REAL,
        privacy TEXT NOT NULL
      );
    `,
  },
  {
    // The decision log's own writer commits to the file every few milliseconds, which moves every
    // other connection's `PRAGMA data_version`: that alone can no longer say "the registry
    // changed". This counter can: plain-SQL triggers (so the Python service's and the sqlite3
    // shell's writes count too) bump it on any change to `targets` that routing sees.
    version: 8,
    description: 'Echonet registry change counter (routing rebuilds only when targets change)',
    sql: `
      CREATE TABLE IF NOT EXISTS echonet_registry_changes (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        n INTEGER NOT NULL
      );
      INSERT OR IGNORE INTO echonet_registry_changes (id, n) VALUES (1, 0);
      CREATE TRIGGER IF NOT EXISTS echonet_registry_on_insert AFTER INSERT ON targets BEGIN
        UPDATE echonet_registry_changes SET n = n + 1 WHERE id = 1;
      END;
      CREATE TRIGGER IF NOT EXISTS echonet_registry_on_update
        AFTER UPDATE OF name, base_url, phrases ON targets BEGIN
        UPDATE echonet_registry_changes SET n = n + 1 WHERE id = 1;
      END;
      CREATE TRIGGER IF NOT EXISTS echonet_registry_on_delete AFTER DELETE ON targets BEGIN
        UPDATE echonet_registry_changes SET n = n + 1 WHERE id = 1;
      END;
    `,
  },
  {
    // What the decision log learned with replies and the Wyoming front end. Columns added to v7's
    // table rather than a new table, so past rows stay listable with the same query; each has a
    // default (old rows all came over HTTP, with no reply), so no row is rewritten: on SQLite an
    // ADD COLUMN only changes the schema, whatever the table holds.
    version: 9,
    description: 'Echonet decision log: reply, front end, conversation id, fallback',
    sql: `
      ALTER TABLE events ADD COLUMN reply TEXT;
      ALTER TABLE events ADD COLUMN reply_truncated INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE events ADD COLUMN front_end TEXT NOT NULL DEFAULT 'http';
      ALTER TABLE events ADD COLUMN conversation_id TEXT;
      ALTER TABLE events ADD COLUMN intended_target TEXT;
    `,
  },
  {
    // Rooms (issue 14): why arbitration dropped a duplicate wake or let one win (the competing
    // sources and texts), or which reply an utterance echoed. One nullable JSON column, set only on
    // those rows, rather than a column per field of two shapes that are rare and may grow.
    version: 10,
    description: 'Echonet decision log: detail (duplicate-wake arbitration, echo of a reply)',
    sql: `
      ALTER TABLE events ADD COLUMN detail TEXT;
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

export function hasColumn(db: Db, table: string, column: string): boolean {
  return (
    db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined
  );
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
