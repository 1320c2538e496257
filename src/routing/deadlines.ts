/**
 * Deadlines for forwards in flight, kept by one coarse timer. undici's own per-request timers
 * (headers, then body) create two timer objects per forward that live until undici's next 500 ms
 * tick, so they outlive two young-generation collections and pile up as old-space garbage; an
 * AbortSignal per forward cost more still. Here the forwards started within one tick share one
 * small emitter, and a sweep every `tickMs` (only while deadlines are pending) aborts the forwards
 * still in flight when theirs passes (bench/NOTES.md).
 */
import { EventEmitter } from 'node:events';

export class ForwardTimeout extends Error {
  override readonly name = 'TimeoutError';
  constructor() {
    super('forward deadline passed');
  }
}

/**
 * One forward's deadline, shared by the forwards of one tick: each listens for 'abort' (and
 * reads `aborted` and `reason`, like an AbortSignal) and stops listening when it ends.
 */
export class Deadline extends EventEmitter {
  aborted = false;
  reason: ForwardTimeout | undefined;

  /** `at`: performance.now() milliseconds. */
  constructor(readonly at: number) {
    super();
  }

  get passed(): boolean {
    return this.aborted || performance.now() >= this.at;
  }

  expire(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new ForwardTimeout();
    this.emit('abort');
  }
}

export class DeadlineKeeper {
  /** Unexpired deadlines, oldest first; forwards started within one tick share one. */
  readonly #windows: Deadline[] = [];
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;

  /** A deadline fires at most `tickMs` late, never early. */
  constructor(tickMs: number) {
    this.#tickMs = tickMs;
  }

  /**
   * A deadline at least `ms` from now. Forwards started within the same tick share one that
   * fires at the end of the window, so a steady stream of forwards allocates one per tick.
   */
  start(ms: number): Deadline {
    const now = performance.now();
    const windowEnd = (Math.floor(now / this.#tickMs) + 1) * this.#tickMs;
    const last = this.#windows.at(-1);
    if (last !== undefined && last.at === windowEnd + ms) return last;
    const deadline = new Deadline(windowEnd + ms);
    // Every forward of the window listens on it, one listener each.
    deadline.setMaxListeners(0);
    this.#windows.push(deadline);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), this.#tickMs);
      this.#timer.unref();
    }
    return deadline;
  }

  /** Deadlines not yet expired (for tests). */
  get size(): number {
    return this.#windows.length;
  }

  /** Whether the sweep timer is running (for tests). */
  get ticking(): boolean {
    return this.#timer !== undefined;
  }

  #sweep(): void {
    const now = performance.now();
    let expired = 0;
    while (expired < this.#windows.length && this.#windows[expired]!.at <= now) {
      this.#windows[expired]!.expire();
      expired++;
    }
    if (expired > 0) this.#windows.splice(0, expired);
    // Stopped only here, once nothing is left to expire, so a steady stream of forwards does not
    // start and stop a timer each.
    if (this.#windows.length === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** How often to sweep for a forward timeout of `timeoutMs`: ~5% late at most, 10–250 ms. */
export function tickFor(timeoutMs: number): number {
  return Math.min(250, Math.max(10, Math.round(timeoutMs / 20)));
}
