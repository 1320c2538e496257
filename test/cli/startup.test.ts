/**
 * `echonet serve` as a new user meets it: each start-up failure is one line saying what to change,
 * a stop during start-up is as clean as a later one, and an upgrade of the database is logged.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/store.js';
import { cleanEnv, CLI, runCli, startServer } from '../helpers/cli.js';
import { makePythonDb } from '../helpers/python-db.js';
import { expectOneLine } from '../helpers/one-line.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();
const KEY = { ECHONET_API_KEY: 'k'.repeat(32) };
const LOCAL = { ...KEY, ECHONET_HOST: '127.0.0.1', ECHONET_PORT: '0' };

describe('a start-up failure is one line saying what to change', () => {
  it('port in use: names the port and ECHONET_PORT', async () => {
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const { port } = other.address() as { port: number };
    try {
      const res = await runCli(['serve', '--db-path', tempDbPath(dir)], {
        env: { ...LOCAL, ECHONET_PORT: String(port) },
      });
      expect(res.code).toBe(1);
      expectOneLine(
        res.stderr,
        new RegExp(`^echonet: port ${port} is in use on 127\\.0\\.0\\.1; set ECHONET_PORT`),
      );
    } finally {
      other.close();
    }
  });

  it('host not found: names the host and ECHONET_HOST', async () => {
    const res = await runCli(['serve', '--db-path', tempDbPath(dir)], {
      env: { ...LOCAL, ECHONET_HOST: 'no-such-host.invalid' },
    });
    expect(res.code).toBe(1);
    expectOneLine(res.stderr, /^echonet: host "no-such-host\.invalid" not found; set ECHONET_HOST/);
  });

  describe('data folder not writable', () => {
    // A folder everyone may enter, holding one nobody but root may write. Root may write anywhere,
    // so under root the command runs as nobody (uid 65534), to whom the permissions apply.
    const base = mkdtempSync(join(tmpdir(), 'echonet-perm-'));
    chmodSync(base, 0o755);
    afterAll(() => rmSync(base, { recursive: true, force: true }));
    const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

    it('a folder it cannot write: names it and ECHONET_DB_PATH, creates nothing', async () => {
      const locked = join(base, 'locked');
      mkdirSync(locked, { mode: 0o555 });
      for (const db of [join(locked, 'registry.db'), join(locked, 'sub', 'registry.db')]) {
        const res = await runCli(['serve'], {
          env: { ...LOCAL, ECHONET_DB_PATH: db },
          cwd: base,
          user,
        });
        expect(res.code).toBe(1);
        expectOneLine(
          res.stderr,
          /^echonet: folder \S*locked is not writable by this user, .*set ECHONET_DB_PATH/,
        );
      }
      expect(existsSync(join(locked, 'registry.db'))).toBe(false);
      expect(existsSync(join(locked, 'sub'))).toBe(false);
    });

    it('a database file it cannot write: says so, not that the file is damaged', async () => {
      const db = join(base, 'readonly.db');
      openStore(db).close();
      chmodSync(db, 0o444);
      const before = readFileSync(db);
      const res = await runCli(['serve'], {
        env: { ...LOCAL, ECHONET_DB_PATH: db },
        cwd: base,
        user,
      });
      expect(res.code).toBe(1);
      expectOneLine(res.stderr, /^echonet: database \S*readonly\.db is not writable by this user/);
      expect(readFileSync(db).equals(before)).toBe(true);
    });
  });
});

describe('a stop during start-up', () => {
  it('SIGTERM at the first start-up log line: exit 0, no trace, the database upgraded whole', async () => {
    const db = tempDbPath(dir);
    makePythonDb(db, 1, [{ name: 'astraea', base_url: 'http://a:1', phrases: ['hey astraea'] }]);
    const child = spawn(process.execPath, [CLI, 'serve', '--db-path', db], {
      env: cleanEnv(LOCAL),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout === '') child.kill('SIGTERM');
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];

    expect({ code, signal, stderr }, stdout).toEqual({ code: 0, signal: null, stderr: '' });
    const logs = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(logs[0]!.msg).toBe(`database upgraded from schema version 1 to ${LATEST_VERSION}`);
    expect(logs.at(-1)!.msg).toBe('stopped');

    const raw = new Database(db, { readonly: true });
    try {
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(raw.prepare('SELECT MAX(version) FROM schema_version').pluck().get()).toBe(
        LATEST_VERSION,
      );
      expect(raw.prepare('SELECT name FROM targets').pluck().all()).toEqual(['astraea']);
    } finally {
      raw.close();
    }
  });
});

describe('an upgraded database is logged, at info level', () => {
  const upgradeLines = (output: string) =>
    output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; from?: number; to?: number })
      .filter((l) => l.msg.startsWith('database '));

  it('from which version to which, by the server; nothing when there was nothing to do', async () => {
    const db = tempDbPath(dir);
    makePythonDb(db, 3, [{ name: 'astraea', base_url: 'http://a:1', phrases: ['hey astraea'] }]);
    let server = await startServer({ ...KEY, ECHONET_DB_PATH: db });
    expect(await server.stop()).toBe(0);
    expect(upgradeLines(server.output())).toEqual([
      expect.objectContaining({
        level: 30,
        msg: `database upgraded from schema version 3 to ${LATEST_VERSION}`,
        from: 3,
        to: LATEST_VERSION,
      }),
    ]);
    server = await startServer({ ...KEY, ECHONET_DB_PATH: db });
    expect(await server.stop()).toBe(0);
    expect(upgradeLines(server.output())).toEqual([]);
  });

  it('a new file is logged as created', async () => {
    const server = await startServer({ ...KEY, ECHONET_DB_PATH: tempDbPath(dir) });
    expect(await server.stop()).toBe(0);
    expect(upgradeLines(server.output())).toEqual([
      expect.objectContaining({
        level: 30,
        msg: `database created at schema version ${LATEST_VERSION}`,
      }),
    ]);
  });

  it('by `echonet migrate --migrate`', async () => {
    const db = tempDbPath(dir);
    makePythonDb(db, 2, []);
    const res = await runCli(['migrate', '--migrate', '--db-path', db]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(`^upgraded \\S+ from version 2 to ${LATEST_VERSION} \\(applied v3, `),
    );
  });
});
