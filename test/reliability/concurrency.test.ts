/**
 * Concurrency: 200 clients mixing register, delete, text and list against a real `echonet serve`
 * for 30 s, while the CLI backs up, merges and fully replaces the registry in a loop on the same
 * file. Zero 5xx, zero "database is locked" (in answers, CLI output and the server log), and at the
 * end the server's view equals the file's (`echonet inspect --json`) and routes every phrase.
 */
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Pool } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startServer, type CliResult } from '../helpers/cli.js';
import { startRecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { report } from './figures.js';
import { API_KEY, integrityCheck, listTargets, type TargetJson } from './lib.js';

const CLIENTS = 200;
const DURATION_MS = 30_000;

const WORDS = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliet',
  'kilo',
  'lima',
  'mike',
  'november',
  'oscar',
  'papa',
  'quebec',
  'romeo',
  'sierra',
  'tango',
  'uniform',
  'victor',
  'whiskey',
  'xray',
  'yankee',
  'zulu',
  'apple',
  'banana',
  'cherry',
  'damson',
];
const LOCKED = /database is locked|SQLITE_BUSY/i;

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

const figures = { requests: 0, status5xx: 0, locked: 0, integrity: '' };

afterAll(() => {
  report('3-concurrency', {
    test: `concurrency: ${CLIENTS} clients, ${DURATION_MS / 1000} s + CLI backup/restore`,
    requests: figures.requests,
    status5xx: figures.status5xx,
    locked: figures.locked,
    integrity: figures.integrity,
  });
});

describe('concurrency', () => {
  it(`stays correct under ${CLIENTS} clients with backup and restore running`, async () => {
    const target = await startRecordingTarget();
    const dbPath = tempDbPath();
    const dir = tempDir();
    const env = { ECHONET_API_KEY: API_KEY, ECHONET_DB_PATH: dbPath };
    const server = await startServer({ ...env, ECHONET_TARGET_MAX_INFLIGHT: '64' });
    const pool = new Pool(server.url, { connections: CLIENTS });

    const statuses = new Map<string, number>();
    const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
    const problems: string[] = [];
    const deadline = Date.now() + DURATION_MS;

    async function call(method: string, path: string, body?: unknown): Promise<void> {
      figures.requests++;
      const res = await pool.request({
        method: method as 'GET',
        path,
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.body.text();
      count(`${method} ${path.split('/')[1]} ${res.statusCode}`);
      if (res.statusCode >= 500) {
        figures.status5xx++;
        problems.push(`${method} ${path} → ${res.statusCode} ${text}`);
      }
      if (LOCKED.test(text)) {
        figures.locked++;
        problems.push(`${method} ${path} → ${text}`);
      }
    }

    async function client(id: number): Promise<void> {
      while (Date.now() < deadline) {
        const word = pick(WORDS);
        const roll = Math.random();
        if (roll < 0.35) {
          await call('POST', '/text', {
            source_id: `client-${id % 50}`,
            text: `hey ${pick(WORDS)} turn on the lights`,
          });
        } else if (roll < 0.6) {
          await call('GET', '/targets');
        } else if (roll < 0.85) {
          await call('POST', '/register', {
            name: word,
            base_url: target.url,
            phrases: [`hey ${word}`],
          });
        } else {
          await call('DELETE', `/targets/${word}`);
        }
      }
    }

    /** backup → merge restore → backup → full replace restore, until the load stops. */
    const cliRuns: CliResult[] = [];
    async function cliLoop(): Promise<void> {
      const backup = join(dir, 'backup.json');
      while (Date.now() < deadline) {
        for (const args of [
          ['backup', '-o', backup],
          ['restore', backup, '--merge', '--yes'],
          ['backup', '-o', backup],
          ['restore', backup, '--yes'],
        ]) {
          const r = await runCli(args, { env, timeoutMs: 30_000 });
          cliRuns.push(r);
          if (r.code !== 0) problems.push(`echonet ${args.join(' ')} → ${r.code}: ${r.stderr}`);
          if (LOCKED.test(r.stderr + r.stdout)) figures.locked++;
        }
      }
    }

    try {
      await Promise.all([
        ...Array.from({ length: CLIENTS }, (_, i) =>
          client(i).catch((err: unknown) => {
            problems.push(`client ${i}: ${String(err)}`);
          }),
        ),
        cliLoop(),
      ]);

      // Quiet now: the file no longer changes; wait for the server to notice the CLI's last write.
      const inspected = await runCli(['inspect', '--json'], { env });
      expect(inspected.code, inspected.stderr).toBe(0);
      const onFile = (JSON.parse(inspected.stdout) as { targets: TargetJson[] }).targets;
      const strip = (list: readonly TargetJson[]) =>
        list.map(({ name, base_url, listen_url, phrases }) => ({
          name,
          base_url,
          listen_url,
          phrases,
        }));
      let served: TargetJson[] = [];
      const same = async () =>
        isDeepStrictEqual(strip((served = await listTargets(server.url))), strip(onFile));
      await waitFor(same, { what: "the server's view to match the file" }).catch(() => undefined);
      expect(strip(served)).toEqual(strip(onFile));

      // The routing table agrees with the registry: every registered phrase routes to its owner,
      // and the phrases of deleted targets route nowhere. The table follows another process's
      // write once the server has noticed it and rebuilt (in the worker), so wait for it.
      const registered = new Set(served.map((t) => t.name));
      const misrouted = async () => {
        const wrong: string[] = [];
        for (const word of WORDS) {
          const res = await pool.request({
            method: 'POST',
            path: '/route/preview',
            headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ text: `hey ${word} are you there` }),
          });
          const preview = (await res.body.json()) as { routed_to: string | null };
          const expected = registered.has(word) ? word : null;
          if (preview.routed_to !== expected) wrong.push(`${word} → ${preview.routed_to}`);
        }
        return wrong;
      };
      let wrong: string[] = [];
      await waitFor(async () => (wrong = await misrouted()).length === 0, {
        what: 'the routing table to match the registry',
      }).catch(() => undefined);
      expect(wrong).toEqual([]);
    } finally {
      await pool.close();
      await server.stop('SIGTERM');
      await target.close();
    }

    const log = server.output();
    const lockedInLog = log.split('\n').filter((l) => LOCKED.test(l));
    figures.locked += lockedInLog.length;
    figures.integrity = integrityCheck(dbPath);

    const summary = [...statuses.entries()].sort().map(([k, v]) => `${k}: ${v}`);
    console.log(`${figures.requests} requests, ${cliRuns.length} CLI runs\n${summary.join('\n')}`);
    expect(problems.slice(0, 10)).toEqual([]);
    expect(lockedInLog.slice(0, 5)).toEqual([]);
    expect(figures.status5xx).toBe(0);
    expect(figures.locked).toBe(0);
    expect(cliRuns.length).toBeGreaterThanOrEqual(8);
    expect(figures.integrity).toBe('ok');
  });
});
