/**
 * Bad messages logged without letting a broken (or hostile) publisher flood the log: the first of
 * each kind is written at once, the next of that kind no sooner than a minute later, saying how
 * many were dropped in between.
 */
import type { Clock } from '../clock.js';

export const PROBLEM_LOG_INTERVAL_MS = 60_000;

export interface WarnLog {
  warn(obj: object, msg: string): void;
}

export class ProblemLog {
  readonly #clock: Clock;
  readonly #log: WarnLog;
  readonly #kinds = new Map<string, { at: number; unlogged: number }>();

  constructor(clock: Clock, log: WarnLog) {
    this.#clock = clock;
    this.#log = log;
  }

  /** Notes one problem of `kind`; logs it unless one of that kind was logged within a minute. */
  note(kind: string, fields: object, message: string): void {
    const now = this.#clock.now();
    const last = this.#kinds.get(kind);
    if (last !== undefined && now - last.at < PROBLEM_LOG_INTERVAL_MS) {
      last.unlogged++;
      return;
    }
    const unlogged = last?.unlogged ?? 0;
    this.#kinds.set(kind, { at: now, unlogged: 0 });
    this.#log.warn(
      { kind, ...fields, ...(unlogged > 0 && { not_logged_since: unlogged }) },
      message,
    );
  }
}
