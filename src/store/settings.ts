/**
 * The v2 `settings` and `settings_log` tables, which the Python service writes too: named string
 * values, and one log row per change saying who made it and why. A change and its log row are
 * written in one transaction, so the log never misses a change nor records one that did not
 * happen. Rows the Python service wrote read like Echonet's own.
 */
import { ValidationError } from '../errors.js';
import type { Db } from './db.js';
import { hasTable } from './migrations.js';

export interface SettingRow {
  readonly name: string;
  readonly value: string;
  /** SQLite's UTC `YYYY-MM-DD HH:MM:SS`, as both services write it. */
  readonly updated_at: string;
  readonly description: string | null;
}

export interface SettingChange {
  readonly id: number;
  readonly name: string;
  readonly old_value: string | null;
  readonly new_value: string;
  readonly changed_at: string;
  readonly source: string | null;
  readonly reason: string | null;
}

export interface ChangeBy {
  /** What made the change (`api:astraea`, `startup`, `auto_reset`…). */
  readonly source: string;
  readonly reason: string | null;
  /** When, as `YYYY-MM-DD HH:MM:SS` UTC (sqlTime); default: SQLite's clock now. */
  readonly at?: string;
  /** Stored only when the setting is new, as the Python service does. */
  readonly description?: string;
  /** Write and log even an unchanged value (a renewed mode that restarts its timeout). */
  readonly always?: boolean;
}

/** A time (ms since the epoch) in the format both services store: `2026-01-01 12:00:00`, UTC. */
export function sqlTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Reads a stored time (UTC, no zone written) back into ms since the epoch; NaN if unreadable. */
export function parseSqlTime(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}

/** The Python service's default and ceiling for a history query. */
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 500;

/**
 * A history `limit` as given (a query parameter, a CLI option): default 50, more than 500 capped
 * at 500 as the Python service does; anything but a whole number from 1 is a ValidationError
 * naming `field`.
 */
export function historyLimit(raw: string | undefined, field: string): number {
  if (raw === undefined) return HISTORY_DEFAULT_LIMIT;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) {
    throw new ValidationError(
      `${field} must be a whole number from 1 (at most ${HISTORY_MAX_LIMIT} are returned)`,
    );
  }
  return Math.min(Number(raw), HISTORY_MAX_LIMIT);
}

export class SettingsStore {
  readonly #db: Db;
  readonly #all;
  readonly #get;
  readonly #like;
  readonly #history;
  readonly #historyOf;
  readonly #lastTo;
  #writes: Writes | undefined;

  constructor(db: Db) {
    this.#db = db;
    this.#all = db.prepare(
      'SELECT name, value, updated_at, description FROM settings ORDER BY name',
    );
    this.#get = db.prepare(
      'SELECT name, value, updated_at, description FROM settings WHERE name = ?',
    );
    // Prefix search without LIKE's wildcards: a source id may hold `%` or `_`.
    this.#like = db.prepare(
      `SELECT name, value, updated_at, description FROM settings
       WHERE substr(name, 1, length(@prefix)) = @prefix ORDER BY name`,
    );
    // By id, not changed_at: ids follow the order rows were written whichever service or clock
    // wrote them, so "newest first" holds even when a clock went back.
    const columns = 'id, name, old_value, new_value, changed_at, source, reason';
    this.#history = db.prepare(`SELECT ${columns} FROM settings_log ORDER BY id DESC LIMIT ?`);
    this.#historyOf = db.prepare(
      `SELECT ${columns} FROM settings_log WHERE name = ? ORDER BY id DESC LIMIT ?`,
    );
    this.#lastTo = db.prepare(
      `SELECT ${columns} FROM settings_log WHERE name = ? AND new_value = ?
       ORDER BY id DESC LIMIT 1`,
    );
  }

  all(): SettingRow[] {
    return this.#all.all() as SettingRow[];
  }

  get(name: string): SettingRow | undefined {
    return this.#get.get(name) as SettingRow | undefined;
  }

  /** Every setting whose name starts with `prefix`, by name. */
  withPrefix(prefix: string): SettingRow[] {
    return this.#like.all({ prefix }) as SettingRow[];
  }

  /** The log, newest first; only `name`'s rows when given. */
  history(options: { name?: string | undefined; limit: number }): SettingChange[] {
    return (
      options.name === undefined
        ? this.#history.all(options.limit)
        : this.#historyOf.all(options.name, options.limit)
    ) as SettingChange[];
  }

  /** The newest log row that set `name` to `value`. */
  lastChangeTo(name: string, value: string): SettingChange | undefined {
    return this.#lastTo.get(name, value) as SettingChange | undefined;
  }

  /**
   * Sets `name` to `value` and logs the change, in one IMMEDIATE transaction (the old value is
   * read under the write lock, so two processes cannot both log the same "old"). Nothing is
   * written when the value is already stored (unless `by.always`); returns whether it wrote.
   */
  set(name: string, value: string, by: ChangeBy): boolean {
    const w = this.#w();
    return this.#db
      .transaction(() => {
        const old = w.value.get(name) as string | undefined;
        if (old === value && !by.always) return false;
        const at = by.at ?? (w.now.get() as string);
        w.upsert.run(name, value, at, by.description ?? null);
        w.log.run(name, old ?? null, value, at, by.source, by.reason);
        return true;
      })
      .immediate();
  }

  /** A log row alone, for a change stored elsewhere (the `config` table) in the caller's transaction. */
  logChange(
    name: string,
    oldValue: string | null,
    newValue: string,
    source: string,
    reason: string | null,
  ): void {
    const w = this.#w();
    w.log.run(name, oldValue, newValue, w.now.get() as string, source, reason);
  }

  // Prepared on first write, so a read-only connection (`echonet state`) can read the tables.
  #w() {
    this.#writes ??= prepareWrites(this.#db);
    return this.#writes;
  }
}

type Writes = ReturnType<typeof prepareWrites>;

function prepareWrites(db: Db) {
  return {
    value: db.prepare('SELECT value FROM settings WHERE name = ?').pluck(),
    now: db.prepare("SELECT datetime('now')").pluck(),
    upsert: db.prepare(
      `INSERT INTO settings (name, value, updated_at, description) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
           description = COALESCE(excluded.description, description)`,
    ),
    log: db.prepare(
      `INSERT INTO settings_log (name, old_value, new_value, changed_at, source, reason)
         VALUES (?, ?, ?, ?, ?, ?)`,
    ),
  };
}

/** The settings tables of a file that may predate them (a v1 file has none): undefined then. */
export function settingsStoreIfPresent(db: Db): SettingsStore | undefined {
  return hasTable(db, 'settings') && hasTable(db, 'settings_log')
    ? new SettingsStore(db)
    : undefined;
}
