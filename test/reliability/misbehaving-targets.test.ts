/**
 * Misbehaving targets against a real `echonet serve`: every failure gives `forwarded:false` with
 * its own reason within the HTTP timeout; a transient reset is retried once with the same
 * `event_id`; one slow target cannot exhaust the server (per-target cap → `target_busy`, other
 * targets and /health stay fast); health shows in GET /targets, and the circuit breaker skips a
 * failing target (`target_unavailable`) until a probe after the cool-down succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/cli.js';
import {
  closedPort,
  startRecordingTarget,
  type Behaviour,
  type RecordingTarget,
} from '../helpers/recording-target.js';
import { tempDbPath } from '../helpers/temp.js';
import { waitFor, within } from '../helpers/wait.js';
import { report } from './figures.js';
import { API_KEY, api, listTargets, type ApiResponse } from './lib.js';

/**
 * Long enough that the quick answers in 'one slow target' surely come before the slow forwards
 * give up, however loaded the machine; the tests assert the order, not the time.
 */
const TIMEOUT_S = 5;
const MAX_INFLIGHT = 8;
const BREAKER_FAILURES = 5;
const COOLDOWN_S = 1;

let server: RunningServer;
const targets: RecordingTarget[] = [];
const figures = { requests: 0, status5xx: 0 };

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResponse> {
  figures.requests++;
  const res = await api(server.url, method, path, body);
  if (res.status >= 500) figures.status5xx++;
  return res;
}

async function newTarget(name: string, behaviour: Behaviour): Promise<RecordingTarget> {
  const t = await startRecordingTarget();
  targets.push(t);
  t.behave(behaviour);
  const res = await call('POST', '/register', { name, base_url: t.url, phrases: [`hey ${name}`] });
  expect(res.status, res.body).toBe(200);
  return t;
}

interface TextAnswer {
  forwarded: boolean;
  reason: string;
  routed_to: string | null;
  event_id: string | null;
}

/** Counts answers as they arrive, so tests can tell which came first. */
let answered = 0;

async function say(name: string, source = `src-${Math.random()}`) {
  const res = await call('POST', '/text', { source_id: source, text: `hey ${name} hello` });
  expect(res.status, res.body).toBe(200);
  return { answer: res.json<TextAnswer>(), order: ++answered };
}

beforeAll(async () => {
  server = await startServer({
    ECHONET_API_KEY: API_KEY,
    ECHONET_DB_PATH: tempDbPath(),
    ECHONET_HTTP_TIMEOUT_S: String(TIMEOUT_S),
    ECHONET_TARGET_MAX_INFLIGHT: String(MAX_INFLIGHT),
    ECHONET_BREAKER_FAILURES: String(BREAKER_FAILURES),
    ECHONET_BREAKER_COOLDOWN_S: String(COOLDOWN_S),
  });
});

afterAll(async () => {
  const code = await server?.stop('SIGTERM');
  for (const t of targets) await t.close();
  report('4-misbehaving', {
    test: 'misbehaving targets',
    requests: figures.requests,
    status5xx: figures.status5xx,
  });
  expect(code).toBe(0);
});

