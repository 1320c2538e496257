/**
 * The Prometheus text for GET /metrics: one prom-client registry per app (never the global
 * default one: tests build many apps in one process), built on the first scrape. Every value is
 * read at scrape time, in the metrics' collect callbacks: counters from the tallies
 * (src/metrics/tallies.ts), gauges from the live state (sessions, targets, health, listen mode,
 * the decision log, the front ends). Nothing here runs per request.
 *
 * prom-client is imported on the first scrape, so a server nobody scrapes neither loads it nor runs
 * Node's default collectors (a GC observer and an event-loop delay monitor, which never stop once
 * started). From the bundle, the first scrape takes ~20 ms and adds ~2 MB of RSS; the next ones
 * take 1-5 ms.
 */
import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Metric, Registry } from 'prom-client';
import type { BreakerState, HealthView } from '../delivery/target-health.js';
import { LISTEN_MODES, type ListenMode } from '../routing/listen-modes.js';
import { LATENCY_BUCKETS_S, type MetricTallies } from './tallies.js';

/** The states `echonet_mqtt_state` reports (the MQTT front end's `GET /health` values). */
export const MQTT_STATES = ['connected', 'reconnecting', 'off'] as const;
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

/** What the scrape reads, each when it runs. */
export interface MetricSources {
  readonly tallies: MetricTallies;
  /** Conversations open now. */
  readonly openSessions: () => number;
  /** The routing table in use: its targets and how many wake phrases it holds. */
  readonly registry: () => {
    readonly targets: Iterable<string>;
    readonly has: (target: string) => boolean;
    readonly phrases: number;
  };
  readonly health: (target: string) => HealthView;
  /**
   * The targets with a delivery history (delivery/target-health.ts `tracked`), perhaps some no
   * longer registered; every other target's health is the unknown one's (breaker closed, 0, 0).
   */
  readonly trackedTargets: () => Iterable<string>;
  /** The global listen mode and the mode of each source with its own. */
  readonly listenModes: () => {
    readonly global: ListenMode;
    readonly scoped: Iterable<ListenMode>;
  };
  /** The decision log's queue (decisions not yet written) and the decisions it had to drop. */
  readonly decisionLog: () => { readonly queued: number; readonly dropped: number };
  /** Whether the HTTP server is listening (false while a test only injects). */
  readonly httpListening: () => boolean;
  /** Wyoming ports listening and connections open (every port together). */
  readonly wyoming: () => { readonly ports: number; readonly connections: number };
  /** The MQTT front end's state (`connected`, `reconnecting`, `off`); absent: `off`. */
  readonly mqttStatus?: (() => string) | undefined;
}

type Labels = Record<string, string | number>;
type Rows = () => Iterable<readonly [Labels, number]>;

export class MetricsExposition {
  readonly #sources: MetricSources;
  #registry: Promise<Registry> | undefined;

  constructor(sources: MetricSources) {
    this.#sources = sources;
  }

  /** The scrape: every metric in the Prometheus text format. */
  async text(): Promise<{ contentType: string; body: string }> {
    this.#registry ??= import('prom-client').then((prom) => this.#build(prom));
    const registry = await this.#registry;
    return {
      contentType: registry.contentType,
      body: withoutEmptyLoopDelay(await registry.metrics()),
    };
  }

