/**
 * Crash safety: registrations acknowledged with a 200 survive `kill -9` of the server at any
 * moment. Each round, another process fires registrations from many connections, the server is
 * SIGKILLed at a random moment mid-storm and restarted on the same file: every acknowledged target
 * must be there with its phrases, and `PRAGMA integrity_check` must say ok.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/cli.js';
import { tempDbPath } from '../helpers/temp.js';
import { report } from './figures.js';
import { API_KEY, integrityCheck, listTargets, sleep, stormPhrase } from './lib.js';

const ROUNDS = 5;
const CONNECTIONS = 32;
/** The kill lands somewhere in this window after the storm's first acknowledgement. */
const KILL_AFTER_MS = [50, 1500] as const;

const STORM = fileURLToPath(new URL('./register-storm.ts', import.meta.url));

interface StormSummary {
  sent: number;
  acked: number;
  status5xx: number;
  otherStatus: number;
  networkErrors: number;
}

interface Storm {
  /** Resolves once the first registration has been acknowledged. */
  readonly firstAck: Promise<void>;
  readonly done: Promise<{ acked: string[]; summary: StormSummary }>;
}

function startStorm(url: string, prefix: string): Storm {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', STORM, url, API_KEY, prefix, String(CONNECTIONS), '1000000'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const acked: string[] = [];
  let out = '';
  let err = '';
  let resolveFirst: () => void = () => {};
  const firstAck = new Promise<void>((resolve) => (resolveFirst = resolve));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (line.startsWith('ack ')) {
        acked.push(line.slice(4));
        resolveFirst();
      } else if (line.startsWith('{')) {
        summaryLine = line;
      }
    }
  });
  let summaryLine = '';
  const done = new Promise<{ acked: string[]; summary: StormSummary }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || summaryLine === '') {
        reject(new Error(`storm exited with ${code}: ${err}`));
        return;
      }
      resolve({ acked, summary: JSON.parse(summaryLine) as StormSummary });
    });
  });
  return { firstAck, done };
}

const totals = { requests: 0, status5xx: 0, acknowledged: 0, found: 0 };
const integrity: string[] = [];
let server: RunningServer | undefined;

afterAll(async () => {
  await server?.stop('SIGKILL');
  report('2-crash', {
    test: `crash: kill -9 mid-storm (${ROUNDS} rounds)`,
    requests: totals.requests,
    status5xx: totals.status5xx,
    acknowledged: totals.acknowledged,
    found: totals.found,
    integrity:
      integrity.length > 0 && integrity.every((r) => r === 'ok') ? 'ok' : integrity.join(', '),
  });
});

describe('crash safety', () => {
  it(`keeps every acknowledged registration through ${ROUNDS} kill -9s mid-storm`, async () => {
    const dbPath = tempDbPath();
    const env = { ECHONET_API_KEY: API_KEY, ECHONET_DB_PATH: dbPath };
    const everAcked = new Set<string>();
    server = await startServer(env);

    for (let round = 1; round <= ROUNDS; round++) {
      const storm = startStorm(server.url, `r${round}`);
      await storm.firstAck;
      const [lo, hi] = KILL_AFTER_MS;
      await sleep(lo + Math.random() * (hi - lo));
      const code = await server.stop('SIGKILL');
      expect(code).toBeNull(); // killed, not exited
      const { acked, summary } = await storm.done;
      totals.requests += summary.sent;
      totals.status5xx += summary.status5xx;
      totals.acknowledged += acked.length;
      for (const name of acked) everAcked.add(name);
      expect(summary.status5xx).toBe(0);
      expect(summary.networkErrors).toBeGreaterThan(0); // the kill really was mid-storm
      expect(acked.length).toBeGreaterThan(0);

      // Restart on the same file: every registration ever acknowledged is there, phrases intact.
      server = await startServer(env);
      const targets = new Map((await listTargets(server.url)).map((t) => [t.name, t]));
      const missing = [...everAcked].filter((name) => !targets.has(name));
      const wrong = [...everAcked].filter(
        (name) => targets.has(name) && targets.get(name)?.phrases.join() !== stormPhrase(name),
      );
      const foundNow = acked.filter((name) => targets.has(name)).length;
      totals.found += foundNow;
      expect(missing, `round ${round}: acknowledged but missing`).toEqual([]);
      expect(wrong, `round ${round}: phrases changed`).toEqual([]);
      const check = integrityCheck(dbPath);
      integrity.push(check);
      expect(check).toBe('ok');
    }

    await server.stop('SIGTERM');
    integrity.push(integrityCheck(dbPath));
    expect(integrity.at(-1)).toBe('ok');
  });
});
