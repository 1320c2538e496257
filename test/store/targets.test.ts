import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PhraseConflict } from '../../src/errors.js';
import { openStore } from '../../src/store/store.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();
const astraea = {
  name: 'astraea',
  baseUrl: 'http://astraea.local:9001',
  phrases: ['hey astraea', 'hello astraea'],
};
const echobell = { name: 'echobell', baseUrl: 'http://echobell.local:9000', phrases: ['hey echo'] };

afterEach(() => {
  vi.useRealTimers();
});

describe('TargetRegistry', () => {
  it('initialises an empty registry', () => {
    const store = openStore(tempDbPath(dir));
    expect(store.targets.all()).toEqual([]);
    expect(store.targets.count()).toBe(0);
    store.close();
  });

  it('inserts, then updates in place', () => {
    const store = openStore(tempDbPath(dir));
    store.targets.upsert(astraea);
    store.targets.upsert({ ...astraea, baseUrl: 'http://new:1', phrases: ['hi astraea'] });
    expect(store.targets.all()).toEqual([
      { name: 'astraea', baseUrl: 'http://new:1', phrases: ['hi astraea'] },
    ]);
    store.close();
  });

  it('reads a snapshot like all(), and the connection works on after its cache is dropped', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    store.targets.upsert(astraea);
    store.targets.upsert(echobell);
    expect(store.targets.snapshot()).toEqual(store.targets.all());
    store.targets.upsert({ ...echobell, phrases: ['hi echo'] });
    expect(store.targets.snapshot()).toEqual([astraea, { ...echobell, phrases: ['hi echo'] }]);
    store.close();
    const again = openStore(path);
    expect(again.targets.all()).toEqual([astraea, { ...echobell, phrases: ['hi echo'] }]);
    again.close();
  });

  it('stores names lower-case and finds them whatever the case', () => {
    const store = openStore(tempDbPath(dir));
    store.targets.upsert({ ...astraea, name: 'AstrAea' });
    expect(store.targets.get('ASTRAEA')).toEqual(astraea);
    expect(store.targets.get('astraea')).toEqual(astraea);
    expect(store.targets.get('nobody')).toBeUndefined();
    store.targets.upsert({ ...astraea, name: 'ASTRAEA', baseUrl: 'http://x:2' });
    expect(store.targets.count()).toBe(1);
    store.close();
  });

  it('lists every target sorted by name', () => {
    const store = openStore(tempDbPath(dir));
    store.targets.upsert(echobell);
    store.targets.upsert(astraea);
    expect(store.targets.all().map((t) => t.name)).toEqual(['astraea', 'echobell']);
    store.close();
  });

  it('deletes case-insensitively and says whether anything was there', () => {
    const store = openStore(tempDbPath(dir));
    store.targets.upsert(astraea);
    expect(store.targets.delete('ASTRAEA')).toBe(true);
    expect(store.targets.delete('astraea')).toBe(false);
    expect(store.targets.delete('never-registered')).toBe(false);
    expect(store.targets.all()).toEqual([]);
    store.close();
  });

  it('persists across instances on the same file', () => {
    const path = tempDbPath(dir);
    const first = openStore(path);
    first.targets.upsert(astraea);
    first.targets.upsert(echobell);
    first.close();
    const second = openStore(path);
    expect(second.targets.all()).toEqual([astraea, echobell]);
    second.close();
  });

  it('refuses a phrase another target owns, naming both, and leaves the registry as it was', () => {
    const store = openStore(tempDbPath(dir));
    store.targets.upsert(astraea);
    let refused: unknown;
    try {
      store.targets.upsert({ ...echobell, phrases: ['hey echo', 'Hey, Astraea!'] });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(PhraseConflict);
    expect((refused as Error).message).toBe(
      "Phrase 'Hey, Astraea!' of target 'echobell' collides with 'hey astraea' of target 'astraea'",
    );
    expect(store.targets.all()).toEqual([astraea]);
    // A target may keep, drop or reword its own phrases.
    store.targets.upsert({ ...astraea, phrases: ['HEY ASTRAEA'] });
    store.targets.upsert(echobell);
    store.targets.upsert({ ...echobell, phrases: ['hello astraea'] });
    expect(store.targets.all().map((t) => t.phrases)).toEqual([['HEY ASTRAEA'], ['hello astraea']]);
    store.close();
  });

  it("frees a deleted target's phrases for others", () => {
    const store = openStore(tempDbPath(dir));
    store.targets.upsert(astraea);
    expect(() => store.targets.upsert({ ...echobell, phrases: ['hey astraea'] })).toThrow(
      PhraseConflict,
    );
    store.targets.delete('ASTRAEA');
    store.targets.upsert({ ...echobell, phrases: ['hey astraea'] });
    expect(store.targets.get('echobell')?.phrases).toEqual(['hey astraea']);
    store.close();
  });

  it('tells listeners about its own writes, and watchers about other connections', () => {
    // The watcher polls on a timer; fake timers step it (SQLite is synchronous, no socket here).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const path = tempDbPath(dir);
    const server = openStore(path);
    const cli = openStore(path);
    let local = 0;
    let external = 0;
    server.targets.onChange(() => local++);
    const stop = server.watchExternalChanges(() => external++, 20);
    let byDefault = 0;
    const stopDefault = server.watchExternalChanges(() => byDefault++);
    server.targets.upsert(astraea);
    expect(local).toBe(1);
    cli.targets.upsert(echobell);
    vi.advanceTimersByTime(20);
    expect(external).toBe(1);
    vi.advanceTimersByTime(230); // once per change, however often it looks again
    expect(external).toBe(1);
    expect(byDefault).toBe(1); // the default interval notices within a quarter of a second
    stopDefault();
    expect(server.targets.all().map((t) => t.name)).toEqual(['astraea', 'echobell']);
    stop();
    cli.close();
    server.close();
  });

  it('reads rows with malformed phrases written by other tools as having none', () => {
    const path = tempDbPath(dir);
    openStore(path).close();
    const raw = new Database(path);
    raw
      .prepare('INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)')
      .run('Odd', 'http://o:1', 'not json');
    raw
      .prepare('INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)')
      .run('mixed', 'http://m:1', '["ok", 3]');
    raw.close();
    const store = openStore(path);
    expect(store.targets.get('odd')).toEqual({ name: 'odd', baseUrl: 'http://o:1', phrases: [] });
    expect(store.targets.get('mixed')?.phrases).toEqual(['ok']);
    store.close();
  });
});
