/**
 * The forwarder against real misbehaving targets on 127.0.0.1: each failure gives its own reason
 * within the timeout, and only a failure before any response is retried (with the same payload).
 */
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createForwarder,
  failureReason,
  MAX_RESPONSE_BYTES,
  type ForwardPayload,
} from '../../src/delivery/forwarder.js';
import {
  closedPort,
  startRecordingTarget,
  type RecordingTarget,
} from '../helpers/recording-target.js';
import { NO_ANSWER } from '../../src/delivery/target-answer.js';
import { SAMPLE_PAYLOAD } from '../helpers/slow-targets.js';
import { within } from '../helpers/wait.js';

const TIMEOUT_MS = 400;

const forwarder = createForwarder({ timeoutMs: TIMEOUT_MS, connectionsPerTarget: 4 });
/** For tests whose point is not the timeout: a loaded machine must not turn them into one. */
const patient = createForwarder({ timeoutMs: 30_000, connectionsPerTarget: 4 });
let target: RecordingTarget;

afterAll(async () => {
  await forwarder.close();
  await patient.close();
  await target.close();
});

beforeEach(async () => {
  target ??= await startRecordingTarget();
  target.received.length = 0;
  target.behave({ kind: 'status', status: 200 });
});

let n = 0;
/** A forward's payload with a fresh event id each time. */
function payload(): ForwardPayload {
  return { ...SAMPLE_PAYLOAD, event_id: `event-${++n}` };
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await p;
  return { value, ms: performance.now() - start };
}

describe('forward', () => {
  it('succeeds on a 2xx and sends the payload as JSON to /listen', async () => {
    const p = payload();
    const result = await patient.forward(`${target.url}/listen`, p);
    expect(result).toEqual({ ok: true, status: 200, attempts: 1, answer: NO_ANSWER });
    expect(target.received).toHaveLength(1);
    expect(target.received[0]?.path).toBe('/listen');
    expect(target.received[0]?.body).toEqual(p);
  });

  it('reports status_500 for a 500 and does not retry it', async () => {
    target.behave({ kind: 'status', status: 500 });
    const result = await patient.forward(`${target.url}/listen`, payload());
    expect(result).toEqual({ ok: false, reason: 'status_500', attempts: 1 });
    expect(target.received).toHaveLength(1);
  });

  it('reports refused for a closed port, after one quick retry', async () => {
    const port = await closedPort();
    const value = await forwarder.forward(`http://127.0.0.1:${port}/listen`, payload());
    // Both attempts share one deadline, and a passed deadline reports `timeout`: two refusals
    // mean both attempts ended before it, with no wait between them that reached it.
    expect(value).toEqual({ ok: false, reason: 'refused', attempts: 2 });
  });

  it('retries a connection reset before any response once, with the same event_id', async () => {
    target.behave({ kind: 'reset-once' });
    const p = payload();
    const result = await patient.forward(`${target.url}/listen`, p);
    expect(result).toEqual({ ok: true, status: 200, attempts: 2, answer: NO_ANSWER });
    expect(target.received.map((r) => (r.body as ForwardPayload).event_id)).toEqual([
      p.event_id,
      p.event_id,
    ]);
    expect(target.received[1]?.body).toEqual(target.received[0]?.body);
  });

  it('gives up with reset when the retry is reset too', async () => {
    target.behave({ kind: 'reset' });
    const result = await patient.forward(`${target.url}/listen`, payload());
    expect(result).toEqual({ ok: false, reason: 'reset', attempts: 2 });
    expect(target.received).toHaveLength(2);
  });

  it('reports reset, without retrying, when the connection breaks mid-response', async () => {
    target.behave({ kind: 'reset-mid-body' });
    const result = await patient.forward(`${target.url}/listen`, payload());
    expect(result).toEqual({ ok: false, reason: 'reset', attempts: 1 });
    expect(target.received).toHaveLength(1);
  });

  it.each([
    ['a target that hangs', 'hang'],
    ['a 200 whose body stops halfway', 'stalled-body'],
  ] as const)('reports timeout for %s, not before the timeout', async (_, kind) => {
    target.behave({ kind });
    // That it ends, and as a timeout; how soon after the timeout is test/delivery/forward-timeout's
    // business (a wall-clock bound here would only measure the machine's load).
    const { value, ms } = await timed(
      within(
        forwarder.forward(`${target.url}/listen`, payload()),
        undefined,
        `a forward to ${kind}`,
      ),
    );
    expect(value).toEqual({ ok: false, reason: 'timeout', attempts: 1 });
    // Timers are never early, so this lower bound cannot flake: the deadline ended it.
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });

  it('reports timeout for forwards still waiting for a connection when the deadline passes', async () => {
    target.behave({ kind: 'hang' });
    const single = createForwarder({ timeoutMs: TIMEOUT_MS, connectionsPerTarget: 1 });
    try {
      // One connection: the first forward holds it, the other two wait in undici's queue.
      const results = await Promise.all(
        [0, 1, 2].map(() => single.forward(`${target.url}/listen`, payload())),
      );
      for (const value of results) {
        expect(value).toEqual({ ok: false, reason: 'timeout', attempts: 1 });
      }
      // Each deadline counts from forward(), not from when the connection came free: the queued
      // forwards end with the first (or one keeper window later), so the target sees the first and
      // at most one more. Had each waited a timeout of its own once it got the connection, all
      // three would have reached the hanging target, whatever the machine's load.
      expect(target.received.length).toBeGreaterThanOrEqual(1);
      expect(target.received.length).toBeLessThan(3);
    } finally {
      await single.close();
    }
  });

  it('reports timeout for a 200 whose body never ends, within the timeout', async () => {
    target.behave({ kind: 'endless-body' });
    // A body that keeps coming must not keep the forward alive: it ends on the deadline (how
    // close to it is the bound test's business; here the point is that it ends at all).
    const value = await within(
      forwarder.forward(`${target.url}/listen`, payload()),
      undefined,
      'a forward to a never-ending body',
    );
    expect(value).toEqual({ ok: false, reason: 'timeout', attempts: 1 });
  });

  it('reports body_too_large for an answer over the limit', async () => {
    const big = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end(Buffer.alloc(MAX_RESPONSE_BYTES + 1, 'x')));
    });
    await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = big.address() as AddressInfo;
      const result = await patient.forward(`http://127.0.0.1:${port}/listen`, payload());
      expect(result).toEqual({ ok: false, reason: 'body_too_large', attempts: 1 });
    } finally {
      big.closeAllConnections();
      await new Promise<void>((resolve) => big.close(() => resolve()));
    }
  });

  it('keeps working after failures: the pool recovers', async () => {
    target.behave({ kind: 'reset-mid-body' });
    await patient.forward(`${target.url}/listen`, payload());
    target.behave({ kind: 'status', status: 204 });
    expect(await patient.forward(`${target.url}/listen`, payload())).toEqual({
      ok: true,
      status: 204,
      attempts: 1,
      answer: NO_ANSWER,
    });
  });
});

