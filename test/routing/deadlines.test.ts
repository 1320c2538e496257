/**
 * Forward deadlines: never early, at most a window late, shared within a window, no timer when
 * idle (the bound itself: forward-timeout.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { DeadlineKeeper } from '../../src/routing/deadlines.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DeadlineKeeper', () => {
  it('aborts an overdue deadline once, not before its time', async () => {
    const keeper = new DeadlineKeeper(10);
    const started = performance.now();
    const d = keeper.start(60);
    let fired = 0;
    let firedAt = 0;
    d.on('abort', () => {
      fired++;
      firedAt = performance.now() - started;
    });
    await sleep(30);
    expect(d.aborted).toBe(false);
    expect(d.passed).toBe(false);
    await sleep(200);
    expect(fired).toBe(1);
    expect(firedAt).toBeGreaterThanOrEqual(60);
    expect(d.aborted).toBe(true);
    expect(d.reason?.name).toBe('TimeoutError');
  });

  it('gives forwards started within one tick one shared deadline', async () => {
    const keeper = new DeadlineKeeper(50);
    const a = keeper.start(100);
    const b = keeper.start(100);
    expect(b).toBe(a);
    expect(keeper.size).toBe(1);
    await sleep(60);
    const c = keeper.start(100);
    expect(c).not.toBe(a);
    expect(c.at).toBeGreaterThan(a.at);
  });

  it('stops its timer once every deadline has passed, and starts it again when needed', async () => {
    const keeper = new DeadlineKeeper(10);
    expect(keeper.ticking).toBe(false);
    const first = keeper.start(20);
    expect(keeper.ticking).toBe(true);
    await sleep(100);
    expect(first.aborted).toBe(true);
    expect(keeper.ticking).toBe(false);
    expect(keeper.size).toBe(0);
    const d = keeper.start(20);
    expect(keeper.ticking).toBe(true);
    await sleep(100);
    expect(d.aborted).toBe(true);
    expect(keeper.ticking).toBe(false);
  });
});
