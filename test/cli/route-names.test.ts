/** `echonet route` with names and a default target: as a front end hears it, with the stored settings. */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../helpers/cli.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();

function seeded(): string {
  const db = tempDbPath(dir);
  const store = openStore(db);
  store.targets.upsert({ name: 'astraea', baseUrl: 'http://a:1', phrases: ['hey astraea'] });
  store.targets.upsert({ name: 'echo_bell', baseUrl: 'http://e:1', phrases: ['ring ring'] });
  store.close();
  return db;
}

const json = async (args: string[], env?: Record<string, string>) => {
  const res = await runCli(['route', ...args, '--json'], { env });
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Record<string, unknown>;
};

describe('echonet route --front-end', () => {
  it('lets a name wake its target as Wyoming hears it, not as HTTP does', async () => {
    const db = seeded();
    expect(await json(['Echo bell, ring the door', '--db-path', db])).toMatchObject({
      mode: 'idle',
    });
    expect(
      await json(['Echo bell, ring the door', '--front-end', 'wyoming', '--db-path', db]),
    ).toMatchObject({
      mode: 'session_open',
      routed_to: 'echo_bell',
      reason: 'trigger_name:echo_bell',
      forward_text: 'ring the door',
    });
  });

  it('follows the stored match_names and the default target', async () => {
    const db = seeded();
    const set = await runCli(['config', 'set', 'match_names', 'off', '--db-path', db]);
    expect(set.code, set.stderr).toBe(0);
    expect(
      await json(['Astraea, lights', '--front-end', 'wyoming', '--db-path', db]),
    ).toMatchObject({ mode: 'idle' });
    expect(
      await json(['lights please', '--db-path', db], { ECHONET_DEFAULT_TARGET: 'astraea' }),
    ).toMatchObject({ mode: 'session_open', routed_to: 'astraea', reason: 'default_target' });
  });

  it('refuses a front end it does not know, in one line', async () => {
    const res = await runCli(['route', 'hi', '--front-end', 'telegraph', '--db-path', seeded()]);
    expect(res.code).toBe(1);
    expect(res.stderr.trimEnd().split('\n')).toEqual([
      "error: option '--front-end <name>' argument 'telegraph' is invalid. must be one of http, wyoming, mqtt",
    ]);
  });
});
