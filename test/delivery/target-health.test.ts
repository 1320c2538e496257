/**
 * Per-target health: the in-flight cap, the circuit breaker (open → half-open probe → closed), and
 * how it shows through POST /text and GET /targets on a real app with real targets.
 */
import { describe, expect, it } from 'vitest';
import { TargetHealth } from '../../src/delivery/target-health.js';
import { ManualClock, register, startTestApp } from '../helpers/app.js';
import { startRecordingTarget } from '../helpers/recording-target.js';

function health(overrides: Partial<ConstructorParameters<typeof TargetHealth>[0]> = {}) {
  const clock = new ManualClock();
  const h = new TargetHealth({
    maxInflight: 2,
    breakerFailures: 3,
    cooldownMs: 10_000,
    clock,
    ...overrides,
  });
  return { h, clock };
}

/** Admits a forward to `name` and settles it with `outcome`, failing the test if refused. */
function forward(h: TargetHealth, name: string, ok: boolean): void {
  const a = h.admit(name);
  if (!a.ok) throw new Error(`refused: ${a.reason}`);
  a.settle(ok ? { ok: true } : { ok: false, reason: 'refused' });
}

describe('TargetHealth', () => {
  it('starts with no history and a closed breaker', () => {
    expect(health().h.view('any')).toEqual({
      last_ok_at: null,
      last_error: null,
      last_error_at: null,
      consecutive_failures: 0,
      breaker: 'closed',
      in_flight: 0,
    });
  });

  it('caps forwards in flight per target and frees the slot when one settles', () => {
    const { h } = health();
    const a = h.admit('slow');
    const b = h.admit('slow');
    expect(h.admit('slow')).toEqual({ ok: false, reason: 'target_busy' });
    expect(h.admit('other').ok).toBe(true);
    expect(h.view('slow').in_flight).toBe(2);
    if (!a.ok || !b.ok) throw new Error('expected admissions');
    a.settle({ ok: true });
    a.settle({ ok: true }); // a second settle is ignored
    expect(h.view('slow').in_flight).toBe(1);
    expect(h.admit('slow').ok).toBe(true);
  });

  it('records the last success, the last error and the failure count', () => {
    const { h, clock } = health();
    forward(h, 't', true);
    clock.advance(5);
    forward(h, 't', false);
    expect(h.view('t')).toMatchObject({
      last_ok_at: Date.UTC(2026, 0, 1) / 1000,
      last_error: 'refused',
      last_error_at: Date.UTC(2026, 0, 1) / 1000 + 5,
      consecutive_failures: 1,
      breaker: 'closed',
    });
    forward(h, 't', true);
    expect(h.view('t').consecutive_failures).toBe(0);
    expect(h.view('t').last_error).toBe('refused');
  });

  it('opens after repeated failures, lets one probe through after the cool-down, closes on success', () => {
    const { h, clock } = health();
    for (let i = 0; i < 3; i++) forward(h, 't', false);
    expect(h.view('t').breaker).toBe('open');
    expect(h.admit('t')).toEqual({ ok: false, reason: 'target_unavailable' });
    clock.advance(9.9);
    expect(h.admit('t')).toEqual({ ok: false, reason: 'target_unavailable' });
    clock.advance(0.1);
    expect(h.view('t').breaker).toBe('half_open');
    const probe = h.admit('t');
    expect(probe).toMatchObject({ ok: true, probe: true });
    // Only one probe at a time.
    expect(h.admit('t')).toEqual({ ok: false, reason: 'target_unavailable' });
    if (!probe.ok) throw new Error('expected the probe');
    probe.settle({ ok: true });
    expect(h.view('t')).toMatchObject({ breaker: 'closed', consecutive_failures: 0 });
    expect(h.admit('t')).toMatchObject({ ok: true, probe: false });
  });

  it('opens again for a full cool-down when the probe fails', () => {
    const { h, clock } = health();
    for (let i = 0; i < 3; i++) forward(h, 't', false);
    clock.advance(10);
    forward(h, 't', false);
    expect(h.view('t')).toMatchObject({ breaker: 'open', consecutive_failures: 4 });
    clock.advance(9);
    expect(h.admit('t')).toEqual({ ok: false, reason: 'target_unavailable' });
    clock.advance(1);
    expect(h.admit('t').ok).toBe(true);
  });

  it('never opens with breakerFailures 0', () => {
    const { h } = health({ breakerFailures: 0 });
    for (let i = 0; i < 50; i++) forward(h, 't', false);
    expect(h.view('t')).toMatchObject({ breaker: 'closed', consecutive_failures: 50 });
  });

  it('forgets a target on reset and targets no longer registered on retain', () => {
    const { h } = health();
    for (let i = 0; i < 3; i++) forward(h, 'a', false);
    forward(h, 'b', false);
    h.reset('a');
    expect(h.view('a').breaker).toBe('closed');
    h.retain(['a']);
    expect(h.view('b').consecutive_failures).toBe(0);
  });
});

