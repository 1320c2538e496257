/**
 * Delivering one routed utterance: the forward to the chosen target through its health checks (the
 * in-flight cap, the circuit breaker), and, when that target fails in a way that means it never
 * took the utterance or is down, one more forward to the fallback target (ECHONET_FALLBACK_TARGET).
 * The router has decided by then; nothing here changes sessions (the text handler applies an
 * answer's end_session).
 */
import type { Clock } from '../clock.js';
import type { ForwardPayload, Forwarder } from '../delivery/forwarder.js';
import { NO_ANSWER, type TargetAnswer } from '../delivery/target-answer.js';
import type { TargetHealth } from '../delivery/target-health.js';
import type { RoutingTable } from './routing-table.js';

export interface DeliveryContext {
  readonly table: RoutingTable;
  readonly health: TargetHealth;
  readonly forwarder: Forwarder;
  readonly clock: Clock;
  /** The fallback target now (a live setting); null: none. */
  readonly fallbackTarget: string | null;
  /** Told once per name when the fallback target is needed but not registered. */
  readonly fallbackMissing: (name: string) => void;
}

export interface Delivery {
  /** Where the utterance went last: the chosen target, or the fallback. */
  readonly target: string;
  /** Set when the fallback was tried: the target the utterance was meant for. */
  readonly intendedTarget: string | null;
  readonly forwarded: boolean;
  /** The HTTP status of the last target that answered, else null. */
  readonly status: number | null;
  /** From the first forward's start to the last one's end; null when none was attempted. */
  readonly latencyMs: number | null;
  /**
   * Why the chosen target did not take the utterance (`forward_failed:<why>`, `target_busy`,
   * `target_unavailable`), kept when the fallback took it instead; null when it was delivered.
   */
  readonly failure: string | null;
  /**
   * What the answer's `reason` becomes, or null when the router's stands: the failure, or
   * `fallback:<failure>` when the fallback took the utterance, or the fallback's own failure.
   */
  readonly reason: string | null;
  /** What the target that took the utterance answered. */
  readonly answer: TargetAnswer;
}

/** One forward's outcome. */
interface Attempt {
  readonly forwarded: boolean;
  readonly status: number | null;
  readonly startedAt: number | null;
  readonly failure: string | null;
  readonly answer: TargetAnswer;
}

/**
 * The failures after which the fallback gets the utterance: the target timed out, refused the
 * connection, failed with a 5xx, or its breaker is open. Not a 4xx (the target refused this
 * utterance on purpose), nor `target_busy` (it is up, only saturated), nor a reset after a
 * response began (it may have acted on the utterance already).
 */
export function fallsBack(failure: string): boolean {
  return (
    failure === 'forward_failed:timeout' ||
    failure === 'forward_failed:refused' ||
    failure === 'target_unavailable' ||
    /^forward_failed:status_5\d\d$/.test(failure)
  );
}

export async function deliver(
  ctx: DeliveryContext,
  target: string,
  payload: ForwardPayload,
): Promise<Delivery> {
  const first = await attempt(ctx, target, payload);
  const failed = first.failure;
  const fallback = ctx.fallbackTarget;
  const alone: Delivery = {
    target,
    intendedTarget: null,
    forwarded: first.forwarded,
    status: first.status,
    latencyMs: latencySince(ctx.clock, first.startedAt),
    failure: failed,
    reason: failed,
    answer: first.answer,
  };
  if (failed === null || fallback === null || fallback === target || !fallsBack(failed)) {
    return alone;
  }
  if (!ctx.table.has(fallback)) {
    ctx.fallbackMissing(fallback);
    return alone;
  }
  // The same event_id: the fallback's row and the intended target's failure are one decision.
  // No session: the conversation stays with the intended target, which gets the next utterance.
  const second = await attempt(ctx, fallback, {
    ...payload,
    session_id: null,
    mode: 'fallback',
    intended_target: target,
  });
  return {
    target: fallback,
    intendedTarget: target,
    forwarded: second.forwarded,
    status: second.status ?? first.status,
    latencyMs: latencySince(ctx.clock, first.startedAt ?? second.startedAt),
    failure: failed,
    reason: second.forwarded ? `fallback:${failed}` : second.failure,
    answer: second.answer,
  };
}

/** One forward to `target`, if its health lets it through; every admission is settled. */
async function attempt(
  ctx: DeliveryContext,
  target: string,
  payload: ForwardPayload,
): Promise<Attempt> {
  const url = ctx.table.listenUrl(target);
  if (url === undefined) return notAttempted('forward_failed:target_unregistered');
  const admission = ctx.health.admit(target);
  if (!admission.ok) return notAttempted(admission.reason);
  const startedAt = ctx.clock.now();
  let outcome;
  try {
    outcome = await ctx.forwarder.forward(url, payload);
  } finally {
    admission.settle(outcome ?? { ok: false, reason: 'error' });
  }
  if (outcome.ok) {
    return {
      forwarded: true,
      status: outcome.status,
      startedAt,
      failure: null,
      answer: outcome.answer,
    };
  }
  const code = /^status_(\d+)$/.exec(outcome.reason);
  return {
    forwarded: false,
    status: code ? Number(code[1]) : null,
    startedAt,
    failure: `forward_failed:${outcome.reason}`,
    answer: NO_ANSWER,
  };
}

function notAttempted(failure: string): Attempt {
  return { forwarded: false, status: null, startedAt: null, failure, answer: NO_ANSWER };
}

function latencySince(clock: Clock, startedAt: number | null): number | null {
  return startedAt === null ? null : clock.now() - startedAt;
}
