/**
 * The v3 `config` table (the Python service's typed runtime settings), and the `settings_log` row
 * (written through settings.ts, as listen-mode changes are) that records each change made through
 * Echonet. The table keeps its exact shape: the Python
 * service shares the file, reads every row and may change any of them.
 *
 * Each write and its log row are one transaction, so the history never misses a change nor records
 * one that did not happen.
 */
import type { Db } from './db.js';
import { hasTable } from './migrations.js';
import { SettingsStore } from './settings.js';

export type ConfigType = 'bool' | 'int' | 'float' | 'str';

export interface ConfigRow {
  readonly key: string;
  readonly value: string;
  readonly type: ConfigType;
  readonly description: string | null;
  /** As SQLite's datetime('now') writes it: `YYYY-MM-DD HH:MM:SS`, UTC. */
  readonly updated_at: string;
}

/** Who changed a value, and why: the `settings_log` row's `source` and `reason`. */
export interface ChangeNote {
  readonly source: string;
  readonly reason: string;
  /** The value in effect before the change (from the table, the environment or the default). */
  readonly oldValue: string | null;
}

export class ConfigTable {
  readonly #all;
  readonly #get;
  readonly #upsert;
  readonly #delete;
  readonly #write;
  readonly #remove;

  /** `history`: where each change is logged (the `settings_log` table, in this transaction). */
  constructor(db: Db, history: SettingsStore) {
    this.#all = db.prepare<[], ConfigRow>(
      'SELECT key, value, type, description, updated_at FROM config ORDER BY key',
    );
    this.#get = db.prepare<[string], ConfigRow>(
      'SELECT key, value, type, description, updated_at FROM config WHERE key = ?',
    );
    // The type and description of a row that exists are kept: they are the row owner's.
    this.#upsert = db.prepare<[string, string, string, string | null], ConfigRow>(
      `INSERT INTO config (key, value, type, description, updated_at)
         VALUES (?, ?, ?, ?, datetime('now'))
       ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
       RETURNING key, value, type, description, updated_at`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM config WHERE key = ?');
    this.#write = db.transaction(
      (row: Omit<ConfigRow, 'updated_at'>, note: ChangeNote): ConfigRow => {
        const written = this.#upsert.get(row.key, row.value, row.type, row.description);
        history.logChange(row.key, note.oldValue, row.value, note.source, note.reason);
        return written as ConfigRow;
      },
    );
    this.#remove = db.transaction((key: string, newValue: string, note: ChangeNote): boolean => {
      const removed = this.#delete.run(key).changes > 0;
      if (removed) history.logChange(key, note.oldValue, newValue, note.source, note.reason);
      return removed;
    });
  }

  all(): ConfigRow[] {
    return this.#all.all();
  }

  get(key: string): ConfigRow | undefined {
    return this.#get.get(key);
  }

  /** Writes the row (creating it with this type and description if needed) and logs the change. */
  write(row: Omit<ConfigRow, 'updated_at'>, note: ChangeNote): ConfigRow {
    return this.#write.immediate(row, note);
  }

  /**
   * Deletes the row and logs that the value is now `newValue` (what applies without it); false,
   * logging nothing, when there was no row.
   */
  remove(key: string, newValue: string, note: ChangeNote): boolean {
    return this.#remove.immediate(key, newValue, note);
  }
}

/** The config table of a database that may predate v3 (read-only commands never migrate). */
export function configTableIfPresent(db: Db): ConfigTable | undefined {
  return hasTable(db, 'config') ? new ConfigTable(db, new SettingsStore(db)) : undefined;
}
