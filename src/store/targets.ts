/**
 * The target registry, in the v1 `targets` table the Python service also reads: names stored
 * lower-case, phrases as a JSON array. Statements are prepared once, when the registry is built.
 * Writes keep the normalised-phrase index (phrase-index.ts) in the same IMMEDIATE transaction and
 * refuse a phrase another target owns, whichever process or connection writes first. A target's
 * name counts as one of its phrases (it can wake the target, ECHONET_MATCH_NAMES).
 */
import { PhraseConflict, StorageError } from '../errors.js';
import type { Db } from './db.js';
import { parsePhrases, type PhraseIndex, type PhraseOwner } from './phrase-index.js';
import { hasTable } from './migrations.js';

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

export class TargetRegistry {
  readonly #db: Db;
  /** Undefined for a read-only registry (inspection, backups, files older than v5). */
  readonly #index: PhraseIndex | undefined;
  readonly #selectAll;
  readonly #selectOne;
  readonly #upsert;
  readonly #deleteOne;
  readonly #deleteAll;
  readonly #count;
  readonly #version: (() => number) | undefined;
  /** The registry version (echonet_registry_changes) this process's own writes left, or saw. */
  #seen = 0;
  /** A write of ours found a change by another connection first: not yet reported. */
  #foreignPending = false;
  readonly #listeners = new Set<() => void>();

  constructor(db: Db, index?: PhraseIndex) {
    this.#db = db;
    this.#index = index;
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
    if (hasTable(db, 'echonet_registry_changes')) {
      const read = db
        .prepare<[], number>('SELECT n FROM echonet_registry_changes WHERE id = 1')
        .pluck();
      this.#version = () => read.get() ?? 0;
      this.#seen = this.#version();
    }
  }

  /**
   * True once after another connection (the CLI, another server, the Python service) changed the
   * targets, since the last call or this registry's own last write; one indexed read. Other
   * commits to the file (the decision log's, settings, keys) do not count.
   */
  changedElsewhere(): boolean {
    if (!this.#version) return false;
    const now = this.#version();
    const changed = this.#foreignPending || now !== this.#seen;
    this.#seen = now;
    this.#foreignPending = false;
    return changed;
  }

  /** Inside a write transaction, before the write: notes a change another connection made first. */
  #beforeOwnWrite(): void {
    if (this.#version && this.#version() !== this.#seen) this.#foreignPending = true;
  }

  /** Inside the write transaction, after it: the version our write left is not news. */
  #afterOwnWrite(): void {
    if (this.#version) this.#seen = this.#version();
  }

  /**
   * Inserts or replaces `target`, or throws PhraseConflict (writing nothing) when another target
   * owns one of its phrases. Costs what `target`'s phrases cost, whatever the registry's size.
   */
  upsert(target: Target): void {
    const index = this.#writable();
    const name = target.name.toLowerCase();
    // Repaired first in a transaction of its own, so a refused write does not roll the repair
    // back; then again under this write's lock, for a writer that slipped in (usually one read).
    this.repairPhraseIndex();
    this.#db
      .transaction(() => {
        index.repair();
        assertFree(index, { ...target, name });
        this.#beforeOwnWrite();
        this.#write(index, { ...target, name });
        this.#afterOwnWrite();
        index.markFresh(name);
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

  delete(name: string): boolean {
    const index = this.#writable();
    const key = name.toLowerCase();
    this.repairPhraseIndex();
    const changes = this.#db
      .transaction(() => {
        index.repair();
        this.#beforeOwnWrite();
        const { changes } = this.#deleteOne.run(key);
        this.#afterOwnWrite();
        index.remove(key);
        index.markFresh(key);
        return changes;
      })
      .immediate();
    if (changes > 0) this.#changed();
    return changes > 0;
  }

  /**
   * Replaces the registry with `targets` (merge: keeps the others) in one transaction, or throws
   * PhraseConflict and changes nothing when two targets of the result would own one phrase. Costs
   * what the restored targets cost (replacing also deletes every old row, in SQL alone).
   */
  replaceAll(targets: readonly Target[], options: { merge: boolean }): void {
    const index = this.#writable();
    const incoming = targets.map((t) => ({ ...t, name: t.name.toLowerCase() }));
    if (options.merge) this.repairPhraseIndex();
    this.#db
      .transaction(() => {
        this.#beforeOwnWrite();
        if (options.merge) {
          index.repair();
          // Their old phrases are about to go: they must not block their own new ones.
          for (const t of incoming) index.remove(t.name);
        } else {
          this.#deleteAll.run();
          index.clear();
        }
        for (const t of incoming) {
          assertFree(index, t);
          this.#write(index, t);
        }
        if (options.merge) for (const t of incoming) index.markFresh(t.name);
        else index.clearStale();
        this.#afterOwnWrite();
      })
      .immediate();
    this.#changed();
  }

  /**
   * Brings the phrase index in line with rows other writers changed (the Python service, the
   * sqlite3 shell, which do not maintain it). Cheap when nothing changed: one read, no write.
   * A server should call it when `Store.watchExternalChanges` fires, so that work is not left to
   * the next registration. Returns how many targets were re-derived.
   */
  repairPhraseIndex(): number {
    const index = this.#writable();
    if (!index.needsRepair()) return 0;
    return this.#db.transaction(() => index.repair()).immediate();
  }

  count(): number {
    return this.#count.get() as number;
  }

  /**
   * Called after every write made through this registry. Writes by other connections are seen
   * through `Store.watchExternalChanges`.
   */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Writes one target's row and index rows; its name is already lower-case. */
  #write(index: PhraseIndex, t: Target): void {
    index.remove(t.name);
    // A row saved by an older build under another casing would otherwise survive beside it.
    this.#deleteOne.run(t.name);
    this.#upsert.run(t.name, t.baseUrl, JSON.stringify(t.phrases));
    index.add(t.name, t.phrases);
  }

  #writable(): PhraseIndex {
    if (!this.#index) throw new StorageError('this registry was opened read-only');
    return this.#index;
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}

/**
 * Throws PhraseConflict when another target owns one of `t`'s phrases or its name (names wake
 * their targets like phrases); `t.name` is lower-case.
 */
function assertFree(index: PhraseIndex, t: Target): void {
  const refuse = (phrase: string, owner: PhraseOwner, isName: boolean) =>
    new PhraseConflict(phrase, owner.target, t.name, owner.phrase, {
      name: isName,
      ownerName: owner.isName,
    });
  for (const phrase of t.phrases) {
    const owner = index.ownerOf(phrase, t.name);
    if (owner) throw refuse(phrase, owner, false);
  }
  const owner = index.ownerOf(t.name, t.name);
  if (owner) throw refuse(t.name, owner, true);
}

function toTarget(row: TargetRow): Target {
  return {
    name: row.name.toLowerCase(),
    baseUrl: row.base_url,
    phrases: parsePhrases(row.phrases),
  };
}
