/**
 * The normalised-phrase index (schema v5): conflicts refused whichever connection or process
 * writes first, rows other writers changed repaired rather than trusted, and a registration's
 * cost independent of the registry's size.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { PhraseConflict } from '../../src/errors.js';
import { normalizePhrase } from '../../src/matching/normalize.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { phraseRules } from '../../src/store/phrase-rules.js';
import { openStore } from '../../src/store/store.js';
import { makePythonDb } from '../helpers/python-db.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();
const astraea = {
  name: 'astraea',
  baseUrl: 'http://a:1',
  phrases: ['hey astraea', 'hello astraea'],
};

/** The Python service's own upsert statement (app/registry.py), on a connection of its own. */
function pythonUpsert(path: string, name: string, phrases: string[]): void {
  const db = new Database(path);
  db.prepare(
    `INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET base_url = excluded.base_url, phrases = excluded.phrases`,
  ).run(name.toLowerCase(), 'http://python:1', JSON.stringify(phrases));
  db.close();
}

function rawExec(path: string, sql: string): void {
  const db = new Database(path);
  db.exec(sql);
  db.close();
}

/** The index rows as stored, for checking it against `targets`. */
function indexRows(path: string): { norm: string; target: string; shadowed: number }[] {
  const db = new Database(path, { readonly: true });
  const rows = db
    .prepare('SELECT norm, target, shadowed FROM echonet_phrases ORDER BY norm, target')
    .all() as { norm: string; target: string; shadowed: number }[];
  db.close();
  return rows;
}

/** The `targets` table's CREATE statement as stored in the file. */
function targetsDdl(path: string): string {
  const db = new Database(path, { readonly: true });
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'targets'").pluck().get();
  db.close();
  return sql as string;
}

function conflictOf(fn: () => void): PhraseConflict {
  try {
    fn();
  } catch (err) {
    if (err instanceof PhraseConflict) return err;
    throw err;
  }
  throw new Error('expected a PhraseConflict');
}