  #build(prom: typeof PromClient): Registry {
    const registry = new prom.Registry();
    const s = this.#sources;
    const t = s.tallies;
    const counter = (name: string, help: string, labelNames: string[], rows: Rows) =>
      new prom.Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect(this: Counter) {
          this.reset();
          for (const [labels, value] of rows()) this.inc(labels, value);
        },
      });
    const gauge = (name: string, help: string, labelNames: string[], rows: Rows) =>
      new prom.Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect(this: Gauge) {
          this.reset();
          for (const [labels, value] of rows()) {
            if (labelNames.length === 0) this.set(value);
            else this.set(labels, value);
          }
        },
      });
    const one =
      (value: () => number): Rows =>
      () => [[{}, value()]];

    counter(
      'echonet_http_requests_total',
      'HTTP requests answered, by method, route pattern and status.',
      ['method', 'route', 'status'],
      function* () {
        for (const [method, routes] of t.requests) {
          for (const [route, statuses] of routes) {
            for (const [status, n] of statuses) yield [{ method, route, status }, n];
          }
        }
      },
    );
    counter(
      'echonet_decisions_total',
      'Utterances decided on, by routing mode and reason (a wake phrase counts as trigger_phrase, without the words).',
      ['mode', 'reason'],
      function* () {
        for (const [mode, reasons] of t.decisions) {
          for (const [reason, n] of reasons) yield [{ mode, reason }, n];
        }
      },
    );
    counter(
      'echonet_utterances_total',
      'Utterances decided on, by the front end that heard them (http, wyoming, mqtt).',
      ['front_end'],
      function* () {
        for (const [frontEnd, n] of t.utterances) yield [{ front_end: frontEnd }, n];
      },
    );
    counter(
      'echonet_forward_failures_total',
      'Utterances a target did not take, by target and why (forward_failed:<why>, target_busy, target_unavailable).',
      ['target', 'failure'],
      function* () {
        for (const [target, failures] of t.failures) {
          for (const [failure, n] of failures) yield [{ target, failure }, n];
        }
      },
    );
    registry.registerMetric(latencyHistogram(t));

    // Per-target series only for targets with a delivery history: at 100 000 phrases (3 125
    // targets) one series per state and gauge for every registered target made each scrape
    // 900 KB and 30-60 ms of event loop. A target never forwarded to is in the closed state with
    // nothing in flight, and is counted in echonet_target_breakers.
    const tracked = function* (registry = s.registry()) {
      for (const target of s.trackedTargets()) if (registry.has(target)) yield target;
    };
    gauge(
      'echonet_target_breakers',
      "Registered targets by their circuit breaker's state (closed, open, half_open).",
      ['state'],
      () => {
        const registry = s.registry();
        const breakers = [...tracked(registry)].map((target) => s.health(target).breaker);
        // Every target without a history is closed.
        const quiet = count(registry.targets) - breakers.length;
        return countRows('state', BREAKER_STATES, breakers, { closed: quiet });
      },
    );
    gauge(
      'echonet_target_breaker_state',
      'The circuit breaker of each target forwarded to since start: 1 for its state (closed, open, half_open), 0 for the others.',
      ['target', 'state'],
      function* () {
        for (const target of tracked()) {
          const breaker = s.health(target).breaker;
          for (const state of BREAKER_STATES) yield [{ target, state }, state === breaker ? 1 : 0];
        }
      },
    );
    gauge(
      'echonet_target_consecutive_failures',
      'Failures since the last success, of each target forwarded to since start.',
      ['target'],
      function* () {
        for (const target of tracked()) yield [{ target }, s.health(target).consecutive_failures];
      },
    );
    gauge(
      'echonet_target_in_flight',
      'Forwards in progress to each target forwarded to since start.',
      ['target'],
      function* () {
        for (const target of tracked()) yield [{ target }, s.health(target).in_flight];
      },
    );
    gauge(
      'echonet_sessions_open',
      'Conversations open now.',
      [],
      one(() => s.openSessions()),
    );
    gauge(
      'echonet_targets_registered',
      'Targets in the routing table in use.',
      [],
      one(() => count(s.registry().targets)),
    );
    gauge(
      'echonet_phrases_registered',
      'Wake phrases in the routing table in use (targets’ names not counted).',
      [],
      one(() => s.registry().phrases),
    );
    gauge(
      'echonet_listen_mode',
      'The global listen mode: 1 for the current one (inactive, trigger, active), 0 for the others.',
      ['mode'],
      () => {
        const current = s.listenModes().global;
        return LISTEN_MODES.map((mode) => [{ mode }, mode === current ? 1 : 0] as const);
      },
    );
    gauge(
      'echonet_listen_mode_scoped_sources',
      'Sources with a listen mode of their own, by that mode.',
      ['mode'],
      () => countRows('mode', LISTEN_MODES, s.listenModes().scoped),
    );
    gauge(
      'echonet_decision_log_queued',
      'Decisions waiting to be written to the decision log.',
      [],
      one(() => s.decisionLog().queued),
    );
    counter(
      'echonet_decision_log_dropped_total',
      'Decisions the decision log dropped because the database refused writes for too long.',
      [],
      one(() => s.decisionLog().dropped),
    );
    gauge(
      'echonet_front_end_up',
      'Whether each front end is taking utterances: http listening, wyoming with a port open, mqtt connected.',
      ['front_end'],
      () => [
        [{ front_end: 'http' }, s.httpListening() ? 1 : 0],
        [{ front_end: 'wyoming' }, s.wyoming().ports > 0 ? 1 : 0],
        [{ front_end: 'mqtt' }, mqttState(s) === 'connected' ? 1 : 0],
      ],
    );
    gauge(
      'echonet_wyoming_ports',
      'Wyoming ports listening (the main one and each binding).',
      [],
      one(() => s.wyoming().ports),
    );
    gauge(
      'echonet_wyoming_connections',
      'Wyoming connections open, every port together.',
      [],
      one(() => s.wyoming().connections),
    );
    gauge(
      'echonet_mqtt_state',
      "The MQTT front end's connection: 1 for its state (connected, reconnecting, off), 0 for the others.",
      ['state'],
      () => {
        const current = mqttState(s);
        return MQTT_STATES.map((state) => [{ state }, state === current ? 1 : 0] as const);
      },
    );

    prom.collectDefaultMetrics({ register: registry });
    countCpuFromProcessStart(registry);
    return registry;
  }
}

