/**
 * Graceful shutdown of a real `echonet serve`: on SIGTERM/SIGINT it stops accepting connections,
 * lets in-flight requests finish their forwards (bounded by the HTTP timeout), closes the database
 * cleanly (WAL folded back, integrity ok) and exits 0.
 */
import { existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { Client } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../helpers/cli.js';
import { startRecordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor, within } from '../helpers/wait.js';
import { report } from './figures.js';
import { API_KEY, api, integrityCheck } from './lib.js';

/** What serve.ts logs when it has to cut connections that outlived the HTTP timeout. */
const CUT = 'closing connections still open';

let target: RecordingTarget;
let requests = 0;
let status5xx = 0;
const integrity: string[] = [];

afterAll(async () => {
  await target?.close();
  report('1-shutdown', {
    test: 'graceful shutdown',
    requests,
    status5xx,
    integrity: integrity.every((r) => r === 'ok') ? 'ok' : integrity.join(', '),
  });
});

/** Resolves with the error of a request on a brand-new connection, or undefined if it worked. */
async function newConnectionError(url: string): Promise<string | undefined> {
  const client = new Client(url, { connect: { timeout: 1000 } });
  try {
    await client.request({ path: '/health', method: 'GET', headers: { 'x-api-key': API_KEY } });
    return undefined;
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    return e.code === 'ECONNREFUSED' ? e.code : (e.cause?.code ?? e.code ?? String(err));
  } finally {
    await client.destroy();
  }
}

/**
 * Sends an utterance, and once its forward has reached the target, the signal. `held`: the target
 * answers when the test says, after checking that new connections are refused meanwhile (the HTTP
 * timeout is then long, so only the test ends the forward); `hang`: it never answers.
 */
async function textInFlight(signal: NodeJS.Signals, behaviour: 'held' | 'hang') {
  target ??= await startRecordingTarget();
  target.received.length = 0;
  target.behave({ kind: behaviour === 'held' ? 'hold' : 'hang' });
  const dbPath = tempDbPath();
  const server = await startServer({
    ECHONET_API_KEY: API_KEY,
    ECHONET_DB_PATH: dbPath,
    ECHONET_HTTP_TIMEOUT_S: behaviour === 'held' ? '60' : '1',
  });
  const reg = await api(server.url, 'POST', '/register', {
    name: 'jarvis',
    base_url: target.url,
    phrases: ['hey jarvis'],
  });
  requests++;
  expect(reg.status).toBe(200);

  let textAnswered = false;
  const text = api(server.url, 'POST', '/text', {
    source_id: 'kitchen',
    text: 'hey jarvis what time is it',
  }).finally(() => (textAnswered = true));
  requests++;
  // The utterance has reached the target: the forward is under way.
  await target.waitFor(1);
  const exitCode = server.stop(signal);
  let refusedWhileFinishing: string | undefined;
  let answeredBeforeRefusing: boolean | undefined;
  if (behaviour === 'held') {
    // The listener closes soon after the signal; the held forward is still under way meanwhile.
    refusedWhileFinishing = await waitFor(
      async () => ((await newConnectionError(server.url)) === 'ECONNREFUSED' ? 'ECONNREFUSED' : ''),
      { what: 'new connections to be refused', intervalMs: 20 },
    ).catch(() => 'still accepted');
    answeredBeforeRefusing = textAnswered;
    target.release();
  }
  const res = await text;
  if (res.status >= 500) status5xx++;
  // Keep-alive connections must not hold the exit back (Fastify keeps them 72 s by default): the
  // exit follows the answer without serve.ts having to cut anything.
  const code = await within(exitCode, undefined, 'the exit after the last answer');
  const refusedAfter = await newConnectionError(server.url);
  const check = integrityCheck(dbPath);
  integrity.push(check);
  const wal = `${dbPath}-wal`;
  return {
    res,
    code,
    refusedWhileFinishing,
    answeredBeforeRefusing,
    refusedAfter,
    check,
    walBytes: existsSync(wal) ? statSync(wal).size : 0,
    output: server.output(),
  };
}

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s finishes the in-flight forward, refuses new connections and exits 0',
    async (signal) => {
      const r = await textInFlight(signal, 'held');
      expect(r.res.status).toBe(200);
      expect(r.res.json()).toMatchObject({ routed_to: 'jarvis', forwarded: true });
      expect(r.code, r.output).toBe(0);
      expect(r.output).not.toContain(CUT);
      expect(r.refusedWhileFinishing).toBe('ECONNREFUSED');
      expect(r.answeredBeforeRefusing).toBe(false);
      expect(r.refusedAfter).toBe('ECONNREFUSED');
      expect(r.check).toBe('ok');
      // Closed cleanly: the write-ahead log was folded back into the file.
      expect(r.walBytes).toBe(0);
      expect(r.output).toContain('shutting down');
      expect(target.received).toHaveLength(1);
    },
  );

  it('does not wait longer than the HTTP timeout for a target that hangs', async () => {
    const r = await textInFlight('SIGTERM', 'hang');
    expect(r.res.status).toBe(200);
    expect(r.res.json()).toMatchObject({ forwarded: false, reason: 'forward_failed:timeout' });
    expect(r.code, r.output).toBe(0);
    // The forward's own timeout ended it: shutdown never reached the point (HTTP timeout + 2 s)
    // where it cuts what is still open, and the exit followed the answer.
    expect(r.output).not.toContain(CUT);
    expect(r.check).toBe('ok');
  });

  it('cuts a client that never finishes its request once the HTTP timeout has passed', async () => {
    const dbPath = tempDbPath();
    const server = await startServer({
      ECHONET_API_KEY: API_KEY,
      ECHONET_DB_PATH: dbPath,
      ECHONET_HTTP_TIMEOUT_S: '1',
    });
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const firstAnswer = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    // Half a request: headers promise a body that never comes. `Expect: 100-continue` makes the
    // server say when it has read the headers, so the signal finds the request under way.
    socket.write(
      'POST /text HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n{',
    );
    await within(firstAnswer, undefined, "the server's answer to the headers");
    const start = performance.now();
    const code = await within(server.stop('SIGTERM'), undefined, 'the exit');
    const ms = performance.now() - start;
    socket.destroy();
    expect(code, server.output()).toBe(0);
    // Not before the HTTP timeout (1 s) plus the 2 s of slack serve.ts allows.
    expect(ms).toBeGreaterThan(2500);
    expect(server.output()).toContain(CUT);
    const check = integrityCheck(dbPath);
    integrity.push(check);
    expect(check).toBe('ok');
  });
});
