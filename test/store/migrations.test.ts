import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SchemaTooNew, StorageError } from '../../src/errors.js';
import {
  LATEST_VERSION,
  MIGRATIONS,
  currentVersion,
  migrate,
  migrationHistory,
} from '../../src/store/migrations.js';
import { openDatabase } from '../../src/store/db.js';
import { eventReaderIfPresent } from '../../src/store/events.js';
import { openStore } from '../../src/store/store.js';
import { makePythonDb } from '../helpers/python-db.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();
/** Every version this code knows, in order. */
const VERSIONS = MIGRATIONS.map((m) => m.version);
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function columns(db: Database.Database, table: string): string[] {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
}

describe('migrations', () => {
  it('create every table on a fresh file, recording each version with a date', () => {
    const path = tempDbPath(dir);
    const store = openStore(path);
    expect(store.migrated).toEqual(VERSIONS);
    store.close();

    const db = new Database(path, { readonly: true });
    expect(currentVersion(db)).toBe(LATEST_VERSION);
    const history = migrationHistory(db);
    expect(history.map((h) => h.version)).toEqual(VERSIONS);
    for (const h of history) expect(Number.isNaN(Date.parse(h.appliedAt))).toBe(false);
    expect(columns(db, 'schema_version')).toEqual(['version', 'applied_at']);
    expect(columns(db, 'targets')).toEqual(['name', 'base_url', 'phrases']);
    expect(columns(db, 'settings')).toEqual(['name', 'value', 'updated_at', 'description']);
    expect(columns(db, 'settings_log')).toEqual([
      'id',
      'name',
      'old_value',
      'new_value',
      'changed_at',
      'source',
      'reason',
    ]);
    expect(columns(db, 'config')).toEqual(['key', 'value', 'type', 'description', 'updated_at']);
    // v7: the decision log, one row per utterance.
    expect(columns(db, 'events')).toEqual([
      'seq',
      'id',
      'received_at',
      'source_id',
      'room',
      'text',
      'confidence',
      'listen_mode',
      'mode',
      'reason',
      'target',
      'match_phrase',
      'match_text',
      'match_score',
      'match_exact',
      'session_id',
      'session_change',
      'forwarded',
      'status',
      'latency_ms',
      'failure',
      'near_phrase',
      'near_target',
      'near_text',
      'near_score',
      'privacy',
      // v9: replies, the front end and its conversation, the fallback's intended target.
      'reply',
      'reply_truncated',
      'front_end',
      'conversation_id',
      'intended_target',
      // v10: why rooms decided (duplicate-wake arbitration, echo of a reply), as JSON.
      'detail',
    ]);
    const indexes = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' ORDER BY name",
      )
      .pluck()
      .all();
    expect(indexes).toEqual(['idx_config_key', 'idx_settings_log_name', 'idx_target_name']);
    expect(db.prepare("SELECT value FROM settings WHERE name = 'listen_mode'").pluck().get()).toBe(
      'trigger',
    );
    expect(
      db.prepare("SELECT COUNT(*) FROM settings_log WHERE name = 'listen_mode'").pluck().get(),
    ).toBe(1);
    expect(db.prepare('SELECT key, value, type FROM config ORDER BY key').all()).toEqual([
      { key: 'enable_preroll_buffer', value: 'false', type: 'bool' },
      { key: 'preroll_buffer_seconds', value: '2.0', type: 'float' },
    ]);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('are idempotent: a second open applies nothing and changes nothing', () => {
    const path = tempDbPath(dir);
    openStore(path).close();
    const again = openStore(path);
    expect(again.migrated).toEqual([]);
    again.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM schema_version').pluck().get()).toBe(VERSIONS.length);
    expect(db.prepare('SELECT COUNT(*) FROM settings_log').pluck().get()).toBe(1);
    db.close();
  });

  it.each([1, 2, 3] as const)(
    'upgrade a v%i file made by the Python service and keep every target',
    (version) => {
      const path = tempDbPath(dir);
      const targets = [
        {
          name: 'astraea',
          base_url: 'http://astraea.local:9001',
          phrases: ['hey astraea', 'hello astraea'],
        },
        {
          name: 'echobell',
          base_url: 'http://echobell.local:9000/',
          phrases: ['hey echo', 'hello echo bell'],
        },
      ];
      makePythonDb(path, version, targets);
      const store = openStore(path);
      expect(store.migrated).toEqual(VERSIONS.filter((v) => v > version));
      expect(store.targets.all()).toEqual(
        targets.map((t) => ({ name: t.name, baseUrl: t.base_url, phrases: t.phrases })),
      );
      store.close();
      const db = new Database(path, { readonly: true });
      expect(db.prepare('SELECT COUNT(*) FROM settings_log').pluck().get()).toBe(1);
      expect(db.prepare('SELECT COUNT(*) FROM config').pluck().get()).toBe(2);
      db.close();
    },
  );

  it('refuse a file newer than this code, leaving it byte-for-byte untouched', () => {
    const path = tempDbPath(dir);
    makePythonDb(path, 3, [{ name: 'astraea', base_url: 'http://a:1', phrases: ['hey astraea'] }]);
    const db = new Database(path);
    db.prepare(
      "INSERT INTO schema_version (version, applied_at) VALUES (99, datetime('now'))",
    ).run();
    db.close();
    const before = sha(path);
    expect(() => openStore(path)).toThrow(SchemaTooNew);
    expect(() => openStore(path)).toThrow(/version 99 is newer than this Echonet understands/);
    expect(sha(path)).toBe(before);
    const check = new Database(path, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });

  it('refuse a file that is not SQLite without touching it', () => {
    const path = tempDbPath(dir);
    const content = 'name,base_url\nastraea,http://a\n';
    writeFileSync(path, content);
    expect(() => openDatabase(path)).toThrow(StorageError);
    expect(() => openDatabase(path)).toThrow(/is not an SQLite database/);
    expect(readFileSync(path, 'utf8')).toBe(content);
  });

  it('apply each migration once when several processes start together on a fresh file', async () => {
    const path = tempDbPath(dir);
    const storeModule = new URL('../../dist/store/store.js', import.meta.url).href;
    const script = `const { openStore } = await import(${JSON.stringify(storeModule)}); const s = openStore(${JSON.stringify(path)}); console.log(JSON.stringify(s.migrated)); s.close();`;
    const runs = await Promise.all(Array.from({ length: 6 }, () => runNode(script)));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    // Numerically: from v10 on, a default sort would put 10 before 2.
    const applied = runs.flatMap((r) => JSON.parse(r.stdout) as number[]).sort((a, b) => a - b);
    expect(applied).toEqual(VERSIONS);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all()).toEqual(
      VERSIONS,
    );
    expect(db.prepare('SELECT COUNT(*) FROM settings_log').pluck().get()).toBe(1);
    db.close();
  });

  it('migrate() on an already-open handle reports what it applied', () => {
    const db = openDatabase(tempDbPath(dir));
    expect(migrate(db)).toEqual(VERSIONS);
    expect(migrate(db)).toEqual([]);
    db.close();
  });
});

describe('v9: the decision log learns replies and front ends', () => {
  /** A file as Echonet left it at v7, with one logged decision. */
  function v7File(): string {
    return fileAt(
      7,
      `INSERT INTO events (id, received_at, source_id, text, listen_mode, mode, reason, target,
         forwarded, status, privacy)
       VALUES ('old-1', 1767225600000, 'porch', 'hey doorman hi', 'trigger', 'session_open',
         'trigger_phrase:hey doorman', 'doorman', 1, 200, 'full')`,
    );
  }

  it('adds its columns to a v7 log, keeping every row, which reads as an HTTP decision with no reply', () => {
    const path = v7File();
    const store = openStore(path);
    expect(store.migrated).toEqual([8, 9, 10]);
    expect(store.events.get('old-1')).toMatchObject({
      sourceId: 'porch',
      text: 'hey doorman hi',
      target: 'doorman',
      status: 200,
      reply: null,
      replyTruncated: false,
      frontEnd: 'http',
      conversationId: null,
      intendedTarget: null,
      detail: null,
    });
    store.close();
  });

  it('leaves a v7 file readable by a command that never migrates', () => {
    const path = v7File();
    const db = new Database(path, { readonly: true });
    try {
      const reader = eventReaderIfPresent(db);
      expect(reader?.list({ limit: 10 }).map((e) => [e.id, e.frontEnd, e.reply])).toEqual([
        ['old-1', 'http', null],
      ]);
      expect(reader?.get('old-1')?.replyTruncated).toBe(false);
    } finally {
      db.close();
    }
  });
});

describe('v10: the decision log keeps why rooms decided', () => {
  /** A file as Echonet left it at v9, with one logged decision. */
  function v9File(): string {
    return fileAt(
      9,
      `INSERT INTO events (id, received_at, source_id, text, listen_mode, mode, reason, target,
         forwarded, status, privacy, front_end)
       VALUES ('old-9', 1767225600000, 'hall', 'hey doorman hi', 'trigger', 'session_open',
         'trigger_phrase:hey doorman', 'doorman', 1, 200, 'full', 'wyoming')`,
    );
  }

  it('adds the detail column to a v9 log; old rows have none', () => {
    const store = openStore(v9File());
    expect(store.migrated).toEqual([10]);
    expect(store.events.get('old-9')).toMatchObject({ frontEnd: 'wyoming', detail: null });
    store.close();
  });

  it('leaves a v9 file readable by a command that never migrates', () => {
    const db = new Database(v9File(), { readonly: true });
    try {
      const reader = eventReaderIfPresent(db);
      expect(reader?.list({ limit: 10 }).map((e) => [e.id, e.frontEnd, e.detail])).toEqual([
        ['old-9', 'wyoming', null],
      ]);
    } finally {
      db.close();
    }
  });
});

describe("the README's upgrade section", () => {
  it('names the schema versions Echonet adds to a Python file, up to the latest', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const upgrading = /\n## Upgrading from the Python service\n([\s\S]*?)\n## /.exec(readme)?.[1];
    const said = /as versions 4 to (\d+)\)/.exec(upgrading?.replace(/\s+/g, ' ') ?? '')?.[1];
    expect(Number(said)).toBe(LATEST_VERSION);
  });
});

/** A file migrated up to `version` by hand (as that Echonet left it), with `insert` run in it. */
function fileAt(version: number, insert: string): string {
  const path = tempDbPath(dir);
  const db = new Database(path);
  db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
    db.exec(m.sql);
    db.prepare("INSERT INTO schema_version VALUES (?, datetime('now'))").run(m.version);
  }
  db.prepare(insert).run();
  db.close();
  return path;
}

function runNode(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