/**
 * prom-client's CPU counters count from when they were made, which here is the first scrape: the
 * first scrape would say the process had used almost no CPU, and every total would leave out its
 * start-up. Prometheus's process collectors report CPU since the process started (as
 * `process_start_time_seconds` implies), so add what was used before the counters existed.
 */
function countCpuFromProcessStart(registry: Registry): void {
  const used = process.cpuUsage();
  const seed: readonly (readonly [string, number])[] = [
    ['process_cpu_user_seconds_total', used.user],
    ['process_cpu_system_seconds_total', used.system],
    ['process_cpu_seconds_total', used.user + used.system],
  ];
  for (const [name, micros] of seed) {
    (registry.getSingleMetric(name) as Counter | undefined)?.inc(micros / 1e6);
  }
}

/** prom-client's event-loop delay summary, read from a histogram it resets at every scrape. */
const LOOP_DELAY_SUMMARY = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map(
  (stat) => `nodejs_eventloop_lag_${stat}_seconds`,
);
/** Above this a `nodejs_eventloop_lag_min_seconds` is Node's "no sample" value (2^63 ns), not a delay. */
const NO_SAMPLE_S = 1e9;

/**
 * Drops the event-loop delay summary when its histogram holds no sample, rather than report a
 * minimum of 292 years, a mean of NaN and made-up percentiles. Node's delay monitor samples on a
 * 10 ms timer, and prom-client resets it at each scrape and starts it at the first: so
 * the first scrape (the registry is built then), and a scrape within about 10 ms of the last,
 * has none. Prometheus marks the missing series stale for that scrape, which is the truth.
 */
function withoutEmptyLoopDelay(text: string): string {
  const min = /^nodejs_eventloop_lag_min_seconds (\S+)$/m.exec(text);
  if (min === null || !(Number(min[1]) > NO_SAMPLE_S)) return text;
  return text
    .split('\n')
    .filter((line) => {
      const name = line.startsWith('# ') ? line.split(' ', 3)[2] : line.split(/[ {]/, 1)[0];
      return name === undefined || !LOOP_DELAY_SUMMARY.includes(name);
    })
    .join('\n');
}

function mqttState(s: MetricSources): string {
  return s.mqttStatus?.() ?? 'off';
}

/** One row per key, labelled `label`: how many of `items` are that key (plus `extra`'s), 0 for none. */
function countRows<K extends string>(
  label: string,
  keys: readonly K[],
  items: Iterable<K>,
  extra: Partial<Record<K, number>> = {},
): (readonly [Labels, number])[] {
  const counts = new Map<K, number>(keys.map((k) => [k, extra[k] ?? 0]));
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].map(([key, n]) => [{ [label]: key }, n] as const);
}

function count(items: Iterable<unknown>): number {
  let n = 0;
  for (const _ of items) n++;
  return n;
}

/**
 * The forward latency histogram, from the tallies' buckets. prom-client's Histogram can only be
 * fed observation by observation, which would mean loading it before the first scrape and paying
 * its label hashing per forward; the registry takes any object with a name and a `get()` that
 * returns the values in its format, so this one reports the counted buckets directly.
 */
function latencyHistogram(t: MetricTallies): Metric {
  const name = 'echonet_forward_duration_seconds';
  const help =
    'Forward latency by target, from the forward’s start to its end (a fallback’s included).';
  const histogram = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset: () => {},
    get: async () => {
      const values: { labels: Labels; value: number; metricName: string }[] = [];
      for (const [target, tally] of t.latency) {
        let cumulative = 0;
        LATENCY_BUCKETS_S.forEach((le, i) => {
          cumulative += tally.buckets[i]!;
          values.push({ labels: { le, target }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({
          labels: { le: '+Inf', target },
          value: tally.count,
          metricName: `${name}_bucket`,
        });
        values.push({ labels: { target }, value: tally.sum, metricName: `${name}_sum` });
        values.push({ labels: { target }, value: tally.count, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  return histogram as unknown as Metric;
}
