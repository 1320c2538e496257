/**
 * The registry change counter (schema v8): a server rebuilds its routing table when another
 * connection changed the targets, and not for every other commit to the file (the decision log's
 * writer commits every few milliseconds).
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDbPath } from '../helpers/temp.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0).reverse()) o.close();
});

function setUp(): { store: Store; other: Database.Database } {
  const store = openStore(tempDbPath());
  const other = new Database(store.path);
  open.push(store, other);
  return { store, other };
}

const target = { name: 'astraea', baseUrl: 'http://127.0.0.1:9', phrases: ['hey astraea'] };

describe('TargetRegistry.changedElsewhere', () => {
  it('ignores commits to other tables, and this registry’s own writes', () => {
    const { store, other } = setUp();
    store.targets.upsert(target);
    expect(store.targets.changedElsewhere()).toBe(false);
    other.exec(
      `INSERT INTO events (id, received_at, source_id, listen_mode, mode, reason, forwarded, privacy)
         VALUES ('e1', 0, 'kitchen', 'trigger', 'idle', 'no_trigger_no_session', 0, 'full')`,
    );
    other.exec("UPDATE settings SET value = 'inactive' WHERE name = 'listen_mode'");
    other.exec("INSERT INTO config (key, value, type) VALUES ('session_timeout_s', '9', 'float')");
    expect(store.targets.changedElsewhere()).toBe(false);
    store.targets.delete('astraea');
    expect(store.targets.changedElsewhere()).toBe(false);
  });

  it('reports an insert, an update and a delete by another writer, once each', () => {
    const { store, other } = setUp();
    other
      .prepare('INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)')
      .run('echobell', 'http://127.0.0.1:9', '["hey echobell"]');
    expect(store.targets.changedElsewhere()).toBe(true);
    expect(store.targets.changedElsewhere()).toBe(false);
    other
      .prepare("UPDATE targets SET base_url = 'http://127.0.0.1:10' WHERE name = ?")
      .run('echobell');
    expect(store.targets.changedElsewhere()).toBe(true);
    other.prepare('DELETE FROM targets WHERE name = ?').run('echobell');
    expect(store.targets.changedElsewhere()).toBe(true);
    expect(store.targets.changedElsewhere()).toBe(false);
  });

  it('still reports a foreign change that an own write followed before anyone asked', () => {
    const { store, other } = setUp();
    other
      .prepare('INSERT INTO targets (name, base_url, phrases) VALUES (?, ?, ?)')
      .run('echobell', 'http://127.0.0.1:9', '["hey echobell"]');
    store.targets.upsert(target);
    expect(store.targets.changedElsewhere()).toBe(true);
    expect(store.targets.changedElsewhere()).toBe(false);
  });

  it('counts a restore by another Echonet process', () => {
    const { store } = setUp();
    const cli = openStore(store.path);
    open.push(cli);
    cli.targets.replaceAll([target], { merge: false });
    expect(store.targets.changedElsewhere()).toBe(true);
    expect(cli.targets.changedElsewhere()).toBe(false);
  });
});
