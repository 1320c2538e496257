/** The real `echonet serve` process: registry changes from other processes, restarts, shutdown. */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runCli, startServer } from '../helpers/cli.js';
import { startRecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'e2e-api-key-0123456789abcdef';
const dir = tempDir();

async function call(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: {
      'x-api-key': KEY,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('echonet serve', () => {
  // How soon a change is noticed (one watch interval) is test/store/targets.test.ts's business.
  it('picks up registry changes made by another process while it runs', async () => {
    const db = tempDbPath(dir);
    const target = await startRecordingTarget();
    const server = await startServer({ ECHONET_DB_PATH: db, ECHONET_API_KEY: KEY });
    try {
      expect(
        (await call(server.url, 'POST', '/text', { source_id: 's', text: 'hey astraea hi' })).body
          .mode,
      ).toBe('idle');

      // Another process (here: a second connection, as the CLI would use) registers a target.
      const other = openStore(db);
      other.targets.upsert({ name: 'astraea', baseUrl: target.url, phrases: ['hey astraea'] });
      other.close();

      const preview = async () =>
        (await call(server.url, 'POST', '/route/preview', { text: 'hey astraea hi' })).body.mode;
      await waitFor(async () => (await preview()) !== 'idle', { what: 'the new target' });
      expect(await preview()).toBe('session_open');
      const res = await call(server.url, 'POST', '/text', {
        source_id: 's',
        text: 'hey astraea hi',
      });
      expect(res.body).toMatchObject({ routed_to: 'astraea', forwarded: true });

      // A restore by the CLI while the server runs replaces the registry; the server follows.
      const backup = `${dir}/empty-backup.json`;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(backup, JSON.stringify({ targets: [] }));
      const restored = await runCli(['restore', backup, '--yes', '--db-path', db]);
      expect(restored.code, restored.stderr).toBe(0);
      await waitFor(async () => (await preview()) === 'idle', { what: 'the restored registry' });
      expect((await call(server.url, 'GET', '/sessions')).body.sessions).toEqual([]);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
      await target.close();
    }
  });

  it('keeps targets across a restart and stops cleanly on SIGINT', async () => {
    const db = tempDbPath(dir);
    const first = await startServer({ ECHONET_DB_PATH: db, ECHONET_API_KEY: KEY });
    const reg = await call(first.url, 'POST', '/register', {
      name: 'astraea',
      base_url: 'http://127.0.0.1:9',
      phrases: ['hey astraea'],
    });
    expect(reg.status).toBe(200);
    expect(await first.stop('SIGINT')).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');

    const second = await startServer({ ECHONET_DB_PATH: db, ECHONET_API_KEY: KEY });
    const list = await call(second.url, 'GET', '/targets');
    expect(list.body.targets).toEqual([
      {
        name: 'astraea',
        base_url: 'http://127.0.0.1:9',
        listen_url: 'http://127.0.0.1:9/listen',
        phrases: ['hey astraea'],
        health: expect.objectContaining({ consecutive_failures: 0 }),
      },
    ]);
    expect(await second.stop('SIGTERM')).toBe(0);
  });

  it('generates an API key on first start, prints it once, and keeps it', async () => {
    const db = tempDbPath(dir);
    const first = await startServer({ ECHONET_DB_PATH: db });
    const printed = /\n {4}([A-Za-z0-9_-]{43})\n/.exec(first.output())?.[1];
    expect(printed).toBeDefined();
    const health = await fetch(`${first.url}/targets`, {
      headers: { 'x-api-key': printed as string },
    });
    expect(health.status).toBe(200);
    await first.stop();
    const second = await startServer({ ECHONET_DB_PATH: db });
    expect(second.output()).not.toContain(printed as string);
    expect(
      (await fetch(`${second.url}/targets`, { headers: { 'x-api-key': printed as string } }))
        .status,
    ).toBe(200);
    await second.stop();
    const shown = await runCli(['api-key', '--db-path', db]);
    expect(shown.stdout.trim()).toBe(printed);
  });

  it('does not generate a key when ECHONET_API_KEYS alone is set', async () => {
    const db = tempDbPath(dir);
    const server = await startServer({
      ECHONET_DB_PATH: db,
      ECHONET_API_KEYS: `old-${KEY},${KEY}`,
    });
    expect(server.output()).not.toContain('generated one');
    expect((await call(server.url, 'GET', '/targets')).status).toBe(200);
    await server.stop();
    const shown = await runCli(['api-key', '--db-path', db]);
    expect(shown.code).toBe(1);
  });

  it('refuses to start on bad configuration with one clear line', async () => {
    for (const [name, value, expected] of [
      [
        'ECHONET_PORT',
        'abc',
        'echonet: ECHONET_PORT="abc" is invalid: expected an integer from 0 to 65535',
      ],
      ['ECHONET_HTTP_TIMEOUT_S', '-1', 'echonet: ECHONET_HTTP_TIMEOUT_S="-1" is invalid'],
      [
        'ECHONET_LOG_LEVEL',
        'chatty',
        'echonet: ECHONET_LOG_LEVEL="chatty" is invalid: expected one of',
      ],
    ] as const) {
      const res = await runCli(['serve'], {
        env: { [name]: value, ECHONET_DB_PATH: tempDbPath(dir) },
        cwd: dir,
      });
      expect(res.code).toBe(1);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toContain(expected);
    }
  });

  it('creates parent folders of the database path', async () => {
    const db = `${dir}/deep/er/registry.db`;
    const server = await startServer({ ECHONET_DB_PATH: db, ECHONET_API_KEY: KEY });
    await server.stop();
    const store = openStore(db);
    expect(store.migrated).toEqual([]);
    store.close();
  });
});