describe('misbehaving targets', () => {
  it.each([
    ['status500', 'forward_failed:status_500', { kind: 'status', status: 500 }],
    ['reset', 'forward_failed:reset', { kind: 'reset' }],
    ['resetmid', 'forward_failed:reset', { kind: 'reset-mid-body' }],
    ['endless', 'forward_failed:timeout', { kind: 'endless-body' }],
    ['hangs', 'forward_failed:timeout', { kind: 'hang' }],
  ] as const)('%s → forwarded:false, %s, within the timeout', async (name, reason, behaviour) => {
    await newTarget(name, behaviour);
    // Every one gets an answer; a failure other than `timeout` came before the deadline, which
    // would otherwise have given `timeout`. How close to the timeout is the forwarder's test.
    const { answer } = await within(say(name), TIMEOUT_S * 1000 + 15_000, `the answer for ${name}`);
    expect(answer).toMatchObject({ routed_to: name, forwarded: false, reason });
  });

  it('refused connection → forward_failed:refused, at once', async () => {
    const port = await closedPort();
    const res = await call('POST', '/register', {
      name: 'refuses',
      base_url: `http://127.0.0.1:${port}`,
      phrases: ['hey refuses'],
    });
    expect(res.status).toBe(200);
    const { answer } = await say('refuses');
    // `refused`, not `timeout`: reported before the deadline.
    expect(answer).toMatchObject({ forwarded: false, reason: 'forward_failed:refused' });
  });

  it('retries a reset before any response once, with the same event_id', async () => {
    const t = await newTarget('flaky', { kind: 'reset-once' });
    const { answer } = await say('flaky');
    expect(answer).toMatchObject({ forwarded: true });
    const ids = t.received.map((r) => (r.body as { event_id: string }).event_id);
    expect(ids).toEqual([answer.event_id, answer.event_id]);
  });

  it('one slow target cannot exhaust the server', async () => {
    const slow = await newTarget('slow', { kind: 'hang' });
    await newTarget('healthy', { kind: 'status', status: 200 });
    const burst = Array.from({ length: 100 }, (_, i) => say('slow', `burst-${i}`));
    // The cap is reached: that many forwards hang at the slow target.
    await slow.waitFor(MAX_INFLIGHT, 15_000);
    // Meanwhile the server, and forwarding to other targets, stay quick: all answered while the
    // slow forwards still hang, before the first of them gives up.
    const quick: number[] = [];
    for (let i = 0; i < 5; i++) {
      const health = await call('GET', '/health');
      expect(health.status).toBe(200);
      const other = await say('healthy');
      expect(other.answer.forwarded).toBe(true);
      quick.push(other.order);
    }
    const results = await Promise.all(burst);
    expect(results.every((r) => !r.answer.forwarded)).toBe(true);
    const busy = results.filter((r) => r.answer.reason === 'target_busy');
    const timedOut = results.filter((r) => r.answer.reason === 'forward_failed:timeout');
    expect(timedOut).toHaveLength(MAX_INFLIGHT);
    expect(busy).toHaveLength(100 - MAX_INFLIGHT);
    const firstGaveUp = Math.min(...timedOut.map((r) => r.order));
    expect(Math.max(...quick)).toBeLessThan(firstGaveUp);
    // Refused without waiting: every target_busy came before the slow forwards ended.
    expect(Math.max(...busy.map((r) => r.order))).toBeLessThan(firstGaveUp);
    // At most the cap ever reached the target.
    expect(slow.received.length).toBeLessThanOrEqual(MAX_INFLIGHT);
  });

  it('shows health in GET /targets and breaks the circuit after repeated failures', async () => {
    const t = await newTarget('broken', { kind: 'status', status: 503 });
    for (let i = 0; i < BREAKER_FAILURES; i++) {
      expect((await say('broken')).answer.reason).toBe('forward_failed:status_503');
    }
    const listed = (await listTargets(server.url)).find((x) => x.name === 'broken');
    expect(listed?.health).toMatchObject({
      last_ok_at: null,
      last_error: 'status_503',
      consecutive_failures: BREAKER_FAILURES,
      breaker: 'open',
    });
    const seen = t.received.length;
    const skipped = await say('broken');
    // Skipped, so nothing to wait for: the target saw no request.
    expect(skipped.answer).toMatchObject({ forwarded: false, reason: 'target_unavailable' });
    expect(t.received).toHaveLength(seen);

    // The target recovers; after the cool-down one probe gets through and closes the breaker.
    t.behave({ kind: 'status', status: 200 });
    await waitFor(
      async () =>
        (await listTargets(server.url)).find((x) => x.name === 'broken')?.health?.breaker ===
        'half_open',
      { what: `the breaker to half-open after ${COOLDOWN_S} s` },
    );
    expect((await say('broken')).answer.forwarded).toBe(true);
    const after = (await listTargets(server.url)).find((x) => x.name === 'broken');
    expect(after?.health).toMatchObject({ consecutive_failures: 0, breaker: 'closed' });
    expect(typeof after?.health?.last_ok_at).toBe('number');

    // Every other target's health is there too, with its last error.
    const all = new Map((await listTargets(server.url)).map((x) => [x.name, x.health]));
    expect(all.get('status500')).toMatchObject({
      last_error: 'status_500',
      consecutive_failures: 1,
    });
    expect(all.get('hangs')).toMatchObject({ last_error: 'timeout' });
    expect(all.get('refuses')).toMatchObject({ last_error: 'refused' });
    expect(all.get('healthy')).toMatchObject({ last_error: null, consecutive_failures: 0 });
  });
});
