/**
 * What the metrics count per request and per decision, as plain numbers in nested maps. Counting
 * here costs a few map lookups (~120 ns per request and its decision, bench/metrics.ts; prom-client's
 * own counters, with a label hash per increment, cost ~1.4 µs) and prom-client is only loaded when
 * /metrics is first scraped, reading these tallies then (src/metrics/exposition.ts). Protocol-free: the HTTP front end reports requests,
 * the text handler's decision records report the rest.
 */
import type { DecisionRecord } from '../routing/decision-record.js';
import { FRONT_ENDS, type FrontEnd } from '../routing/text-handler.js';

/**
 * Upper bounds (seconds) of the forward latency histogram: a local assistant answers in
 * milliseconds, a cloud LLM in seconds, and the default forward timeout is 10 s.
 */
export const LATENCY_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;

/** A route label for requests no route matched (404s, malformed URLs). */
export const UNMATCHED_ROUTE = 'unmatched';

export interface LatencyTally {
  /** Per bucket of LATENCY_BUCKETS_S, not cumulative (the exposition adds them up). */
  readonly buckets: number[];
  /** Observations above the last bucket. */
  over: number;
  sum: number;
  count: number;
}

type Nested<T> = Map<string, T>;

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function inner<T>(map: Nested<T>, key: string, make: () => T): T {
  let m = map.get(key);
  if (m === undefined) {
    m = make();
    map.set(key, m);
  }
  return m;
}

const newMap = <T>() => new Map<string, T>();

/**
 * The reason as a label: `trigger_phrase:<phrase>` and `trigger_name:<name>` lose the words (a
 * label per phrase would grow with the registry and put what was said into the metrics); every
 * other reason is one of a fixed set (router.ts, deliver.ts).
 */
export function reasonLabel(reason: string): string {
  if (reason.startsWith('trigger_')) {
    const colon = reason.indexOf(':');
    if (colon !== -1) return reason.slice(0, colon);
  }
  return reason;
}

export class MetricTallies {
  /** method → route → status → requests answered. */
  readonly requests: Nested<Nested<Map<number, number>>> = new Map();
  /** mode → reason label → decisions. */
  readonly decisions: Nested<Map<string, number>> = new Map();
  /** Utterances decided on, per front end (every front end listed, from 0). */
  readonly utterances = new Map<FrontEnd, number>(FRONT_ENDS.map((f) => [f, 0]));
  /** target → why (`forward_failed:timeout`, `target_busy`…) → utterances it did not take. */
  readonly failures: Nested<Map<string, number>> = new Map();
  /** target → forward latency (from the forward's start to its end, fallback included). */
  readonly latency: Nested<LatencyTally> = new Map();

  /** One answered HTTP request (an onResponse hook; `route` is the route's pattern). */
  request(method: string, route: string | undefined, status: number): void {
    const byStatus = inner(
      inner(this.requests, method, newMap<Map<number, number>>),
      route ?? UNMATCHED_ROUTE,
      () => new Map<number, number>(),
    );
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  /** The text handler's `onDecision`, beside the decision log's: counts, never throws. */
  readonly decision = (r: DecisionRecord): void => {
    bump(inner(this.decisions, r.mode, newMap<number>), reasonLabel(r.reason));
    this.utterances.set(r.frontEnd, (this.utterances.get(r.frontEnd) ?? 0) + 1);
    if (r.failure !== null) {
      // With a fallback tried, `failure` is the intended target's; the fallback's own, when it
      // failed too, is the final reason.
      const failed = r.intendedTarget ?? r.target;
      if (failed !== null) bump(inner(this.failures, failed, newMap<number>), r.failure);
      if (r.intendedTarget !== null && !r.forwarded && r.target !== null) {
        bump(inner(this.failures, r.target, newMap<number>), r.reason);
      }
    }
    if (r.latencyMs !== null && r.target !== null) this.#observe(r.target, r.latencyMs / 1000);
  };

  #observe(target: string, seconds: number): void {
    const t = inner(this.latency, target, () => ({
      buckets: LATENCY_BUCKETS_S.map(() => 0),
      over: 0,
      sum: 0,
      count: 0,
    }));
    t.sum += seconds;
    t.count++;
    for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) {
      if (seconds <= LATENCY_BUCKETS_S[i]!) {
        t.buckets[i]!++;
        return;
      }
    }
    t.over++;
  }
}
