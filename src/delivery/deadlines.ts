/**
 * Deadlines for forwards in flight, kept by one timer. undici's own per-request timers (headers,
 * then body) create two timer objects per forward that live until undici's next 500 ms tick, so
 * they outlive two young-generation collections and pile up as old-space garbage; an AbortSignal
 * per forward cost more still (bench/NOTES.md). Here deadlines are rounded up to the next
 * multiple of `windowMs`, so the forwards whose deadlines fall in one window share one small
 * emitter, and a single timer is aimed at the earliest pending deadline. A deadline therefore
 * fires never early and at most `windowMs` late, plus however long the event loop is busy when
 * the timer is due.
 */
import { EventEmitter } from 'node:events';

/** How late a forward's deadline may fire, at most (the README and config state this bound). */
export const DEADLINE_SLACK_MS = 10;

export class ForwardTimeout extends Error {
  override readonly name = 'TimeoutError';
  constructor() {
    super('forward deadline passed');
  }
}

/**
 * One forward's deadline, shared by the forwards whose deadlines fall in one window: each listens
 * for 'abort' (and reads `aborted` and `reason`, like an AbortSignal) and stops listening when it
 * ends.
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
  /** Unexpired deadlines, earliest first. */
  readonly #pending: Deadline[] = [];
  readonly #windowMs: number;
  #timer: NodeJS.Timeout | undefined;

  /** A deadline fires at most `windowMs` late, never early. */
  constructor(windowMs: number = DEADLINE_SLACK_MS) {
    this.#windowMs = windowMs;
  }

  /**
   * A deadline at least `ms` and at most `ms + windowMs` from now. A steady stream of forwards
   * allocates one per window, not one per forward.
   */
  start(ms: number): Deadline {
    const w = this.#windowMs;
    // The next window boundary strictly after now + ms: never early, at most one window late.
    const at = (Math.floor((performance.now() + ms) / w) + 1) * w;
    const pending = this.#pending;
    // The forwarder passes the same `ms` until http_timeout_s changes, so the deadline is usually
    // the last one or a new last one; others are put in order.
    let i = pending.length;
    while (i > 0 && pending[i - 1]!.at > at) i--;
    const previous = pending[i - 1];
    if (previous !== undefined && previous.at === at) return previous;
    const deadline = new Deadline(at);
    // Every forward of the window listens on it, one listener each.
    deadline.setMaxListeners(0);
    pending.splice(i, 0, deadline);
    if (i === 0) this.#arm();
    return deadline;
  }

  /** Deadlines not yet expired (for tests). */
  get size(): number {
    return this.#pending.length;
  }

  /** Whether a timer is pending (for tests): only while some deadline is. */
  get ticking(): boolean {
    return this.#timer !== undefined;
  }

  /** Aims the one timer at the earliest pending deadline, or stops it when none is left. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const first = this.#pending[0];
    if (first === undefined) return;
    // Node's timers count from the event loop's cached time and may fire up to a millisecond
    // early; #fire then finds nothing due and aims again.
    const wait = Math.max(1, Math.ceil(first.at - performance.now()));
    this.#timer = setTimeout(() => this.#fire(), wait);
    this.#timer.unref();
  }

  #fire(): void {
    const now = performance.now();
    const pending = this.#pending;
    let expired = 0;
    while (expired < pending.length && pending[expired]!.at <= now) expired++;
    const due = pending.splice(0, expired);
    this.#arm();
    for (const deadline of due) deadline.expire();
  }
}