describe("a target's answer", () => {
  it('brings back the reply and end_session of a 2xx JSON answer, the payload unchanged', async () => {
    target.behave({
      kind: 'answer',
      body: JSON.stringify({ reply: 'The door is locked.', end_session: true, ok: true }),
    });
    const p = payload();
    const result = await patient.forward(`${target.url}/listen`, p);
    expect(result).toEqual({
      ok: true,
      status: 200,
      attempts: 1,
      answer: { reply: 'The door is locked.', truncated: false, endSession: true },
    });
    // What old targets were sent, and nothing more.
    expect(Object.keys(target.received[0]?.body as object).sort()).toEqual(
      ['confidence', 'event_id', 'mode', 'room', 'session_id', 'source_id', 'text', 'ts'].sort(),
    );
  });

  it('reads a reply sent in several chunks, with characters split between them', async () => {
    const reply = 'Grüße aus der Küche 🙂 '.repeat(80).trim();
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const bytes = Buffer.from(JSON.stringify({ reply }));
        res.writeHead(200, { 'content-type': 'application/json' });
        // Chunked encoding, one chunk per write, so the forwarder gets the body in pieces; odd-sized
        // ones, so multi-byte characters fall across them.
        for (let i = 0; i < bytes.length; i += 333) res.write(bytes.subarray(i, i + 333));
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await patient.forward(`http://127.0.0.1:${port}/listen`, payload());
      expect(result.ok && result.answer).toEqual({ reply, truncated: false, endSession: false });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it.each([
    ['plain text', 'Thanks!', 'text/plain'],
    ['broken JSON', '{"reply":', 'application/json'],
    ['a reply of the wrong type', '{"reply":["a","b"]}', 'application/json'],
  ])('is no reply, and still delivered, for %s', async (_, body, contentType) => {
    target.behave({ kind: 'answer', body, contentType });
    const result = await patient.forward(`${target.url}/listen`, payload());
    expect(result).toEqual({ ok: true, status: 200, attempts: 1, answer: NO_ANSWER });
  });

  it('ignores a reply that comes with a failure status', async () => {
    target.behave({ kind: 'answer', status: 503, body: '{"reply":"I am down"}' });
    const result = await patient.forward(`${target.url}/listen`, payload());
    expect(result).toEqual({ ok: false, reason: 'status_503', attempts: 1 });
  });
});

describe('failureReason', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, 'refused'],
    [{ code: 'ECONNRESET' }, 'reset'],
    [{ code: 'UND_ERR_SOCKET' }, 'reset'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'timeout'],
    [{ code: 'UND_ERR_BODY_TIMEOUT' }, 'timeout'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'timeout'],
    [{ name: 'TimeoutError' }, 'timeout'],
    [{ code: 'ENOTFOUND' }, 'dns'],
    [{ code: 'EHOSTUNREACH' }, 'unreachable'],
    [{ code: 'UND_ERR_SOCKET', cause: { code: 'ECONNRESET' } }, 'reset'],
    [{ code: 'SOMETHING', cause: { code: 'ECONNREFUSED' } }, 'refused'],
    [new Error('boom'), 'error'],
    [undefined, 'error'],
  ])('%o → %s', (err, reason) => {
    expect(failureReason(err)).toBe(reason);
  });
});
