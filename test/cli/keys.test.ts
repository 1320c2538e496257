/**
 * `echonet keys add|list|revoke`, run as real child processes against the database of a running
 * `echonet serve` (another real process): keys rotate without a restart.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runCli, startServer, type RunningServer } from '../helpers/cli.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();
const ENV_KEY = 'environment-key-0123456789abcdef';

/** A database as a server leaves it (migrated), without a running server. */
function database(): string {
  const db = tempDbPath(dir);
  openStore(db).close();
  return db;
}

/** GET /targets with `key`, polled until `status` comes back (bounded, never a fixed sleep). */
async function eventually(server: RunningServer, key: string, status: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = 0;
  while (Date.now() < deadline) {
    last = (await fetch(`${server.url}/targets`, { headers: { 'x-api-key': key } })).status;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`GET /targets with the key still answers ${last}, not ${status}`);
}

describe('echonet keys', () => {
  it('adds a key a running server accepts without a restart, and revokes it the same way', async () => {
    const db = tempDbPath(dir);
    const env = { ECHONET_DB_PATH: db, ECHONET_API_KEY: ENV_KEY };
    const server = await startServer(env);
    try {
      const added = await runCli(['keys', 'add', 'kitchen tablet', '--json'], { env });
      expect(added.code, added.stderr).toBe(0);
      const { id, key, label } = JSON.parse(added.stdout) as {
        id: number;
        key: string;
        label: string;
      };
      expect(label).toBe('kitchen tablet');
      await eventually(server, key, 200);
      await eventually(server, ENV_KEY, 200);

      const revoked = await runCli(['keys', 'revoke', String(id)], { env });
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toBe(`Revoked API key ${id} (kitchen tablet).\n`);
      await eventually(server, key, 401);
      await eventually(server, ENV_KEY, 200);
      expect(server.output()).not.toContain(key);
    } finally {
      await server.stop();
    }
  });

  it('prints a new key once, and lists ids and labels but never keys', async () => {
    const db = database();
    const added = await runCli(['keys', 'add', 'front door', '--db-path', db]);
    expect(added.code, added.stderr).toBe(0);
    const key = /^ {4}(\S+)$/m.exec(added.stdout)?.[1] ?? '';
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(added.stdout).toContain('Added API key 1 (front door). It is shown only this once:');
    await runCli(['keys', 'add', 'hall', '--db-path', db]);

    const list = await runCli(['keys', 'list', '--db-path', db]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      /^id +created \(UTC\) +label\n1 +\d{4}-\d\d-\d\dT[\d:]{8}Z +front door\n2 +\S+ +hall\n$/,
    );
    expect(list.stdout).not.toContain(key);
    const json = JSON.parse((await runCli(['keys', 'list', '--json', '--db-path', db])).stdout);
    expect(json).toEqual([
      { id: 1, label: 'front door', created_at: expect.any(String) },
      { id: 2, label: 'hall', created_at: expect.any(String) },
    ]);
    expect(JSON.stringify(json)).not.toContain(key);
  });

  it.each([
    [['keys', 'add', ''], 'echonet: label must be 1 to 64 characters without control characters'],
    [['keys', 'add', 'x'.repeat(65)], 'echonet: label must be 1 to 64 characters'],
    [['keys', 'add'], "error: missing required argument 'label'"],
    [['keys', 'revoke'], "error: missing required argument 'id'"],
    [['keys', 'revoke', 'abc'], 'echonet: id must be a key id (a positive integer)'],
    [['keys', 'revoke', '0'], 'echonet: id must be a key id (a positive integer)'],
    [['keys', 'revoke', '99'], 'echonet: no API key with id 99'],
    [['keys', 'rotate'], "error: unknown command 'rotate'"],
  ])('refuses %j with one line on stderr', async (args, message) => {
    const db = database();
    const res = await runCli([...args, '--db-path', db]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(message);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stdout).toBe('');
    const store = openStore(db);
    expect(store.keys.list()).toEqual([]);
    store.close();
  });

  it('refuses to create a database for a key no server would read', async () => {
    const missing = `${dir}/no-such.db`;
    for (const args of [
      ['keys', 'add', 'x'],
      ['keys', 'list'],
      ['keys', 'revoke', '1'],
    ]) {
      const res = await runCli([...args, '--db-path', missing]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/^echonet: database \S+no-such\.db does not exist; /);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
