/**
 * GET /metrics: the Prometheus text of one app, behind the API key unless ECHONET_METRICS_PUBLIC,
 * counting real requests, decisions, forwards to real targets (one that answers, one whose port
 * refuses) and a real Wyoming client, with the live gauges read at scrape time.
 */
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, register, startTestApp } from '../helpers/app.js';
import { recordingTarget, type RecordingTarget } from '../helpers/recording-target.js';
import { ask, transcript, WyomingClient } from '../helpers/wyoming-client.js';
import { waitFor } from '../helpers/wait.js';
import { startWyomingApp } from '../wyoming/helpers.js';

let target: RecordingTarget;

/** Samples by `name{labels}` as written (labels in prom-client's order: as declared). */
type Samples = Map<string, number>;

function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function scrape(t: {
  request(o: { method: 'GET'; url: string }): Promise<{
    statusCode: number;
    body: string;
    headers: Record<string, unknown>;
  }>;
}): Promise<Samples & { text: string }> {
  const res = await t.request({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return Object.assign(parse(res.body), { text: res.body });
}

/** A local port nothing listens on: a forward there is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('GET /metrics', () => {
  it('needs the API key, unless ECHONET_METRICS_PUBLIC is true', async () => {
    const t = await startTestApp();
    const refused = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ ok: false, error: 'missing X-API-Key header' });
    const wrong = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { 'x-api-key': 'nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect((await scrape(t)).get('echonet_targets_registered')).toBe(0);

    const open = await startTestApp({
      ECHONET_METRICS_PUBLIC: 'true',
      ECHONET_ALLOWLIST: '192.168.1.0/24',
    });
    const res = await open.app.inject({
      method: 'GET',
      url: '/metrics',
      remoteAddress: '192.168.1.20',
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('# TYPE echonet_decisions_total counter');
    // Public is keyless, not open to everyone: the allowlist still answers first.
    const outsider = await open.app.inject({
      method: 'GET',
      url: '/metrics',
      remoteAddress: '10.9.9.9',
    });
    expect(outsider.statusCode).toBe(403);
    // Other routes still need the key.
    const targets = await open.app.inject({
      method: 'GET',
      url: '/targets',
      remoteAddress: '192.168.1.20',
    });
    expect(targets.statusCode).toBe(401);
  });

  it('refuses a bad ECHONET_METRICS_PUBLIC with a line naming it and what it accepts', async () => {
    await expect(startTestApp({ ECHONET_METRICS_PUBLIC: 'sometimes' })).rejects.toThrow(
      /ECHONET_METRICS_PUBLIC.*true or false/,
    );
  });

  it("includes Node's default process metrics, on the app's own registry", async () => {
    const t = await startTestApp();
    // The app runs in this process: its first scrape counts the CPU used since the process started
    // (prom-client's own counters would start at the first scrape, at about 0).
    const before = process.cpuUsage();
    const m = await scrape(t);
    expect(before.user).toBeGreaterThan(0);
    expect(m.get('process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(before.user / 1e6);
    expect(m.get('process_cpu_system_seconds_total')).toBeGreaterThanOrEqual(before.system / 1e6);
    expect(m.get('process_cpu_seconds_total')).toBeGreaterThanOrEqual(
      (before.user + before.system) / 1e6,
    );
    expect(m.get('nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
    expect(m.text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    // Node's delay monitor has no sample yet at the first scrape (it starts then): no summary,
    // rather than a minimum of 2^63 ns and a mean of NaN.
    expect(m.text).not.toContain('nodejs_eventloop_lag_min_seconds');
    expect(m.text).not.toContain('nodejs_eventloop_lag_p99_seconds');
    // Once the loop has turned for a while, the summary is there, each figure a real delay.
    const later = await waitFor(
      async () => {
        const next = await scrape(t);
        return next.has('nodejs_eventloop_lag_min_seconds') ? next : undefined;
      },
      { what: 'the event-loop delay summary', intervalMs: 50 },
    );
    for (const stat of ['min', 'max', 'mean', 'p50', 'p99']) {
      const seconds = later.get(`nodejs_eventloop_lag_${stat}_seconds`);
      expect(seconds, stat).toBeGreaterThan(0);
      expect(seconds, stat).toBeLessThan(60);
    }
    expect(later.get('nodejs_eventloop_lag_min_seconds')).toBeLessThanOrEqual(
      later.get('nodejs_eventloop_lag_max_seconds')!,
    );
    // A second app has its own registry (no "already registered" clash) and its own counts.
    const other = await startTestApp();
    await other.request({ method: 'POST', url: '/text', payload: { source_id: 'a', text: 'hi' } });
    const mine = await scrape(t);
    const theirs = await scrape(other);
    expect(mine.get('echonet_utterances_total{front_end="http"}')).toBe(0);
    expect(theirs.get('echonet_utterances_total{front_end="http"}')).toBe(1);
  });

  it('counts requests by method, route pattern and status, refused and unmatched ones too', async () => {
    const t = await startTestApp();
    await t.request({ method: 'GET', url: '/health' });
    await t.request({ method: 'GET', url: '/health' });
    await t.request({ method: 'DELETE', url: '/targets/nobody' });
    await t.app.inject({ method: 'GET', url: '/targets' });
    await t.request({ method: 'GET', url: '/no/such/route' });
    const m = await scrape(t);
    expect(m.get('echonet_http_requests_total{method="GET",route="/health",status="200"}')).toBe(2);
    expect(
      m.get('echonet_http_requests_total{method="DELETE",route="/targets/:name",status="404"}'),
    ).toBe(1);
    expect(m.get('echonet_http_requests_total{method="GET",route="/targets",status="401"}')).toBe(
      1,
    );
    expect(m.get('echonet_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(
      1,
    );
    // The label is the pattern, never the URL.
    expect(m.text).not.toContain('nobody');
    // The scrape itself is counted once it has answered: seen by the next one.
    const again = await scrape(t);
    expect(
      again.get('echonet_http_requests_total{method="GET",route="/metrics",status="200"}'),
    ).toBe(1);
  });

  it('counts decisions by mode and reason and utterances per front end, without the words', async () => {
    target ??= await recordingTarget();
    const t = await startTestApp();
    await register(t, 'astraea', target.url, ['hey astraea', 'ok astraea']);
    const say = (text: string, source_id = 'kitchen') =>
      t.request({ method: 'POST', url: '/text', payload: { source_id, text } });
    await say('hey astraea lights on');
    await say('and the hall');
    await say('the weather is nice', 'porch');
    await say('ok astraea cancel');
    const m = await scrape(t);
    expect(m.get('echonet_decisions_total{mode="session_open",reason="trigger_phrase"}')).toBe(1);
    expect(m.get('echonet_decisions_total{mode="session_continue",reason="session_active"}')).toBe(
      1,
    );
    expect(m.get('echonet_decisions_total{mode="idle",reason="no_trigger_no_session"}')).toBe(1);
    expect(m.get('echonet_utterances_total{front_end="http"}')).toBe(4);
    expect(m.get('echonet_utterances_total{front_end="wyoming"}')).toBe(0);
    expect(m.get('echonet_utterances_total{front_end="mqtt"}')).toBe(0);
    // Neither what was said nor the phrases are labels.
    expect(m.text).not.toMatch(/hey astraea|lights|weather/);
    expect(m.get('echonet_targets_registered')).toBe(1);
    expect(m.get('echonet_phrases_registered')).toBe(2);
  });

  it('reports forward latency, failures and breaker state per target, a fallback included', async () => {
    target ??= await recordingTarget();
    target.behave({ kind: 'status', status: 200 });
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const t = await startTestApp({
      ECHONET_BREAKER_FAILURES: '2',
      ECHONET_FALLBACK_TARGET: 'helper',
    });
    await register(t, 'astraea', target.url, ['hey astraea']);
    await register(t, 'broken', dead, ['hey broken']);
    await register(t, 'helper', target.url, ['hey helper']);
    const say = (text: string) =>
      t.request({ method: 'POST', url: '/text', payload: { source_id: 'desk', text } });
    await say('hey astraea one');
    await say('hey astraea two');
    // Refused twice (the fallback takes each), then the breaker is open.
    expect((await say('hey broken one')).json()).toMatchObject({
      forwarded: true,
      routed_to: 'helper',
      intended_target: 'broken',
    });
    await say('hey broken two');
    expect((await say('hey broken three')).json()).toMatchObject({
      reason: 'fallback:target_unavailable',
    });
    const m = await scrape(t);
    expect(m.get('echonet_forward_duration_seconds_count{target="astraea"}')).toBe(2);
    // The manual clock stands still: each forward took 0 s, in the first bucket.
    expect(m.get('echonet_forward_duration_seconds_bucket{le="0.005",target="astraea"}')).toBe(2);
    expect(m.get('echonet_forward_duration_seconds_bucket{le="+Inf",target="astraea"}')).toBe(2);
    expect(m.get('echonet_forward_duration_seconds_sum{target="astraea"}')).toBe(0);
    expect(m.get('echonet_forward_duration_seconds_count{target="helper"}')).toBe(3);
    expect(
      m.get('echonet_forward_failures_total{target="broken",failure="forward_failed:refused"}'),
    ).toBe(2);
    expect(
      m.get('echonet_forward_failures_total{target="broken",failure="target_unavailable"}'),
    ).toBe(1);
    expect(m.get('echonet_target_breaker_state{target="broken",state="open"}')).toBe(1);
    expect(m.get('echonet_target_breaker_state{target="broken",state="closed"}')).toBe(0);
    expect(m.get('echonet_target_breaker_state{target="astraea",state="closed"}')).toBe(1);
    expect(m.get('echonet_target_consecutive_failures{target="broken"}')).toBe(2);
    expect(m.get('echonet_target_in_flight{target="astraea"}')).toBe(0);
    // Registered and never forwarded to: no series of its own, counted closed in the aggregate.
    await register(t, 'quiet', target.url, ['hey quiet']);
    const after = await scrape(t);
    expect([...after.keys()].filter((k) => k.includes('target="quiet"'))).toEqual([]);
    expect(after.get('echonet_target_breakers{state="open"}')).toBe(1);
    expect(after.get('echonet_target_breakers{state="half_open"}')).toBe(0);
    expect(after.get('echonet_target_breakers{state="closed"}')).toBe(3);
    // The reason after a fallback keeps the failure: a fixed set, no words.
    expect(
      m.get(
        'echonet_decisions_total{mode="session_switch",reason="fallback:forward_failed:refused"}',
      ),
    ).toBe(1);
    expect(
      m.get('echonet_decisions_total{mode="session_open",reason="fallback:target_unavailable"}'),
    ).toBe(1);
  });

  it('counts failures of a fallback that fails too, against the fallback', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const t = await startTestApp({ ECHONET_FALLBACK_TARGET: 'helper' });
    await register(t, 'broken', dead, ['hey broken']);
    await register(t, 'helper', dead, ['hey helper']);
    await t.request({
      method: 'POST',
      url: '/text',
      payload: { source_id: 'desk', text: 'hey broken on' },
    });
    const m = await scrape(t);
    expect(
      m.get('echonet_forward_failures_total{target="broken",failure="forward_failed:refused"}'),
    ).toBe(1);
    expect(
      m.get('echonet_forward_failures_total{target="helper",failure="forward_failed:refused"}'),
    ).toBe(1);
  });

  it('shows open conversations, the listen mode and the decision log queue, live', async () => {
    target ??= await recordingTarget();
    target.behave({ kind: 'status', status: 200 });
    const t = await startTestApp({ ECHONET_ADMIN_KEY: ADMIN_KEY });
    await register(t, 'astraea', target.url, ['hey astraea']);
    const say = (source_id: string) =>
      t.request({ method: 'POST', url: '/text', payload: { source_id, text: 'hey astraea hi' } });
    await say('kitchen');
    await say('hall');
    let m = await scrape(t);
    expect(m.get('echonet_sessions_open')).toBe(2);
    expect(m.get('echonet_listen_mode{mode="trigger"}')).toBe(1);
    expect(m.get('echonet_listen_mode{mode="active"}')).toBe(0);
    expect(m.get('echonet_decision_log_dropped_total')).toBe(0);
    expect(m.has('echonet_decision_log_queued')).toBe(true);

    // One conversation times out (the session timeout, 60 s by default), one is ended by the API.
    await t.request({ method: 'DELETE', url: '/sessions/kitchen' });
    m = await scrape(t);
    expect(m.get('echonet_sessions_open')).toBe(1);
    t.clock.advance(3600);
    m = await scrape(t);
    expect(m.get('echonet_sessions_open')).toBe(0);

    const put = await t.request({
      method: 'PUT',
      url: '/state',
      payload: { target: 'astraea', source: 'test', state: 'active' },
    });
    expect(put.statusCode).toBe(200);
    await t.request({
      method: 'PUT',
      url: '/state',
      payload: { target: 'astraea', source: 'test', state: 'inactive', source_id: 'porch' },
    });
    m = await scrape(t);
    expect(m.get('echonet_listen_mode{mode="active"}')).toBe(1);
    expect(m.get('echonet_listen_mode{mode="trigger"}')).toBe(0);
    expect(m.get('echonet_listen_mode_scoped_sources{mode="inactive"}')).toBe(1);
    expect(m.get('echonet_listen_mode_scoped_sources{mode="active"}')).toBe(0);
  });

  it('shows each front end: Wyoming ports, connections and utterances, and the MQTT state', async () => {
    target ??= await recordingTarget();
    target.behave({ kind: 'status', status: 200 });
    let mqtt = 'reconnecting';
    const t = await startWyomingApp({}, { mqttStatus: () => mqtt });
    await register(t, 'astraea', target.url, ['hey astraea']);
    let m = await scrape(t);
    expect(m.get('echonet_wyoming_ports')).toBe(1);
    expect(m.get('echonet_wyoming_connections')).toBe(0);
    expect(m.get('echonet_front_end_up{front_end="wyoming"}')).toBe(1);
    // Injected requests only: the HTTP server is not listening.
    expect(m.get('echonet_front_end_up{front_end="http"}')).toBe(0);
    expect(m.get('echonet_mqtt_state{state="reconnecting"}')).toBe(1);
    expect(m.get('echonet_mqtt_state{state="connected"}')).toBe(0);
    expect(m.get('echonet_front_end_up{front_end="mqtt"}')).toBe(0);

    const answer = await ask(t.port, transcript('hey astraea lights on'));
    expect(answer.type).toBe('handled');
    const client = await WyomingClient.connect(t.port);
    try {
      await waitFor(async () => (await scrape(t)).get('echonet_wyoming_connections') === 1);
    } finally {
      client.close();
    }
    mqtt = 'connected';
    m = await scrape(t);
    expect(m.get('echonet_utterances_total{front_end="wyoming"}')).toBe(1);
    expect(m.get('echonet_mqtt_state{state="connected"}')).toBe(1);
    expect(m.get('echonet_front_end_up{front_end="mqtt"}')).toBe(1);
    await waitFor(async () => (await scrape(t)).get('echonet_wyoming_connections') === 0);
  });

  it('reports mqtt off when no MQTT front end is wired', async () => {
    const t = await startTestApp();
    const m = await scrape(t);
    expect(m.get('echonet_mqtt_state{state="off"}')).toBe(1);
  });
});
