/**
 * What Echonet knows about each target's recent behaviour, in memory and per process: forwards in
 * flight (capped, so one slow target cannot take every socket and request), the last success and
 * failure, and a circuit breaker that stops forwarding to a target after repeated failures.
 *
 * Breaker: after `breakerFailures` consecutive failures the target is skipped (`target_unavailable`)
 * for `cooldownMs`; then one probe forward is let through (half-open). Its success closes the
 * breaker, its failure opens it for another cool-down. Any success resets the count.
 * Health is keyed by target name. A target registered again at the same address keeps it (its
 * forwards in flight still count against the cap); at another address, or once deleted, it starts
 * afresh (text-handler.ts, when the new routing table is swapped in).
 */
import type { Clock } from '../clock.js';

export interface TargetHealthOptions {
  /** Most forwards to one target at once; more fail fast with `target_busy`. */
  readonly maxInflight: number;
  /** Consecutive failures that open the breaker; 0 never opens it. */
  readonly breakerFailures: number;
  /** How long an open breaker skips the target before letting a probe through. */
  readonly cooldownMs: number;
  readonly clock: Clock;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/** A target's health as GET /targets shows it; times are unix seconds. */
export interface HealthView {
  last_ok_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  consecutive_failures: number;
  breaker: BreakerState;
  in_flight: number;
}

/** Why a forward was not attempted. */
export type Refusal = 'target_busy' | 'target_unavailable';

/** A forward that was let through; `settle` it exactly once with how it went. */
export interface Admission {
  readonly ok: true;
  /** True when this is the one request allowed through a half-open breaker. */
  readonly probe: boolean;
  settle(outcome: { ok: true } | { ok: false; reason: string }): void;
}

export type AdmitResult = Admission | { readonly ok: false; readonly reason: Refusal };

interface Entry {
  inflight: number;
  lastOkAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  failures: number;
  /** Server time (ms) until which the breaker is open; null when closed. */
  openUntil: number | null;
  probing: boolean;
}

const fresh = (): Entry => ({
  inflight: 0,
  lastOkAt: null,
  lastError: null,
  lastErrorAt: null,
  failures: 0,
  openUntil: null,
  probing: false,
});

export class TargetHealth {
  readonly #options: TargetHealthOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: TargetHealthOptions) {
    this.#options = options;
  }

  /** Lets a forward to `target` through, or says why not. */
  admit(target: string): AdmitResult {
    const e = this.#entry(target);
    const now = this.#options.clock.now();
    let probe = false;
    if (e.openUntil !== null) {
      if (now < e.openUntil || e.probing) return { ok: false, reason: 'target_unavailable' };
      probe = true;
    }
    if (e.inflight >= this.#options.maxInflight) return { ok: false, reason: 'target_busy' };
    e.inflight++;
    if (probe) e.probing = true;
    let settled = false;
    return {
      ok: true,
      probe,
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        e.inflight--;
        if (probe) e.probing = false;
        this.#record(e, outcome);
      },
    };
  }

  #record(e: Entry, outcome: { ok: true } | { ok: false; reason: string }): void {
    const now = this.#options.clock.now();
    if (outcome.ok) {
      e.lastOkAt = now;
      e.failures = 0;
      e.openUntil = null;
      return;
    }
    e.lastError = outcome.reason;
    e.lastErrorAt = now;
    e.failures++;
    const threshold = this.#options.breakerFailures;
    if (threshold > 0 && e.failures >= threshold) e.openUntil = now + this.#options.cooldownMs;
  }

  view(target: string): HealthView {
    const e = this.#entries.get(target) ?? fresh();
    const now = this.#options.clock.now();
    return {
      last_ok_at: seconds(e.lastOkAt),
      last_error: e.lastError,
      last_error_at: seconds(e.lastErrorAt),
      consecutive_failures: e.failures,
      breaker: e.openUntil === null ? 'closed' : now < e.openUntil ? 'open' : 'half_open',
      in_flight: e.inflight,
    };
  }

  /**
   * The targets with a history here: forwarded to (or refused) since start or since they last
   * registered at a new address. Every other target is in the state `view` gives an unknown
   * one: breaker closed, nothing in flight, no failures.
   */
  tracked(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** Forgets `target`'s history (it registered again at a new address). */
  reset(target: string): void {
    this.#entries.delete(target);
  }

  /** Forgets every target not in `names` (they were deleted). */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const name of this.#entries.keys()) if (!keep.has(name)) this.#entries.delete(name);
  }

  #entry(target: string): Entry {
    let e = this.#entries.get(target);
    if (e === undefined) {
      e = fresh();
      this.#entries.set(target, e);
    }
    return e;
  }
}

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);
