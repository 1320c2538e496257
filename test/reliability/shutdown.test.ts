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
import { report } from './figures.js';
import { API_KEY, api, integrityCheck, sleep } from './lib.js';

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

async function textInFlight(signal: NodeJS.Signals, behaviour: 'slow' | 'hang') {
  target ??= await startRecordingTarget();
  target.received.length = 0;
  target.behave(behaviour === 'slow' ? { kind: 'delay', ms: 500 } : { kind: 'hang' });
  const dbPath = tempDbPath();
  const server = await startServer({
    ECHONET_API_KEY: API_KEY,
    ECHONET_DB_PATH: dbPath,
    ECHONET_HTTP_TIMEOUT_S: '1',
  });
  const reg = await api(server.url, 'POST', '/register', {
    name: 'jarvis',
    base_url: target.url,
    phrases: ['hey jarvis'],
  });
  requests++;
  expect(reg.status).toBe(200);

  const started = performance.now();
  const text = api(server.url, 'POST', '/text', {
    source_id: 'kitchen',
    text: 'hey jarvis what time is it',
  });
  requests++;
  // The utterance has reached the target: the forward is under way.
  await target.waitFor(1);
  const exitCode = server.stop(signal);
  await sleep(100);
  const refusedWhileFinishing = await newConnectionError(server.url);
  const res = await text;
  const elapsed = performance.now() - started;
  if (res.status >= 500) status5xx++;
  const answered = performance.now();
  const code = await exitCode;
  // Keep-alive connections must not hold the exit back (Fastify keeps them 72 s by default).
  const exitAfterAnswerMs = performance.now() - answered;
  const refusedAfter = await newConnectionError(server.url);
  const check = integrityCheck(dbPath);
  integrity.push(check);
  const wal = `${dbPath}-wal`;
  return {
    res,
    elapsed,
    code,
    exitAfterAnswerMs,
    refusedWhileFinishing,
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
      const r = await textInFlight(signal, 'slow');
      expect(r.res.status).toBe(200);
      expect(r.res.json()).toMatchObject({ routed_to: 'jarvis', forwarded: true });
      expect(r.code, r.output).toBe(0);
      expect(r.exitAfterAnswerMs).toBeLessThan(2000);
      expect(r.refusedWhileFinishing).toBe('ECONNREFUSED');
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
    expect(r.elapsed).toBeLessThan(1000 + 1500);
    expect(r.code, r.output).toBe(0);
    expect(r.exitAfterAnswerMs).toBeLessThan(2000);
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
    // Half a request: headers promise a body that never comes.
    socket.write(
      'POST /text HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    await sleep(100);
    const start = performance.now();
    const code = await server.stop('SIGTERM');
    const ms = performance.now() - start;
    socket.destroy();
    expect(code, server.output()).toBe(0);
    // HTTP timeout (1 s) plus the 2 s of slack serve.ts allows, plus scheduling.
    expect(ms).toBeGreaterThan(2500);
    expect(ms).toBeLessThan(5000);
    expect(server.output()).toContain('closing connections still open');
    const check = integrityCheck(dbPath);
    integrity.push(check);
    expect(check).toBe('ok');
  });
});
