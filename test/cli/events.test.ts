/**
 * `echonet events`, run as a real child process on the database of a real server (`echonet serve`,
 * another process): the readable table, --json, --source, and --follow printing decisions as the
 * server makes them.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { line } from '../../src/cli/events.js';
import type { StoredEvent } from '../../src/store/events.js';
import { CLI, cleanEnv, runCli, startServer, type RunningServer } from '../helpers/cli.js';
import { makePythonDb } from '../helpers/python-db.js';
import { startRecordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'events-cli-key-0123456789abcdef';
const dir = tempDir();
let server: RunningServer | undefined;
let target: RecordingTarget | undefined;
afterAll(async () => {
  await server?.stop();
  await target?.close();
});

async function post(path: string, body: object): Promise<Response> {
  return fetch(`${server!.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function say(source_id: string, text: string): Promise<string> {
  const res = await post('/text', { source_id, text });
  expect(res.status).toBe(200);
  return ((await res.json()) as { event_id: string }).event_id;
}

describe('echonet events', () => {
  const db = tempDbPath(dir);
  const env = { ECHONET_DB_PATH: db };

  it('prints one line per decision, with why, oldest first; --source and --json', async () => {
    target = await startRecordingTarget();
    server = await startServer({ ECHONET_DB_PATH: db, ECHONET_API_KEY: KEY });
    const reg = await post('/register', {
      name: 'doorman',
      base_url: target.url,
      phrases: ['hey doorman'],
    });
    expect(reg.status).toBe(200);
    await say('porch', 'hey doorman who is there');
    await say('gate', 'hey doormat open up');
    const last = await say('kitchen', 'tea \u001b[31mplease');
    const shown = await waitFor(
      async () => {
        const r = await runCli(['events', '--json'], { env });
        return r.stdout.includes(last) ? r : undefined;
      },
      { what: 'the last decision in the log' },
    );
    const rows = shown.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.source_id)).toEqual(['porch', 'gate', 'kitchen']);
    expect(rows[1].near_miss).toMatchObject({ target: 'doorman', matched_text: 'hey doormat' });

    const table = await runCli(['events'], { env });
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^time \(UTC\)\s+source\s+mode\s+target\s+why$/);
    expect(lines[1]).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}porch\s+session_open\s+doorman\s+trigger_phrase:hey doorman → 200 \d+ ms {2}"hey doorman who is there"$/,
    );
    expect(lines[2]).toMatch(
      /gate\s+idle\s+-\s+no_trigger_no_session \(nearest 'hey doorman' at 0\.86\) {2}"hey doormat open up"$/,
    );
    // A transcript's control characters never reach the terminal.
    expect(lines[3]).toContain('"tea ?[31mplease"');

    const gate = await runCli(['events', '--source', 'gate', '-n', '1'], { env });
    expect(gate.stdout.trim().split('\n').slice(1)).toEqual([lines[2]]);
  });

  it('--follow prints each new decision as the server writes it', async () => {
    const child = spawn(process.execPath, [CLI, 'events', '--follow', '--source', 'hall'], {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('time (UTC)'), { what: 'the header' });
      await say('kitchen', 'not for the hall');
      await say('hall', 'first in the hall');
      await waitFor(() => out.includes('"first in the hall"'), { what: 'the hall decision' });
      await say('hall', 'second in the hall');
      await waitFor(() => out.includes('"second in the hall"'), { what: 'the next one' });
      expect(out).not.toContain('not for the hall');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('refuses a bad --limit and a database without a log in one line', async () => {
    const bad = await runCli(['events', '-n', '0'], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(
      /-n, --limit <count>' argument '0' is invalid\. must be an integer from 1 to 500/,
    );
    const missing = await runCli(['events'], { env: { ECHONET_DB_PATH: `${dir}/none.db` } });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/does not exist/);
    // A file the Python service made (v3): read as it is, never upgraded by this command.
    const python = tempDbPath(dir);
    makePythonDb(python, 3, []);
    const before = readFileSync(python);
    const old = await runCli(['events'], { env: { ECHONET_DB_PATH: python } });
    expect(readFileSync(python).equals(before)).toBe(true);
    expect(old.code).toBe(1);
    expect(old.stderr).toBe(
      `echonet: database ${python} has no decision log yet (schema version 3); start the server once to upgrade it\n`,
    );
  });
});

describe('one line per decision', () => {
  it('says who won a duplicate wake, and how alike an echo was', () => {
    const base = stored({ sourceId: 'panel', room: 'kitchen', reason: 'duplicate_wake' });
    const contender = { front_end: 'http', text: null, confidence: null, chars_after_wake: 9 };
    const arbitration = {
      kind: 'wake',
      room: 'kitchen',
      target: 'astraea',
      window_ms: 300,
      winner: 'sat',
      contenders: [
        { ...contender, source_id: 'panel', after_ms: 0 },
        { ...contender, source_id: 'sat', after_ms: 40 },
      ],
    } as const;
    expect(line({ ...base, detail: { arbitration } })).toContain('duplicate_wake (sat won)');
    const winner = { ...base, sourceId: 'sat', reason: 'trigger_phrase:hey astraea' };
    expect(line({ ...winner, detail: { arbitration } })).toContain(
      'trigger_phrase:hey astraea (won over 1 in kitchen)',
    );
    const echo = {
      room: 'kitchen',
      reply: 'Lights on.',
      reply_event_id: 'e-7',
      after_ms: 900,
      similarity: 1,
      contained: true,
    };
    expect(line({ ...base, reason: 'echo_of_reply', detail: { echo } })).toContain(
      'echo_of_reply (similarity 1.00)',
    );
  });

  it('names the target a fallback stood in for, and a reply that was cut', () => {
    const text = line(
      stored({
        mode: 'session_open',
        reason: 'fallback:forward_failed:refused',
        target: 'echobell',
        match: { phrase: 'hey astraea', matchedText: 'hey astraea', score: 1, exact: true },
        sessionId: 's-1',
        sessionChange: 'opened',
        forwarded: true,
        status: 200,
        latencyMs: 12.4,
        failure: 'forward_failed:refused',
        intendedTarget: 'astraea',
        reply: 'The news…',
        replyTruncated: true,
      }),
    );
    expect(text).toBe(
      '2026-11-30 09:12:45  kitchen       session_open      echobell      ' +
        'fallback:forward_failed:refused (meant for astraea) → 200 (reply cut) 12 ms  ' +
        '"hey astraea read me the news"',
    );
  });
});

/** A logged event for `line`, as the decision log would hand it back. */
function stored(over: Partial<StoredEvent>): StoredEvent {
  return {
    seq: 7,
    id: 'e-7',
    receivedAt: Date.UTC(2026, 10, 30, 9, 12, 45),
    sourceId: 'kitchen',
    room: null,
    text: 'hey astraea read me the news',
    confidence: null,
    listenMode: 'trigger',
    mode: 'idle',
    reason: 'no_trigger_no_session',
    target: null,
    match: null,
    sessionId: null,
    sessionChange: null,
    forwarded: false,
    status: null,
    latencyMs: null,
    failure: null,
    intendedTarget: null,
    reply: null,
    replyTruncated: false,
    frontEnd: 'http',
    conversationId: null,
    detail: null,
    nearMiss: null,
    privacy: 'full',
    ...over,
  };
}
