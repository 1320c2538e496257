/**
 * Forward deadlines: never early, at most a window late, shared within a window, no timer when
 * idle (the bound on real sockets: forward-timeout.test.ts). Fake timers (the keeper takes no
 * socket): the test moves time, so a busy machine cannot.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineKeeper } from '../../src/delivery/deadlines.js';

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
    // At most one window late: the deadline is rounded up to the next window boundary.
    expect(firedAt).toBeLessThanOrEqual(60 + 10);
    expect(d.aborted).toBe(true);
    expect(d.reason?.name).toBe('TimeoutError');
  });

  it('gives forwards started within one window one shared deadline', () => {
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
});
