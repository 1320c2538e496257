/**
 * Waiting for what a test is about rather than for a length of time. The bounds here are generous
 * on purpose: they only turn a hang into a failure that says what never happened, so a slow,
 * shared machine makes a test slower, never red.
 */

/** The default bound: far above anything a passing test needs on a loaded machine. */
export const GENEROUS_MS = 15_000;

export interface WaitOptions {
  /** Give up after this long (default GENEROUS_MS). */
  readonly timeoutMs?: number;
  /** What is awaited, for the failure message. */
  readonly what?: string;
  /** How often to look again (default 10 ms). */
  readonly intervalMs?: number;
}

/**
 * Resolves with the condition's first truthy value, checked now and then every `intervalMs`;
 * rejects (with the last error the condition threw, if any) once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = GENEROUS_MS, what = 'the condition', intervalMs = 10 } = options;
  const giveUpAt = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() > giveUpAt) {
      throw new Error(`waited ${timeoutMs} ms for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `promise`, or a rejection naming `what` if it has not settled within `timeoutMs`. */
export async function within<T>(
  promise: Promise<T>,
  timeoutMs: number = GENEROUS_MS,
  what = 'the promise',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not settle in ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}
