/**
 * The normalised-phrase index (schema v5, `echonet_phrases`): one row per (target, normalised
 * phrase), derived from `targets` and kept in the same write transaction, so a conflict check is
 * a few indexed lookups for the phrases being written instead of a pass over the whole registry.
 *
 * `targets` stays the truth. Foreign writers (the Python service, the sqlite3 shell) change it
 * without normalising anything, so the v5 triggers note every target they touch in
 * `echonet_phrases_stale`, and `repair()` re-derives exactly those targets. Every Echonet write
 * repairs first, under the same write lock, and a reported owner is checked against its real
 * `targets` row before anyone is refused (a stale row is re-derived, never reported).
 *
 * What is left (README, "Upgrading from the Python service"): a foreign writer may store a clash
 * Echonet would refuse (the Python service checks none); such rows are kept `shadowed` and still
 * refuse anyone else. A tool that drops the triggers or edits `echonet_phrases` itself, or a
 * normalisation change the rules fingerprint does not notice, leaves rows stale until those
 * targets are written or repaired again; a stale owner is still never reported, but a missing row
 * lets one registration through that the full check would have refused.
 *
 * A target's name is indexed like one more of its phrases (keyed as the phrase "echo_bell" would
 * be: "echo bell"), because the router lets a name at the start of an utterance wake its target
 * (ECHONET_MATCH_NAMES): a name and another target's phrase that share a key are the same 409 as
 * two phrases. Always, whatever ECHONET_MATCH_NAMES says: that setting is live and per front end,
 * and the registry cannot refuse after the fact what it let in while names were off. Which rows are
 * names is not stored; it is read back from the `targets` row, like every reported owner.
 *
 * Every method here must run inside a write transaction; `TargetRegistry` opens them.
 */
import type { Db } from './db.js';
import { PHRASE_TRIGGERS, PHRASE_TRIGGERS_SQL } from './migrations.js';
import type { PhraseRules } from './phrase-rules.js';

/** Another target that owns a phrase, and that phrase as it registered it (or its name). */
export interface PhraseOwner {
  readonly target: string;
  readonly phrase: string;
  /** True when what collides is the owner's name, not one of its phrases. */
  readonly isName: boolean;
}

/**
 * The statements a registration runs, each one an indexed lookup (test/store/phrase-index-cost
 * checks their query plans): a write reads and changes only the rows of the phrases it names.
 */
export const LOOKUP_SQL = {
  anyStale: 'SELECT 1 FROM echonet_phrases_stale LIMIT 1',
  staleTargets: 'SELECT target FROM echonet_phrases_stale ORDER BY target',
  markFresh: 'DELETE FROM echonet_phrases_stale WHERE target = ?',
  // The owner first, then any target a foreign writer let share the phrase.
  owners: `SELECT target, 0 AS shadowed FROM echonet_phrases
      WHERE norm = :norm AND shadowed = 0 AND target <> :requester
    UNION ALL SELECT target, 1 FROM echonet_phrases
      WHERE norm = :norm AND shadowed = 1 AND target <> :requester
    ORDER BY shadowed, target`,
  heldBy: 'SELECT norm FROM echonet_phrases WHERE target = ? AND shadowed = 0',
  deleteTarget: 'DELETE FROM echonet_phrases WHERE target = ?',
  // When the owner of a phrase goes, a target that a foreign writer let share it takes over.
  promote: `UPDATE echonet_phrases SET shadowed = 0 WHERE norm = :norm AND target = (
      SELECT target FROM echonet_phrases WHERE norm = :norm AND shadowed = 1
      ORDER BY target LIMIT 1)`,
  insert: 'INSERT INTO echonet_phrases (target, norm, shadowed) VALUES (?, ?, 0)',
  insertShadowed: `INSERT OR IGNORE INTO echonet_phrases (target, norm, shadowed)
      VALUES (:target, :norm,
        EXISTS (SELECT 1 FROM echonet_phrases WHERE norm = :norm AND shadowed = 0))`,
  targetRows: 'SELECT phrases FROM targets WHERE name = ? COLLATE NOCASE',
} as const;

export class PhraseIndex {
  readonly #db: Db;
  readonly #rules: PhraseRules;
  readonly #triggerCount;
  readonly #recordedRules;
  readonly #recordRules;
  readonly #anyStale;
  readonly #staleTargets;
  readonly #markAllStale;
  readonly #markFresh;
  readonly #clearStale;
  readonly #clearRows;
  readonly #owners;
  readonly #heldBy;
  readonly #deleteTarget;
  readonly #promote;
  readonly #insert;
  readonly #insertShadowed;
  readonly #targetRows;

