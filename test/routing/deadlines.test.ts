/**
 * Forward deadlines: never early, at most a tick late, shared within a tick, no timer when idle.
 * Fake timers (the keeper takes no socket): the test moves time, so a busy machine cannot.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineKeeper, tickFor } from '../../src/routing/deadlines.js';

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DeadlineKeeper', () => {
  it('aborts an overdue deadline once, not before its time', () => {
    const keeper = new DeadlineKeeper(10);
    const started = performance.now();
    const d = keeper.start(60);
    let fired = 0;
    let firedAt = 0;
    d.on('abort', () => {
      fired++;
      firedAt = performance.now() - started;
    });
    vi.advanceTimersByTime(30);
    expect(d.aborted).toBe(false);
    expect(d.passed).toBe(false);
    vi.advanceTimersByTime(200);
    expect(fired).toBe(1);
    expect(firedAt).toBeGreaterThanOrEqual(60);
    // At most a tick late: the window rounds up by at most one tick, the sweep by one more.
    expect(firedAt).toBeLessThanOrEqual(60 + 2 * 10);
    expect(d.aborted).toBe(true);
    expect(d.reason?.name).toBe('TimeoutError');
  });

  it('gives forwards started within one tick one shared deadline', () => {
    const keeper = new DeadlineKeeper(50);
    const a = keeper.start(100);
    const b = keeper.start(100);
    expect(b).toBe(a);
    expect(keeper.size).toBe(1);
    vi.advanceTimersByTime(60);
    const c = keeper.start(100);
    expect(c).not.toBe(a);
    expect(c.at).toBeGreaterThan(a.at);
  });

  it('stops its timer once every deadline has passed, and starts it again when needed', () => {
    const keeper = new DeadlineKeeper(10);
    expect(keeper.ticking).toBe(false);
    const first = keeper.start(20);
    expect(keeper.ticking).toBe(true);
    vi.advanceTimersByTime(100);
    expect(first.aborted).toBe(true);
    expect(keeper.ticking).toBe(false);
    expect(keeper.size).toBe(0);
    const d = keeper.start(20);
    expect(keeper.ticking).toBe(true);
    vi.advanceTimersByTime(100);
    expect(d.aborted).toBe(true);
    expect(keeper.ticking).toBe(false);
  });

  it('sweeps about every 5% of the timeout, within 10–250 ms', () => {
    expect(tickFor(10_000)).toBe(250);
    expect(tickFor(400)).toBe(20);
    expect(tickFor(50)).toBe(10);
  });
});
