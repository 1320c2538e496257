/** The `echonet` command end to end, as a real child process on real database files. */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LATEST_VERSION } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/store.js';
import { cleanEnv, CLI, runCli, startServer } from '../helpers/cli.js';
import { makePythonDb } from '../helpers/python-db.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();

function seeded(): string {
  const db = tempDbPath(dir);
  const store = openStore(db);
  store.targets.upsert({
    name: 'astraea',
    baseUrl: 'http://astraea.local:9001',
    phrases: ['hey astraea', 'hello astraea'],
  });
  store.targets.upsert({
    name: 'echobell',
    baseUrl: 'http://echobell.local:9000/',
    phrases: ['hey echo'],
  });
  store.close();
  return db;
}

describe('echonet migrate', () => {
  it('--status shows the version, history and row counts without changing a Python v1 file', async () => {
    const db = tempDbPath(dir);
    makePythonDb(db, 1, [{ name: 'astraea', base_url: 'http://a:1', phrases: ['hey astraea'] }]);
    const before = readFileSync(db);
    const res = await runCli(['migrate', '--status', '--db-path', db]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`schema version:  1 (this Echonet knows up to ${LATEST_VERSION})`);
    expect(res.stdout).toMatch(/pending: +v2 .*v3 .*v4/);
    expect(res.stdout).toContain(`v${LATEST_VERSION}`);
    expect(res.stdout).toMatch(/v1 {2}\d{4}-\d\d-\d\d/);
    expect(res.stdout).toMatch(/targets +1 rows/);
    expect(readFileSync(db).equals(before)).toBe(true);
  });

  it('--migrate upgrades, then has nothing to do', async () => {
    const db = tempDbPath(dir);
    makePythonDb(db, 3, [{ name: 'astraea', base_url: 'http://a:1', phrases: ['hey astraea'] }]);
    const first = await runCli(['migrate', '--migrate', '--db-path', db]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('applied v4');
    expect(first.stdout).toContain(`from version 3 to ${LATEST_VERSION}`);
    const second = await runCli(['migrate', '--migrate', '--db-path', db]);
    expect(second.stdout).toContain(`already at version ${LATEST_VERSION}`);
    const status = await runCli(['migrate', '--db-path', db]);
    expect(status.stdout).toContain('pending:         none');
  });

  it('refuses a newer schema with a clear message and exit 1', async () => {
    const db = seeded();
    const raw = new Database(db);
    raw.prepare("INSERT INTO schema_version VALUES (12, datetime('now'))").run();
    raw.close();
    for (const args of [['migrate', '--migrate'], ['inspect'], ['backup'], ['serve']]) {
      const res = await runCli([...args, '--db-path', db], {
        env: { ECHONET_PORT: '0', ECHONET_HOST: '127.0.0.1' },
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(
        `echonet: database schema version 12 is newer than this Echonet understands (${LATEST_VERSION})`,
      );
    }
  });

  it('rejects --status together with --migrate', async () => {
    const res = await runCli(['migrate', '--status', '--migrate', '--db-path', tempDbPath(dir)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('choose one of --status and --migrate');
  });
});

describe('echonet inspect', () => {
  it('lists targets, listen URLs, phrases and the file size', async () => {
    const db = seeded();
    const res = await runCli(['inspect', '--db-path', db]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('targets:         2');
    expect(res.stdout).toContain('listen_url:  http://echobell.local:9000/listen');
    expect(res.stdout).toContain('"hey astraea", "hello astraea"');
    expect(res.stdout).toMatch(/size: +\d+(\.\d)? KiB/);
    const json = JSON.parse((await runCli(['inspect', '--json', '--db-path', db])).stdout);
    expect(json.targets.map((t: { name: string }) => t.name)).toEqual(['astraea', 'echobell']);
    expect(json.schema_version).toBe(LATEST_VERSION);
  });

  it('fails on a missing file without creating it', async () => {
    const db = `${dir}/missing.db`;
    const res = await runCli(['inspect', '--db-path', db]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^echonet: database .*missing\.db does not exist\n$/);
    expect(existsSync(db)).toBe(false);
  });
});

describe('echonet backup and restore', () => {
  it('round-trips the registry through a JSON file', async () => {
    const db = seeded();
    const file = `${dir}/backup-${Date.now()}.json`;
    const res = await runCli(['backup', '-o', file, '--db-path', db]);
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc).toEqual({
      exported_at: expect.stringMatching(/^\d{4}-/),
      source_db: expect.stringContaining(db.split('/').pop() as string),
      target_count: 2,
      targets: [
        {
          name: 'astraea',
          base_url: 'http://astraea.local:9001',
          listen_url: 'http://astraea.local:9001/listen',
          phrases: ['hey astraea', 'hello astraea'],
        },
        {
          name: 'echobell',
          base_url: 'http://echobell.local:9000/',
          listen_url: 'http://echobell.local:9000/listen',
          phrases: ['hey echo'],
        },
      ],
    });

    const fresh = tempDbPath(dir);
    const restored = await runCli(['restore', file, '--db-path', fresh]);
    expect(restored.code, restored.stderr).toBe(0);
    const store = openStore(fresh);
    expect(store.targets.all().map((t) => t.name)).toEqual(['astraea', 'echobell']);
    store.close();
  });

  it('writes to stdout without -o', async () => {
    const res = await runCli(['backup', '--db-path', seeded()]);
    expect(JSON.parse(res.stdout).target_count).toBe(2);
  });

  it('replaces only with --yes (no terminal to ask), and --merge keeps the others', async () => {
    const db = seeded();
    const file = `${dir}/one-${Date.now()}.json`;
    writeFileSync(
      file,
      JSON.stringify({
        targets: [{ name: 'Doorman', base_url: 'http://d:1', phrases: ['hey doorman'] }],
      }),
    );

    const refused = await runCli(['restore', file, '--db-path', db]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('pass --yes to confirm, or --merge');
    let store = openStore(db);
    expect(store.targets.count()).toBe(2);
    store.close();

    const merged = await runCli(['restore', file, '--merge', '--db-path', db]);
    expect(merged.code, merged.stderr).toBe(0);
    store = openStore(db);
    expect(store.targets.all().map((t) => t.name)).toEqual(['astraea', 'doorman', 'echobell']);
    store.close();

    const replaced = await runCli(['restore', file, '--yes', '--db-path', db]);
    expect(replaced.code, replaced.stderr).toBe(0);
    store = openStore(db);
    expect(store.targets.all().map((t) => t.name)).toEqual(['doorman']);
    store.close();
  });

  it.each([
    ['missing file', null, /cannot read backup/],
    ['bad JSON', '{"targets": [', /is not valid JSON/],
    ['no targets array', '{"target": []}', /has no "targets" array/],
    [
      'wrong entry shape',
      '{"targets": [{"name": 1}]}',
      /targets\[0\] must be an object with string name/,
    ],
    [
      'invalid name',
      '{"targets": [{"name": "bad name", "base_url": "http://a:1", "phrases": []}]}',
      /targets\[0\]\.name must be 1-32/,
    ],
    [
      'bad url',
      '{"targets": [{"name": "a", "base_url": "file:///etc", "phrases": []}]}',
      /targets\[0\]\.base_url must use http or https/,
    ],
    [
      'duplicate names',
      '{"targets": [{"name": "a", "base_url": "http://a:1", "phrases": ["hey a"]}, {"name": "A", "base_url": "http://a:1", "phrases": ["hey b"]}]}',
      /repeats target 'a'/,
    ],
    [
      'shared phrase',
      '{"targets": [{"name": "a", "base_url": "http://a:1", "phrases": ["hey you"]}, {"name": "b", "base_url": "http://a:1", "phrases": ["Hey  You"]}]}',
      /already registered by target 'a'|collides/,
    ],
  ])('refuses a backup with %s and leaves the database alone', async (_label, content, message) => {
    const db = seeded();
    const file = `${dir}/bad-${Math.random()}.json`;
    if (content !== null) writeFileSync(file, content);
    const res = await runCli(['restore', file, '--yes', '--db-path', db]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    const store = openStore(db);
    expect(store.targets.count()).toBe(2);
    store.close();
  });
});

describe('echonet route', () => {
  it('prints the decision, the match and its score', async () => {
    const db = seeded();
    const res = await runCli(['route', "Hey, Astraea! Who's at the door?", '--db-path', db]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('mode:       session_open');
    expect(res.stdout).toContain('routed_to:  astraea');
    expect(res.stdout).toMatch(
      /match: +"Hey, Astraea" ~ "hey astraea" \[0, 12\) score 1\.000 \(exact\)/,
    );
    expect(res.stdout).toContain(`forwards:   "Who's at the door?"`);
    const json = JSON.parse(
      (await runCli(['route', 'nothing here', '--json', '--db-path', db])).stdout,
    );
    expect(json).toMatchObject({ mode: 'idle', routed_to: null, match: null });
  });
});

describe('usage errors', () => {
  it('exit non-zero with a message', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const noArg = await runCli(['restore']);
    expect(noArg.code).toBe(1);
    expect(noArg.stderr).toContain("missing required argument 'file'");
    const emptyDb = await runCli(['inspect', '--db-path', '']);
    expect(emptyDb.code).toBe(1);
    expect(emptyDb.stderr).toContain('--db-path must not be empty');
  });
});

describe('the command file (dist/echonet.mjs)', () => {
  const source = readFileSync(CLI, 'utf8');
  const launch = /^#!\/usr\/bin\/env -S ((?:[A-Z_]+=\S+ )*node(?: --\S+)+)\n/.exec(source);

  it('runs as an executable, with the settings npm start also uses', async () => {
    expect(launch).not.toBeNull();
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.scripts.start).toBe(`${launch![1]} dist/echonet.mjs serve`);
    expect(pkg.bin.echonet).toBe('dist/echonet.mjs');
    const direct = await execFileText(CLI, ['--version']);
    expect(direct.trim()).toBe(pkg.version);
  });

  it("starts node with its first line's environment and flags (Linux /proc)", async () => {
    const server = await startServer(
      { ECHONET_DB_PATH: tempDbPath(dir), ECHONET_API_KEY: 'k'.repeat(32) },
      { executable: true },
    );
    try {
      const pid = server.child.pid!;
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const words = launch![1]!.split(' ');
      const node = words.indexOf('node');
      for (const assignment of words.slice(0, node)) expect(environ).toContain(assignment);
      for (const flag of words.slice(node + 1)) expect(cmdline).toContain(flag);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('is Latin-1 only, so V8 holds its source at one byte a character', () => {
    expect(source).not.toMatch(/[\u0100-\u{10ffff}]/u);
  });
});

function execFileText(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { env: cleanEnv() }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );
}