  constructor(db: Db, rules: PhraseRules) {
    this.#db = db;
    this.#rules = rules;
    this.#triggerCount = db
      .prepare<string[], number>(
        `SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (${PHRASE_TRIGGERS.map(() => '?').join(', ')})`,
      )
      .pluck()
      .bind(...PHRASE_TRIGGERS);
    this.#recordedRules = db
      .prepare<[], string>('SELECT fingerprint FROM echonet_phrases_rules WHERE id = 1')
      .pluck();
    this.#recordRules = db.prepare<[string]>(
      `INSERT INTO echonet_phrases_rules (id, fingerprint) VALUES (1, ?)
       ON CONFLICT(id) DO UPDATE SET fingerprint = excluded.fingerprint`,
    );
    this.#anyStale = db.prepare<[], number>(LOOKUP_SQL.anyStale).pluck();
    this.#staleTargets = db.prepare<[], string>(LOOKUP_SQL.staleTargets).pluck();
    this.#markAllStale = db.prepare(
      'INSERT OR IGNORE INTO echonet_phrases_stale (target) SELECT lower(name) FROM targets',
    );
    this.#markFresh = db.prepare<[string]>(LOOKUP_SQL.markFresh);
    this.#clearStale = db.prepare('DELETE FROM echonet_phrases_stale');
    this.#clearRows = db.prepare('DELETE FROM echonet_phrases');
    this.#owners = db
      .prepare<{ norm: string; requester: string }, string>(LOOKUP_SQL.owners)
      .pluck();
    this.#heldBy = db.prepare<[string], string>(LOOKUP_SQL.heldBy).pluck();
    this.#deleteTarget = db.prepare<[string]>(LOOKUP_SQL.deleteTarget);
    this.#promote = db.prepare<{ norm: string }>(LOOKUP_SQL.promote);
    this.#insert = db.prepare<[string, string]>(LOOKUP_SQL.insert);
    this.#insertShadowed = db.prepare<{ norm: string; target: string }>(LOOKUP_SQL.insertShadowed);
    this.#targetRows = db.prepare<[string], string>(LOOKUP_SQL.targetRows).pluck();
  }

  /** True when `repair()` has work to do; reads only, so it can run outside a transaction. */
  needsRepair(): boolean {
    return this.#mustRebuild() || this.#anyStale.get() !== undefined;
  }

  /**
   * Re-derives every target a write marked stale; rebuilds everything when the rows were made
   * under other rules (a new file, or an upgrade that changed normalisation). Returns how many
   * targets were re-derived.
   */
  repair(): number {
    if (this.#mustRebuild()) {
      // A tool dropped a trigger: changes since then went unnoticed, so nothing can be trusted.
      this.#db.exec(PHRASE_TRIGGERS_SQL);
      this.#clearRows.run();
      this.#markAllStale.run();
      this.#recordRules.run(this.#rules.fingerprint);
    }
    const stale = this.#staleTargets.all();
    for (const target of stale) this.#rederive(target);
    return stale.length;
  }

  /**
   * The target other than `requester` that really owns a phrase normalising like `phrase`, or
   * undefined. Each owner the index names is checked against its `targets` row; one that no
   * longer holds the phrase is re-derived and the lookup repeats.
   */
  ownerOf(phrase: string, requester: string): PhraseOwner | undefined {
    const norm = this.#rules.key(phrase);
    if (norm === '') return undefined;
    for (;;) {
      const candidates = this.#owners.all({ norm, requester });
      if (candidates.length === 0) return undefined;
      for (const target of candidates) {
        const real = this.#ownedBy(target, norm);
        if (real !== undefined) return real;
        // Ends: a re-derived target matches its real row, so it is never a candidate again.
        this.#rederive(target);
      }
    }
  }

  /** Drops `target`'s rows, handing each phrase it owned to a shadowed co-owner if there is one. */
  remove(target: string): void {
    const held = this.#heldBy.all(target);
    this.#deleteTarget.run(target);
    for (const norm of held) this.#promote.run({ norm });
  }

  /**
   * Adds rows for the phrases (and the name) of a target Echonet itself just wrote after `ownerOf`
   * found no conflict; the unique index turns a check this code forgot into a failed write, never
   * into a silent clash.
   */
  add(target: string, phrases: readonly string[]): void {
    const seen = new Set<string>();
    for (const phrase of [...phrases, target]) {
      const norm = this.#rules.key(phrase);
      if (norm === '' || seen.has(norm)) continue;
      seen.add(norm);
      this.#insert.run(target, norm);
    }
  }

  /** Clears the note the triggers left for a write this process has already indexed. */
  markFresh(target: string): void {
    this.#markFresh.run(target);
  }

  /** Empties the index (a restore that replaces the whole registry). */
  clear(): void {
    this.#clearRows.run();
    this.#clearStale.run();
  }

  /** Forgets every stale note; only after the index was rebuilt for the whole registry. */
  clearStale(): void {
    this.#clearStale.run();
  }

  #mustRebuild(): boolean {
    return (
      this.#recordedRules.get() !== this.#rules.fingerprint ||
      this.#triggerCount.get() !== PHRASE_TRIGGERS.length
    );
  }

  /** Rebuilds `target`'s rows from its `targets` row(s), as written by anyone. */
  #rederive(target: string): void {
    this.remove(target);
    const seen = new Set<string>();
    const rows = this.#targetRows.all(target);
    // The name after the phrases: where both share a key, one row stands for both.
    const phrases = rows.flatMap(parsePhrases);
    if (rows.length > 0) phrases.push(target);
    for (const phrase of phrases) {
      const norm = this.#rules.key(phrase);
      if (norm === '' || seen.has(norm)) continue;
      seen.add(norm);
      this.#insertShadowed.run({ norm, target });
    }
    this.#markFresh.run(target);
  }

  /** What of `target`'s real row normalises to `norm` (a phrase, else its name), if anything. */
  #ownedBy(target: string, norm: string): PhraseOwner | undefined {
    const rows = this.#targetRows.all(target);
    for (const json of rows) {
      for (const phrase of parsePhrases(json)) {
        if (this.#rules.key(phrase) === norm) return { target, phrase, isName: false };
      }
    }
    if (rows.length > 0 && this.#rules.key(target) === norm) {
      return { target, phrase: target, isName: true };
    }
    return undefined;
  }
}

/** Rows written by other tools may hold anything; a bad value reads as no phrases, not a crash. */
export function parsePhrases(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}
