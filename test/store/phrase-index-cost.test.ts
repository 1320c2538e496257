/**
 * What a registration costs, counted rather than timed: how many phrases it normalises and how
 * SQLite finds the rows it reads, at 100 and at 100 000 registered phrases. Equal counts mean the
 * cost follows the registered target's phrases, not the registry's size.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhraseConflict } from '../../src/errors.js';
import { normalizePhrase } from '../../src/matching/normalize.js';
import { LOOKUP_SQL } from '../../src/store/phrase-index.js';
import { phraseRules, type PhraseRules } from '../../src/store/phrase-rules.js';
import { openStore, type Store } from '../../src/store/store.js';
import type { Target } from '../../src/store/targets.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();
const PER_TARGET = 32;

/** `phrases` unique phrases, 32 a target, the shape of bench/lib/registry.ts. */
function registry(phrases: number): Target[] {
  const targets: Target[] = [];
  for (let t = 0; t * PER_TARGET < phrases; t++) {
    const n = Math.min(PER_TARGET, phrases - t * PER_TARGET);
    targets.push({
      name: `t-${t}`,
      baseUrl: 'http://t:1',
      phrases: Array.from({ length: n }, (_, j) => `hey n${t}x${j}`),
    });
  }
  return targets;
}

const newcomer: Target = {
  name: 'newcomer',
  baseUrl: 'http://n:1',
  phrases: Array.from({ length: PER_TARGET }, (_, j) => `hello newcomer ${j}x`),
};

interface Counted {
  readonly store: Store;
  readonly path: string;
  readonly rules: PhraseRules;
  /** How many phrases `fn` normalised. */
  count(fn: () => void): number;
}

function countedStore(size: number): Counted {
  let calls = 0;
  const rules = phraseRules((p) => {
    calls++;
    return normalizePhrase(p);
  });
  const path = tempDbPath(dir);
  const store = openStore(path, { phraseRules: rules });
  store.targets.replaceAll(registry(size), { merge: false });
  return {
    store,
    path,
    rules,
    count(fn) {
      calls = 0;
      fn();
      return calls;
    },
  };
}

/** What each registration step normalises in a registry of `c`'s size. */
function work(c: Counted): Record<string, number> {
  const { targets } = c.store;
  return {
    register: c.count(() => targets.upsert(newcomer)),
    reRegister: c.count(() => targets.upsert({ ...newcomer, phrases: newcomer.phrases.slice(1) })),
    conflict: c.count(() =>
      expect(() =>
        targets.upsert({ name: 'late', baseUrl: 'http://l:1', phrases: ['hey n0x31'] }),
      ).toThrow(PhraseConflict),
    ),
    mergeOne: c.count(() =>
      targets.replaceAll([{ ...newcomer, name: 'merged', phrases: ['hey merged'] }], {
        merge: true,
      }),
    ),
    delete: c.count(() => targets.delete('merged')),
    reopen: c.count(() => openStore(c.path, { phraseRules: c.rules }).close()),
  };
}

describe('registration cost', () => {
  let small: Counted;
  let large: Counted;
  beforeAll(() => {
    small = countedStore(100);
    large = countedStore(100_000);
  }, 120_000);
  afterAll(() => {
    small.store.close();
    large.store.close();
  });

  it('normalises the same phrases at 100 000 registered phrases as at 100', () => {
    expect(large.store.targets.count()).toBe(100_000 / PER_TARGET);
    const atSmall = work(small);
    const atLarge = work(large);
    expect(atLarge).toEqual(atSmall);
    // Each own phrase, and the target's name, is normalised to look it up and to index it; a
    // conflict reads the owner's phrases up to the one that clashes. A reopen with nothing changed
    // normalises nothing.
    expect(atSmall).toEqual({
      register: 2 * (PER_TARGET + 1),
      reRegister: 2 * PER_TARGET,
      conflict: 1 + PER_TARGET,
      mergeOne: 2 * 2,
      delete: 0,
      reopen: 0,
    });
  });

  it('finds every row a registration reads through an index, never by scanning a table', () => {
    const db = new Database(large.path, { readonly: true });
    // Every statement the registration path runs on the index, and the registry's own by name.
    const lookups = [
      ...Object.values(LOOKUP_SQL),
      'DELETE FROM targets WHERE name = ? COLLATE NOCASE',
      `INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET base_url = excluded.base_url, phrases = excluded.phrases`,
    ];
    // Parameters as literals, so each plan is the one a bound value gets.
    const planOf = (sql: string) =>
      db.prepare(`EXPLAIN QUERY PLAN ${sql.replace(/\?|:[a-z]+/gi, "'x'")}`).all();
    for (const sql of lookups) {
      const plan = (planOf(sql) as { detail: string }[]).map((r) => r.detail).join('; ');
      expect(plan, sql).not.toMatch(/\bSCAN (TABLE )?(echonet_phrases|targets)\b/);
    }
    const ownerPlan = planOf(LOOKUP_SQL.owners);
    expect(JSON.stringify(ownerPlan)).toMatch(/SEARCH (TABLE )?echonet_phrases/);
    db.close();
  });
});