describe('phrase index', () => {
  it('is filled from existing targets when a v4 file is upgraded to v5', () => {
    const path = tempDbPath(dir);
    makePythonDb(path, 3, [
      { name: 'astraea', base_url: 'http://a:1', phrases: ['Hey Astraea', 'hello astraea'] },
      { name: 'echobell', base_url: 'http://e:1', phrases: ['hey echo'] },
    ]);
    // The v4 step as an earlier Echonet applied it.
    const v4 = MIGRATIONS.find((m) => m.version === 4)!;
    rawExec(
      path,
      `${v4.sql}; INSERT INTO schema_version (version, applied_at) VALUES (4, datetime('now'));`,
    );

    const ddlBefore = targetsDdl(path);
    const store = openStore(path);
    expect(store.migrated).toEqual(MIGRATIONS.map((m) => m.version).filter((v) => v >= 5));
    // Each target's name is indexed with its phrases (names wake their targets).
    expect(indexRows(path)).toEqual([
      { norm: 'astraea', target: 'astraea', shadowed: 0 },
      { norm: 'echobell', target: 'echobell', shadowed: 0 },
      { norm: 'hello astraea', target: 'astraea', shadowed: 0 },
      { norm: 'hey astraea', target: 'astraea', shadowed: 0 },
      { norm: 'hey echo', target: 'echobell', shadowed: 0 },
    ]);
    const refused = conflictOf(() =>
      store.targets.upsert({ name: 'nova', baseUrl: 'http://n:1', phrases: ['HEY ASTRAEA!'] }),
    );
    expect(refused.message).toBe(
      "Phrase 'HEY ASTRAEA!' of target 'nova' collides with 'Hey Astraea' of target 'astraea'",
    );
    // The targets table keeps the exact shape the Python service reads and writes.
    expect(targetsDdl(path)).toBe(ddlBefore);
    store.close();
  });

  it('sees a Python-style in-place update before the next registration', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    store.targets.upsert(astraea);
    // The Python service moves astraea from its old phrases to "hey nova", in place.
    pythonUpsert(path, 'astraea', ['hey nova']);

    const refused = conflictOf(() =>
      store.targets.upsert({ name: 'nova', baseUrl: 'http://n:1', phrases: ['hey nova'] }),
    );
    expect(refused.owner).toBe('astraea');
    expect(refused.ownerPhrase).toBe('hey nova');
    // Its old phrases are free again.
    store.targets.upsert({ name: 'nova', baseUrl: 'http://n:1', phrases: ['hey astraea'] });
    expect(store.targets.get('nova')?.phrases).toEqual(['hey astraea']);
    expect(indexRows(path).map((r) => `${r.norm}:${r.target}`)).toEqual([
      'astraea:astraea',
      'hey astraea:nova',
      'hey nova:astraea',
      'nova:nova',
    ]);
    store.close();
  });

  it('refuses a phrase a target inserted by another tool holds, and frees it when that tool deletes it', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    pythonUpsert(path, 'Vega', ['hey vega']);
    expect(() =>
      store.targets.upsert({ name: 'nova', baseUrl: 'http://n:1', phrases: ['hey vega'] }),
    ).toThrow("Phrase 'hey vega' of target 'nova' is already registered by target 'vega'");
    rawExec(path, "DELETE FROM targets WHERE name = 'vega'");
    store.targets.upsert({ name: 'nova', baseUrl: 'http://n:1', phrases: ['hey vega'] });
    store.close();
  });

  it('repairs rows changed while no Echonet process was open, when the file opens', () => {
    const path = tempDbPath(dir);
    openStore(path).close();
    pythonUpsert(path, 'astraea', ['hey astraea']);
    pythonUpsert(path, 'vega', ['hey vega']);
    rawExec(path, "DELETE FROM targets WHERE name = 'vega'");
    const store = openStore(path);
    expect(indexRows(path)).toEqual([
      { norm: 'astraea', target: 'astraea', shadowed: 0 },
      { norm: 'hey astraea', target: 'astraea', shadowed: 0 },
    ]);
    expect(store.targets.repairPhraseIndex()).toBe(0);
    store.close();
  });

  it('offers the repair the server runs when another connection commits', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    pythonUpsert(path, 'astraea', ['hey astraea']);
    pythonUpsert(path, 'vega', ['hey vega']);
    expect(store.targets.repairPhraseIndex()).toBe(2);
    expect(store.targets.repairPhraseIndex()).toBe(0);
    expect(indexRows(path).map((r) => r.target)).toEqual(['astraea', 'astraea', 'vega', 'vega']);
    store.close();
  });

  it('never reports a stale owner: it is re-derived from its targets row instead', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    store.targets.upsert(astraea);
    // An index row no targets row backs (a tool wrote the derived table itself).
    rawExec(path, "INSERT INTO echonet_phrases (target, norm) VALUES ('astraea', 'hey zed')");
    store.targets.upsert({ name: 'zed', baseUrl: 'http://z:1', phrases: ['hey zed'] });
    expect(indexRows(path).map((r) => `${r.norm}:${r.target}`)).toEqual([
      'astraea:astraea',
      'hello astraea:astraea',
      'hey astraea:astraea',
      'hey zed:zed',
      'zed:zed',
    ]);
    store.close();
  });

  it('keeps a clash another tool stored, and lets neither side lose its phrase to a third', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    pythonUpsert(path, 'one', ['hey twin']);
    pythonUpsert(path, 'two', ['Hey, Twin']);
    store.targets.repairPhraseIndex();
    // The names are indexed too, in spoken form ("one" is said like "1").
    expect(indexRows(path)).toEqual([
      { norm: '1', target: 'one', shadowed: 0 },
      { norm: '2', target: 'two', shadowed: 0 },
      { norm: 'hey twin', target: 'one', shadowed: 0 },
      { norm: 'hey twin', target: 'two', shadowed: 1 },
    ]);
    const third = { name: 'three', baseUrl: 'http://t:1', phrases: ['hey twin'] };
    expect(conflictOf(() => store.targets.upsert(third)).owner).toBe('one');
    // The owner goes through Echonet: the other keeps the phrase.
    store.targets.delete('one');
    expect(indexRows(path)).toEqual([
      { norm: '2', target: 'two', shadowed: 0 },
      { norm: 'hey twin', target: 'two', shadowed: 0 },
    ]);
    expect(conflictOf(() => store.targets.upsert(third)).owner).toBe('two');
    store.targets.delete('two');
    store.targets.upsert(third);
    store.close();
  });

  it('rebuilds when a trigger was dropped, so changes made meanwhile are not missed', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    store.targets.upsert(astraea);
    rawExec(path, 'DROP TRIGGER echonet_phrases_on_update');
    pythonUpsert(path, 'astraea', ['hey nova']);
    expect(
      conflictOf(() =>
        store.targets.upsert({ name: 'nova', baseUrl: 'http://n:1', phrases: ['hey nova'] }),
      ).owner,
    ).toBe('astraea');
    const db = new Database(path, { readonly: true });
    expect(
      db
        .prepare(
          "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'echonet_phrases_on_%'",
        )
        .pluck()
        .get(),
    ).toBe(3);
    db.close();
    store.close();
  });

  it('rebuilds when the phrase rules changed since the rows were written', () => {
    const path = tempDbPath(dir);
    const first = openStore(path);
    first.targets.upsert(astraea);
    first.close();
    // Rules under which "hey astraea" and "astraea" are the same phrase.
    const looser = phraseRules((p) => normalizePhrase(p).replace(/^hey /, ''));
    const store = openStore(path, { phraseRules: looser });
    expect(
      conflictOf(() =>
        store.targets.upsert({ name: 'nova', baseUrl: 'http://n:1', phrases: ['astraea'] }),
      ).ownerPhrase,
    ).toBe('hey astraea');
    store.close();
  });

  it('restores: a merge may move phrases between restored targets, a clash changes nothing', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    store.targets.upsert(astraea);
    store.targets.upsert({ name: 'vega', baseUrl: 'http://v:1', phrases: ['hey vega'] });
    // astraea hands "hey astraea" to nova in the same restore.
    store.targets.replaceAll(
      [
        { name: 'nova', baseUrl: 'http://n:1', phrases: ['hey astraea'] },
        { ...astraea, phrases: ['hello astraea'] },
      ],
      { merge: true },
    );
    expect(store.targets.all().map((t) => [t.name, ...t.phrases])).toEqual([
      ['astraea', 'hello astraea'],
      ['nova', 'hey astraea'],
      ['vega', 'hey vega'],
    ]);
    const before = store.targets.all();
    const refused = conflictOf(() =>
      store.targets.replaceAll([{ name: 'orion', baseUrl: 'http://o:1', phrases: ['Hey Vega'] }], {
        merge: true,
      }),
    );
    expect(refused.message).toBe(
      "Phrase 'Hey Vega' of target 'orion' collides with 'hey vega' of target 'vega'",
    );
    expect(
      conflictOf(() =>
        store.targets.replaceAll(
          [
            { name: 'a', baseUrl: 'http://a:1', phrases: ['hey same'] },
            { name: 'b', baseUrl: 'http://b:1', phrases: ['hey same'] },
          ],
          { merge: false },
        ),
      ).owner,
    ).toBe('a');
    expect(store.targets.all()).toEqual(before);
    // Replacing frees every old phrase.
    store.targets.replaceAll([{ name: 'orion', baseUrl: 'http://o:1', phrases: ['hey vega'] }], {
      merge: false,
    });
    expect(indexRows(path)).toEqual([
      { norm: 'hey vega', target: 'orion', shadowed: 0 },
      { norm: 'orion', target: 'orion', shadowed: 0 },
    ]);
    store.close();
  });

  it('lets only one of two processes register a phrase when both try at once', async () => {
    const path = tempDbPath(dir);
    openStore(path).close();
    const rounds = 30;
    const [left, right] = await race(
      path,
      [
        "{ name: 'left-' + i, baseUrl: 'http://x:1', phrases: ['hey shared ' + i] }",
        "{ name: 'right-' + i, baseUrl: 'http://x:1', phrases: ['hey shared ' + i] }",
      ],
      rounds,
    );
    for (let i = 0; i < rounds; i++) {
      // Exactly one of the two got each phrase; the other was told it is taken.
      expect([left![i], right![i]].sort(), `round ${i}`).toEqual(['PHRASE_CONFLICT', 'ok']);
    }
    const store = openStore(path);
    expect(store.targets.count()).toBe(rounds);
    // The winner's phrase and its name.
    expect(indexRows(path)).toHaveLength(rounds * 2);
    store.close();
  });

  it('lets only one of two processes have a key when one registers it as a name, the other as a phrase', async () => {
    const path = tempDbPath(dir);
    const seed = openStore(path);
    seed.targets.upsert({ name: 'vega', baseUrl: 'http://v:1', phrases: ['hey vega'] });
    seed.close();
    // Indexed by a build before names: both processes find the index to rebuild as they open.
    rawExec(
      path,
      `DELETE FROM echonet_phrases WHERE norm = 'vega';
       UPDATE echonet_phrases_rules SET fingerprint = 'before-names'`,
    );
    const rounds = 30;
    const [named, phrased] = await race(
      path,
      [
        "{ name: 'shared-' + i, baseUrl: 'http://x:1', phrases: ['hey left ' + i] }",
        "{ name: 'right-' + i, baseUrl: 'http://x:1', phrases: ['Shared ' + i] }",
      ],
      rounds,
    );
    for (let i = 0; i < rounds; i++) {
      expect([named![i], phrased![i]].sort(), `round ${i}`).toEqual(['PHRASE_CONFLICT', 'ok']);
    }
    const store = openStore(path);
    const owners = new Map<string, string[]>();
    for (const r of indexRows(path)) owners.set(r.norm, [...(owners.get(r.norm) ?? []), r.target]);
    for (let i = 0; i < rounds; i++) expect(owners.get(`shared ${i}`)).toHaveLength(1);
    expect(owners.get('vega')).toEqual(['vega']);
    expect(store.targets.count()).toBe(rounds + 1);
    store.close();
  });
});

