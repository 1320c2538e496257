/**
 * Databases as the original Python Echonet leaves them: its exact DDL, its default rollback
 * journal, its version rows. Used to prove Echonet opens and upgrades them without loss.
 */
import Database from 'better-sqlite3';

const V1 = `
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
CREATE TABLE targets (
    name TEXT PRIMARY KEY,
    base_url TEXT NOT NULL,
    phrases TEXT NOT NULL  -- JSON array
);
CREATE INDEX idx_target_name ON targets(name COLLATE NOCASE);
INSERT INTO schema_version (version, applied_at) VALUES (1, datetime('now'));
`;

const V2 = `
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (datetime('now')),
    description TEXT
);
CREATE TABLE settings_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT NOT NULL,
    changed_at TEXT NOT NULL DEFAULT (datetime('now')),
    source TEXT,
    reason TEXT
);
CREATE INDEX idx_settings_log_name ON settings_log(name, changed_at DESC);
INSERT INTO settings (name, value, description) VALUES ('listen_mode', 'trigger', 'Current listen mode');
INSERT INTO settings_log (name, old_value, new_value, source, reason) VALUES ('listen_mode', NULL, 'trigger', 'migration', 'Initial value');
INSERT INTO schema_version (version, applied_at) VALUES (2, datetime('now'));
`;

const V3 = `
CREATE TABLE config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    type TEXT NOT NULL CHECK(type IN ('bool','int','float','str')),
    description TEXT,
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
);
INSERT INTO config (key, value, type, description) VALUES ('enable_preroll_buffer', 'false', 'bool', 'Enable pre-roll');
INSERT INTO config (key, value, type, description) VALUES ('preroll_buffer_seconds', '2.0', 'float', 'Pre-roll seconds');
INSERT INTO schema_version (version, applied_at) VALUES (3, datetime('now'));
`;

export interface PythonTarget {
  name: string;
  base_url: string;
  phrases: string[];
}

/** Writes a Python-made registry at `version` (1–3) holding `targets`, and closes it. */
export function makePythonDb(path: string, version: 1 | 2 | 3, targets: PythonTarget[]): void {
  const db = new Database(path);
  db.exec(V1);
  if (version >= 2) db.exec(V2);
  if (version >= 3) db.exec(V3);
  const insert = db.prepare('INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)');
  for (const t of targets) insert.run(t.name, t.base_url, JSON.stringify(t.phrases));
  db.close();
}