describe('health through the API', () => {
  it('shows in GET /targets, trips the breaker, probes after the cool-down; registering again keeps it at the same address, resets it at another', async () => {
    const target = await startRecordingTarget();
    const t = await startTestApp({
      ECHONET_BREAKER_FAILURES: '3',
      ECHONET_BREAKER_COOLDOWN_S: '30',
    });
    try {
      await register(t, 'jarvis', target.url, ['hey jarvis']);
      const text = async (source = 'kitchen') =>
        (
          await t.request({
            method: 'POST',
            url: '/text',
            payload: { source_id: source, text: 'hey jarvis lights on' },
          })
        ).json<{ forwarded: boolean; reason: string }>();
      const healthOf = async () =>
        (await t.request({ method: 'GET', url: '/targets' })).json<{
          targets: { name: string; listen_url: string; health: Record<string, unknown> }[];
        }>().targets[0];

      expect(await text()).toMatchObject({ forwarded: true });
      const now = t.clock.now() / 1000;
      expect(await healthOf()).toMatchObject({
        name: 'jarvis',
        listen_url: `${target.url}/listen`,
        health: { last_ok_at: now, last_error: null, consecutive_failures: 0, breaker: 'closed' },
      });

      target.behave({ kind: 'status', status: 500 });
      for (let i = 0; i < 3; i++)
        expect(await text()).toMatchObject({
          forwarded: false,
          reason: 'forward_failed:status_500',
        });
      expect((await healthOf())?.health).toMatchObject({
        last_ok_at: now,
        last_error: 'status_500',
        consecutive_failures: 3,
        breaker: 'open',
      });

      // Skipped while open: the target sees nothing more.
      const seen = target.received.length;
      expect(await text()).toMatchObject({ forwarded: false, reason: 'target_unavailable' });
      expect(target.received).toHaveLength(seen);

      // After the cool-down one probe goes through; its success closes the breaker.
      target.behave({ kind: 'status', status: 200 });
      t.clock.advance(30);
      expect(await text()).toMatchObject({ forwarded: true });
      expect((await healthOf())?.health).toMatchObject({
        breaker: 'closed',
        consecutive_failures: 0,
      });

      // Re-registering at the same address keeps the target's health (its breaker stays open);
      // at another address it starts afresh.
      target.behave({ kind: 'status', status: 503 });
      for (let i = 0; i < 3; i++) await text();
      expect((await healthOf())?.health).toMatchObject({ breaker: 'open' });
      await register(t, 'jarvis', target.url, ['hey jarvis', 'hi jarvis']);
      expect((await healthOf())?.health).toMatchObject({
        last_error: 'status_503',
        consecutive_failures: 3,
        breaker: 'open',
      });
      await register(t, 'jarvis', `${target.url}/v2`, ['hey jarvis']);
      expect((await healthOf())?.health).toMatchObject({
        last_ok_at: null,
        last_error: null,
        consecutive_failures: 0,
        breaker: 'closed',
      });
    } finally {
      await t.close();
      await target.close();
    }
  });

  it('forgets the health of a target moved or removed by another process (CLI restore)', async () => {
    const t = await startTestApp({ ECHONET_BREAKER_FAILURES: '2' });
    try {
      await register(t, 'moved', 'http://127.0.0.1:9', ['hey moved']);
      await register(t, 'gone', 'http://127.0.0.1:9', ['hey gone']);
      for (const name of ['moved', 'moved', 'gone']) {
        await t.request({
          method: 'POST',
          url: '/text',
          payload: { source_id: name, text: `hey ${name} hello` },
        });
      }
      expect(t.store.targets.all()).toHaveLength(2);
      const healthByName = async () =>
        new Map(
          (await t.request({ method: 'GET', url: '/targets' }))
            .json<{ targets: { name: string; health: { consecutive_failures: number } }[] }>()
            .targets.map((x) => [x.name, x.health]),
        );
      expect((await healthByName()).get('moved')).toMatchObject({ consecutive_failures: 2 });
      // The same write a restore makes: one target moves to a new address, the other is gone.
      t.store.targets.replaceAll(
        [{ name: 'moved', baseUrl: 'http://127.0.0.1:10', phrases: ['hey moved'] }],
        { merge: false },
      );
      const after = await healthByName();
      expect([...after.keys()]).toEqual(['moved']);
      expect(after.get('moved')).toMatchObject({ consecutive_failures: 0, breaker: 'closed' });
    } finally {
      await t.close();
    }
  });

  it('fails fast with target_busy beyond ECHONET_TARGET_MAX_INFLIGHT, other targets unaffected', async () => {
    const slow = await startRecordingTarget();
    const fast = await startRecordingTarget();
    // Held until released, so the two admitted forwards keep their slots whatever the load; the
    // long timeout leaves the release to the test.
    slow.behave({ kind: 'hold' });
    const t = await startTestApp({
      ECHONET_TARGET_MAX_INFLIGHT: '2',
      ECHONET_HTTP_TIMEOUT_S: '60',
    });
    try {
      await register(t, 'slow', slow.url, ['hey slow']);
      await register(t, 'fast', fast.url, ['hey fast']);
      const send = (source: string, text: string) =>
        t
          .request({ method: 'POST', url: '/text', payload: { source_id: source, text } })
          .then((r) => r.json<{ forwarded: boolean; reason: string }>());
      const pending = [1, 2, 3, 4].map((i) => send(`s${i}`, 'hey slow hello'));
      const other = await send('s9', 'hey fast hello');
      expect(other).toMatchObject({ forwarded: true });
      await slow.waitFor(2);
      slow.release();
      const results = await Promise.all(pending);
      expect(results.filter((r) => r.forwarded)).toHaveLength(2);
      expect(results.filter((r) => r.reason === 'target_busy')).toHaveLength(2);
      // Busy is not the target's fault: it does not count towards the breaker.
      const list = (await t.request({ method: 'GET', url: '/targets' })).json<{
        targets: { name: string; health: { consecutive_failures: number; in_flight: number } }[];
      }>();
      expect(list.targets.find((x) => x.name === 'slow')?.health).toMatchObject({
        consecutive_failures: 0,
        in_flight: 0,
      });
    } finally {
      await t.close();
      await slow.close();
      await fast.close();
    }
  });

  it('keeps the in-flight count when a target registers again at the same address (the cap holds)', async () => {
    const slow = await startRecordingTarget();
    // Held until released, so the two forwards keep their slots across the re-registration.
    slow.behave({ kind: 'hold' });
    const t = await startTestApp({ ECHONET_TARGET_MAX_INFLIGHT: '2' });
    try {
      await register(t, 'slow', slow.url, ['hey slow']);
      const send = (source: string) =>
        t
          .request({
            method: 'POST',
            url: '/text',
            payload: { source_id: source, text: 'hey slow hi' },
          })
          .then((r) => r.json<{ forwarded: boolean; reason: string }>());
      const hanging = [send('a'), send('b')];
      await slow.waitFor(2);
      // The same target, the same address, a phrase more: its two forwards are still in flight.
      await register(t, 'slow', slow.url, ['hey slow', 'hi slow']);
      expect(await send('c')).toMatchObject({ forwarded: false, reason: 'target_busy' });
      expect(slow.received).toHaveLength(2);
      const list = (await t.request({ method: 'GET', url: '/targets' })).json<{
        targets: { name: string; health: { in_flight: number } }[];
      }>();
      expect(list.targets[0]?.health.in_flight).toBe(2);
      // Released, both are delivered and free their slots.
      slow.behave({ kind: 'status', status: 200 });
      slow.release();
      for (const r of await Promise.all(hanging)) expect(r).toMatchObject({ forwarded: true });
      expect(await send('d')).toMatchObject({ forwarded: true });
    } finally {
      await t.close();
      await slow.close();
    }
  });
});
