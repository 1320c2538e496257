/**
 * Time as Echonet sees it; tests pass a manual clock to step through session expiry, arbitration
 * windows and anything else that waits.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once `ms` have passed on this clock (the manual clock: once a test advances it that
   * far). The timer never keeps the process alive.
   */
  after(ms: number, fn: () => void): Timer;
}

export interface Timer {
  /** Stops the timer; nothing happens if it already fired. */
  cancel(): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, Math.min(ms, MAX_TIMEOUT_MS)));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** setTimeout's own ceiling (about 24.8 days); a longer wait is cut to it. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;
