/**
 * `echonet state`, `echonet state set MODE --target T`, `echonet state --history`, run as real
 * child processes against the database of a running `echonet serve` (another real process).
 */
import { describe, expect, it } from 'vitest';
import { setState, showState } from '../../src/cli/state.js';
import { loadConfig } from '../../src/config.js';
import { RuntimeSettings } from '../../src/runtime-settings.js';
import { openStore } from '../../src/store/store.js';
import { runCli, startServer } from '../helpers/cli.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir();
const KEY = 'environment-key-0123456789abcdef';

/** A migrated database with `astraea` registered, as a server leaves it. */
function database(): string {
  const db = tempDbPath(dir);
  const store = openStore(db);
  store.targets.upsert({
    name: 'astraea',
    baseUrl: 'http://127.0.0.1:9',
    phrases: ['hey astraea'],
  });
  store.close();
  return db;
}

describe('echonet state', () => {
  it('shows the mode, changes it, and shows the history', async () => {
    const db = database();
    const env = { ECHONET_DB_PATH: db };
    const shown = await runCli(['state'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toBe('listen mode: trigger\n');

    const set = await runCli(
      ['state', 'set', 'active', '--target', 'Astraea', '--source-id', 'porch'],
      {
        env,
      },
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(
      "Listen mode for source 'porch' is now active (for astraea, 30 s left).\n",
    );
    const muted = await runCli(
      ['state', 'set', 'inactive', '--target', 'astraea', '--reason', 'night'],
      {
        env,
      },
    );
    expect(muted.code, muted.stderr).toBe(0);

    const after = await runCli(['state'], { env });
    expect(after.stdout).toMatch(
      /^listen mode: inactive\nper source:\n {2}porch {2}active \(for astraea, \d+ s left\)\n$/,
    );
    const json = JSON.parse((await runCli(['state', '--json'], { env })).stdout);
    expect(json).toMatchObject({
      listen_mode: 'inactive',
      active_target: null,
      sources: [{ source_id: 'porch', listen_mode: 'active', target: 'astraea' }],
    });

    const history = await runCli(['state', '--history'], { env });
    expect(history.code, history.stderr).toBe(0);
    const lines = history.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id +changed \(UTC\) +name +change +source +reason$/);
    expect(lines.slice(1).map((l) => l.split(/ {2,}/))).toEqual([
      ['3', expect.any(String), 'listen_mode', 'trigger -> inactive', 'cli:astraea', 'night'],
      [
        '2',
        expect.any(String),
        'listen_mode:porch',
        '- -> active',
        'cli:astraea',
        'set with echonet state set by astraea',
      ],
      ['1', expect.any(String), 'listen_mode', '- -> trigger', 'migration', 'Initial setup'],
    ]);
    const limited = JSON.parse(
      (
        await runCli(['state', '--history', '--name', 'listen_mode', '--limit', '1', '--json'], {
          env,
        })
      ).stdout,
    );
    expect(limited).toMatchObject({ count: 1, changes: [{ id: 3, source: 'cli:astraea' }] });
  });

  it.each([
    [
      ['state', 'set', 'loud', '--target', 'astraea'],
      'echonet: MODE must be one of inactive, trigger, active\n',
    ],
    [
      ['state', 'set', 'active', '--target', 'nobody'],
      "echonet: Target 'nobody' not found. Register the target first.\n",
    ],
    [['state', 'set', 'active'], "error: required option '--target <name>' not specified\n"],
    [
      ['state', '--history', '--limit', '0'],
      'echonet: --limit must be a whole number from 1 (at most 500 are returned)\n',
    ],
  ])('refuses %j with one line and changes nothing', async (args, stderr) => {
    const db = database();
    const res = await runCli(args, { env: { ECHONET_DB_PATH: db } });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toBe(stderr);
    const store = openStore(db);
    try {
      expect(store.settings.history({ limit: 10 })).toHaveLength(1);
    } finally {
      store.close();
    }
  });

  it('counts the time an active mode has left with the stored active_timeout_s, as a server does', () => {
    const db = database();
    const store = openStore(db);
    try {
      new RuntimeSettings(loadConfig({}), store.config).set('active_timeout_s', '90', {
        source: 'api',
      });
    } finally {
      store.close();
    }
    // The environment says 30; the value set through the API (or `echonet config set`) wins.
    const config = loadConfig({ ECHONET_DB_PATH: db, ECHONET_ACTIVE_TIMEOUT_S: '30' });
    const lines: string[] = [];
    const io = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
    setState(config, 'active', io, { target: 'astraea' });
    expect(lines).toEqual([
      expect.stringMatching(/^Listen mode is now active \(for astraea, (89|90) s left\)\.$/),
    ]);
    lines.length = 0;
    showState(config, io);
    expect(lines).toEqual([
      expect.stringMatching(/^listen mode: active \(for astraea, (89|90) s left\)$/),
    ]);
  });

  it('refuses a database that does not exist rather than create one', async () => {
    const db = tempDbPath(dir);
    const res = await runCli(['state'], { env: { ECHONET_DB_PATH: db } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/does not exist; start the server once first/);
  });

  it('changes the mode of a running server without a restart', async () => {
    const db = database();
    const env = { ECHONET_DB_PATH: db, ECHONET_API_KEY: KEY };
    const server = await startServer(env);
    try {
      const say = async () => {
        const res = await fetch(`${server.url}/text`, {
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ source_id: 'kitchen', text: 'hey astraea hello' }),
        });
        return ((await res.json()) as { reason: string }).reason;
      };
      expect(await say()).not.toBe('listen_mode_inactive');
      const set = await runCli(['state', 'set', 'inactive', '--target', 'astraea'], { env });
      expect(set.code, set.stderr).toBe(0);
      await waitFor(async () => (await say()) === 'listen_mode_inactive', {
        what: 'the server to follow the mode the CLI set',
      });
    } finally {
      await server.stop();
    }
  });
});
