/**
 * The target registry, in the v1 `targets` table the Python service also reads: names stored
 * lower-case, phrases as a JSON array. Statements are prepared once, when the registry is built.
 */
import type { Db } from './db.js';

export interface Target {
  readonly name: string;
  readonly baseUrl: string;
  readonly phrases: readonly string[];
}

interface TargetRow {
  name: string;
  base_url: string;
  phrases: string;
}

/** Runs inside the write transaction with every other target, and throws to refuse the write. */
export type UpsertGuard = (others: readonly Target[]) => void;

export class TargetRegistry {
  readonly #db: Db;
  readonly #selectAll;
  readonly #selectOne;
  readonly #upsert;
  readonly #deleteOne;
  readonly #deleteAll;
  readonly #count;
  readonly #listeners = new Set<() => void>();

  constructor(db: Db) {
    this.#db = db;
    this.#selectAll = db.prepare<[], TargetRow>(
      'SELECT name, base_url, phrases FROM targets ORDER BY lower(name)',
    );
    this.#selectOne = db.prepare<[string], TargetRow>(
      'SELECT name, base_url, phrases FROM targets WHERE name = ? COLLATE NOCASE',
    );
    this.#upsert = db.prepare<[string, string, string]>(
      `INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET base_url = excluded.base_url, phrases = excluded.phrases`,
    );
    this.#deleteOne = db.prepare<[string]>('DELETE FROM targets WHERE name = ? COLLATE NOCASE');
    this.#deleteAll = db.prepare('DELETE FROM targets');
    this.#count = db.prepare<[], number>('SELECT COUNT(*) FROM targets').pluck();
  }

  /** Inserts or replaces `target`; `guard` sees the other targets under the write lock. */
  upsert(target: Target, guard?: UpsertGuard): void {
    const name = target.name.toLowerCase();
    this.#db
      .transaction(() => {
        if (guard) guard(this.all().filter((t) => t.name !== name));
        // A row saved by an older build under another casing would otherwise survive beside it.
        this.#deleteOne.run(name);
        this.#upsert.run(name, target.baseUrl, JSON.stringify(target.phrases));
      })
      .immediate();
    this.#changed();
  }

  get(name: string): Target | undefined {
    const row = this.#selectOne.get(name);
    return row && toTarget(row);
  }

  /** Every target, sorted by name. */
  all(): Target[] {
    return this.#selectAll.all().map(toTarget);
  }

  /**
   * Every target, read whole to build the routing table, after which SQLite gives its page cache
   * back (`PRAGMA shrink_memory`): the table then holds all routing needs, and at 100 000 phrases
   * the cached pages would stay resident for nothing (about 1.5 MiB, bench/NOTES.md).
   */
  snapshot(): Target[] {
    const targets = this.all();
    this.#db.pragma('shrink_memory');
    return targets;
  }

  /** Each phrase (as registered) mapped to the name of the target that owns it. */
  phraseMap(): Map<string, string> {
    const map = new Map<string, string>();
    for (const t of this.all()) for (const p of t.phrases) map.set(p, t.name);
    return map;
  }

  delete(name: string): boolean {
    const { changes } = this.#deleteOne.run(name);
    if (changes > 0) this.#changed();
    return changes > 0;
  }

  /**
   * Replaces the registry with `targets` (merge: keeps the others) in one transaction;
   * `guard` sees the final set and throws to refuse the whole restore.
   */
  replaceAll(
    targets: readonly Target[],
    options: { merge: boolean; guard?: (final: readonly Target[]) => void },
  ): void {
    this.#db
      .transaction(() => {
        if (!options.merge) this.#deleteAll.run();
        for (const t of targets) {
          const name = t.name.toLowerCase();
          this.#deleteOne.run(name);
          this.#upsert.run(name, t.baseUrl, JSON.stringify(t.phrases));
        }
        options.guard?.(this.all());
      })
      .immediate();
    this.#changed();
  }

  count(): number {
    return this.#count.get() as number;
  }

  /** Called after every write made through this registry (other processes: see RegistryWatcher). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}

function toTarget(row: TargetRow): Target {
  return {
    name: row.name.toLowerCase(),
    baseUrl: row.base_url,
    phrases: parsePhrases(row.phrases),
  };
}

/** Rows written by other tools may hold anything; a bad value reads as no phrases, not a crash. */
function parsePhrases(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}