/**
 * One child process per target, each registering the target its expression makes of i in round i. Every
 * round starts in all of them at once (a barrier: each says it is ready, then all are told to
 * go), so their write transactions really contend. Resolves with "ok" or the error code per
 * round and process. Uses the built store (npm test builds first).
 */
async function race(path: string, targets: string[], rounds: number): Promise<string[][]> {
  const storeModule = new URL('../../dist/store/store.js', import.meta.url).href;
  const children = targets.map((target) => {
    const script = `
      import { createInterface } from 'node:readline';
      const { openStore } = await import(${JSON.stringify(storeModule)});
      const store = openStore(${JSON.stringify(path)});
      const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
      const out = [];
      for (let i = 0; i < ${rounds}; i++) {
        console.log('ready');
        await lines.next();
        try {
          store.targets.upsert(${target});
          out.push('ok');
        } catch (err) {
          out.push(err.code ?? String(err));
        }
      }
      store.close();
      console.log(JSON.stringify(out));
      process.exit(0);`;
    return spawn(process.execPath, ['--input-type=module', '-e', script]);
  });
  let ready = 0;
  return Promise.all(
    children.map(
      (child) =>
        new Promise<string[]>((resolve, reject) => {
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          createInterface({ input: child.stdout }).on('line', (line) => {
            if (line !== 'ready') return resolve(JSON.parse(line) as string[]);
            if (++ready < children.length) return;
            ready = 0;
            for (const c of children) c.stdin.write('go\n');
          });
          child.on('close', (code) => {
            if (code !== 0) reject(new Error(`racer exited ${code}: ${stderr}`));
          });
        }),
    ),
  );
}

