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
import { report } from './figures.js';
import { API_KEY, api, listTargets, sleep, type ApiResponse } from './lib.js';

const TIMEOUT_S = 1;
const MAX_INFLIGHT = 8;
const BREAKER_FAILURES = 5;
const COOLDOWN_S = 1;
/** Process start-up and scheduling slack on a busy machine. */
const SLACK_MS = 1000;

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

async function say(name: string, source = `src-${Math.random()}`) {
  const start = performance.now();
  const res = await call('POST', '/text', { source_id: source, text: `hey ${name} hello` });
  expect(res.status, res.body).toBe(200);
  return { answer: res.json<TextAnswer>(), ms: performance.now() - start };
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
    const { answer, ms } = await say(name);
    expect(answer).toMatchObject({ routed_to: name, forwarded: false, reason });
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + SLACK_MS);
  });

  it('refused connection → forward_failed:refused, at once', async () => {
    const port = await closedPort();
    const res = await call('POST', '/register', {
      name: 'refuses',
      base_url: `http://127.0.0.1:${port}`,
      phrases: ['hey refuses'],
    });
    expect(res.status).toBe(200);
    const { answer, ms } = await say('refuses');
    expect(answer).toMatchObject({ forwarded: false, reason: 'forward_failed:refused' });
    expect(ms).toBeLessThan(SLACK_MS);
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
    await sleep(200);
    // Meanwhile the server, and forwarding to other targets, stay quick.
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      const health = await call('GET', '/health');
      expect(health.status).toBe(200);
      const other = await say('healthy');
      expect(other.answer.forwarded).toBe(true);
      expect(performance.now() - start).toBeLessThan(500);
    }
    const results = await Promise.all(burst);
    expect(results.every((r) => !r.answer.forwarded)).toBe(true);
    const busy = results.filter((r) => r.answer.reason === 'target_busy');
    const timedOut = results.filter((r) => r.answer.reason === 'forward_failed:timeout');
    expect(timedOut).toHaveLength(MAX_INFLIGHT);
    expect(busy).toHaveLength(100 - MAX_INFLIGHT);
    // Refused without waiting.
    expect(Math.max(...busy.map((r) => r.ms))).toBeLessThan(SLACK_MS);
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
    expect(skipped.answer).toMatchObject({ forwarded: false, reason: 'target_unavailable' });
    expect(skipped.ms).toBeLessThan(SLACK_MS);
    expect(t.received).toHaveLength(seen);

    // The target recovers; after the cool-down one probe gets through and closes the breaker.
    t.behave({ kind: 'status', status: 200 });
    await sleep(COOLDOWN_S * 1000 + 100);
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
