/**
 * Databases as the original Python Echonet leaves them, and that service's use of a file: its
 * exact DDL and seed rows (test/fixtures/python-schema.sql, taken from its source), its default
 * rollback journal, its version rows, its JSON. Used to prove each service opens the other's files.
 */
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';

export type PythonVersion = 1 | 2 | 3;

/** The fixture's statements for each Python migration, in the order that service runs them. */
export function pythonMigrationSql(): ReadonlyMap<PythonVersion, string> {
  const text = readFileSync(new URL('../fixtures/python-schema.sql', import.meta.url), 'utf8');
  const sections = new Map<PythonVersion, string>();
  for (const part of text.split(/^-- @version /m).slice(1)) {
    const newline = part.indexOf('\n');
    sections.set(Number(part.slice(0, newline)) as PythonVersion, part.slice(newline + 1));
  }
  return sections;
}

export interface PythonTarget {
  name: string;
  base_url: string;
  phrases: string[];
}

/** Writes a Python-made registry at `version` (1–3) holding `targets`, and closes it. */
export function makePythonDb(path: string, version: PythonVersion, targets: PythonTarget[]): void {
  const db = new Database(path);
  try {
    for (const [v, sql] of pythonMigrationSql()) if (v <= version) db.exec(sql);
    for (const t of targets) pythonUpsert(db, t);
  } finally {
    db.close();
  }
}

/** Python's `json.dumps` of a list of strings: ", " between items, non-ASCII as \uXXXX. */
function pythonJson(phrases: readonly string[]): string {
  const items = phrases.map((p) =>
    JSON.stringify(p).replace(
      /[\u0080-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    ),
  );
  return `[${items.join(', ')}]`;
}

/** A target registered through the Python service: lower-cased name, its JSON, upsert by name. */
function pythonUpsert(db: Database.Database, t: PythonTarget): void {
  db.prepare(
    `INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET base_url = excluded.base_url, phrases = excluded.phrases`,
  ).run(t.name.toLowerCase(), t.base_url, pythonJson(t.phrases));
}

/**
 * What the Python service does with a file it is given: reads its version (and migrates only
 * below v3), lists the targets, registers one, changes the listen mode (with its log row) and a
 * config value. Throws if the file does not have what that service needs.
 */
export function usePythonService(
  path: string,
  add: PythonTarget,
): { version: number; targets: PythonTarget[] } {
  const db = new Database(path);
  try {
    const read = () =>
      (db
        .prepare('SELECT version FROM schema_version ORDER BY version DESC LIMIT 1')
        .pluck()
        .get() as number | undefined) ?? 0;
    const before = read();
    for (const [v, sql] of pythonMigrationSql()) if (v > before) db.exec(sql);
    const targets = (
      db.prepare('SELECT name, base_url, phrases FROM targets').all() as {
        name: string;
        base_url: string;
        phrases: string;
      }[]
    ).map((r) => ({
      name: r.name,
      base_url: r.base_url,
      phrases: JSON.parse(r.phrases) as string[],
    }));
    pythonUpsert(db, add);
    const old = db.prepare("SELECT value FROM settings WHERE name = 'listen_mode'").pluck().get();
    db.prepare(
      `INSERT INTO settings (name, value, updated_at, description) VALUES ('listen_mode', 'active', datetime('now'), NULL)
       ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
         description = COALESCE(excluded.description, description)`,
    ).run();
    db.prepare(
      `INSERT INTO settings_log (name, old_value, new_value, changed_at, source, reason)
       VALUES ('listen_mode', ?, 'active', datetime('now'), 'api', 'compatibility test')`,
    ).run(old);
    const changed = db
      .prepare(
        "UPDATE config SET value = '1.5', updated_at = datetime('now') WHERE key = 'preroll_buffer_seconds'",
      )
      .run().changes;
    if (changed !== 1) throw new Error('config has no preroll_buffer_seconds row');
    return { version: read(), targets };
  } finally {
    db.close();
  }
}