describe('names in the phrase index', () => {
  const nova = (phrases: string[]) => ({ name: 'nova', baseUrl: 'http://n:1', phrases });

  it('refuses a phrase that is another target’s name, and a name that is another’s phrase', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    store.targets.upsert(astraea);
    const phraseOnName = conflictOf(() => store.targets.upsert(nova(['Astraea!'])));
    expect(phraseOnName).toMatchObject({
      owner: 'astraea',
      ownerPhrase: 'astraea',
      isName: false,
      ownerIsName: true,
    });
    expect(phraseOnName.message).toBe(
      "Phrase 'Astraea!' of target 'nova' collides with the name of target 'astraea' (a target's name wakes it like a wake phrase)",
    );
    store.targets.upsert({ name: 'vega', baseUrl: 'http://v:1', phrases: ['hey nova'] });
    const nameOnPhrase = conflictOf(() =>
      store.targets.upsert({ name: 'hey-nova', baseUrl: 'http://n:1', phrases: ['hi nova'] }),
    );
    expect(nameOnPhrase.message).toBe(
      "The name of target 'hey-nova' collides with phrase 'hey nova' of target 'vega' (a target's name wakes it like a wake phrase)",
    );
    // Two names said alike ("echo_bell" and "echo-bell" are both "echo bell").
    store.targets.upsert({ name: 'echo_bell', baseUrl: 'http://e:1', phrases: ['ring ring'] });
    expect(
      conflictOf(() =>
        store.targets.upsert({ name: 'echo-bell', baseUrl: 'http://e:1', phrases: ['dong'] }),
      ).message,
    ).toBe(
      "The name of target 'echo-bell' collides with the name of target 'echo_bell' (a target's name wakes it like a wake phrase)",
    );
    // Nothing refused was written.
    expect(store.targets.all().map((t) => t.name)).toEqual(['astraea', 'echo_bell', 'vega']);
    store.close();
  });

  it('lets a target use its own name as a phrase, and frees a name when its target goes', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    store.targets.upsert({ ...astraea, phrases: ['Astraea', 'hey astraea'] });
    expect(indexRows(path).filter((r) => r.norm === 'astraea')).toEqual([
      { norm: 'astraea', target: 'astraea', shadowed: 0 },
    ]);
    store.targets.delete('astraea');
    store.targets.upsert(nova(['astraea']));
    store.close();
  });

  it('applies to restores: a restored name may not be another restored target’s phrase', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    expect(
      conflictOf(() =>
        store.targets.replaceAll([astraea, nova(['hey nova', 'astraea'])], { merge: false }),
      ).message,
    ).toBe(
      "Phrase 'astraea' of target 'nova' collides with the name of target 'astraea' (a target's name wakes it like a wake phrase)",
    );
    expect(store.targets.count()).toBe(0);
    store.close();
  });

  it('indexes the names of a file indexed before names were, when it opens', () => {
    const path = tempDbPath(dir);
    const first = openStore(path);
    first.targets.upsert(astraea);
    first.close();
    // The file as an earlier build left it: no name rows, its own rules fingerprint.
    rawExec(
      path,
      `DELETE FROM echonet_phrases WHERE norm = 'astraea';
       UPDATE echonet_phrases_rules SET fingerprint = 'before-names'`,
    );
    const store = openStore(path);
    expect(indexRows(path).map((r) => r.norm)).toEqual(['astraea', 'hello astraea', 'hey astraea']);
    expect(conflictOf(() => store.targets.upsert(nova(['astraea']))).ownerIsName).toBe(true);
    store.close();
  });

  it('keeps a name/phrase clash another tool stored, and refuses the shared key to a third', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    // The Python service checks nothing: "Vega" is a name here and a phrase of orion there.
    pythonUpsert(path, 'Vega', ['hey vega']);
    pythonUpsert(path, 'orion', ['vega']);
    store.targets.repairPhraseIndex();
    // Re-derived in name order, the first keeps the key; the other is kept, shadowed.
    expect(indexRows(path).filter((r) => r.norm === 'vega')).toEqual([
      { norm: 'vega', target: 'orion', shadowed: 0 },
      { norm: 'vega', target: 'vega', shadowed: 1 },
    ]);
    expect(conflictOf(() => store.targets.upsert(nova(['Vega']))).owner).toBe('orion');
    // orion cannot be registered again with the clash; without it, it can.
    expect(
      conflictOf(() =>
        store.targets.upsert({ name: 'orion', baseUrl: 'http://o:1', phrases: ['vega'] }),
      ).ownerIsName,
    ).toBe(true);
    store.targets.upsert({ name: 'orion', baseUrl: 'http://o:1', phrases: ['hey orion'] });
    store.close();
  });
});
