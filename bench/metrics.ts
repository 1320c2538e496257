/**
 * What the metrics cost per request (`npx tsx bench/metrics.ts`): the work GET /metrics adds to
 * each POST /text, which is one `MetricTallies.request` (the onResponse hook) and one
 * `MetricTallies.decision` (beside the decision log), timed over a mix of routes, statuses, modes,
 * reasons and targets like the bench's wake load; and, for comparison, the same counts made with
 * prom-client's Counter and Histogram directly. Then one scrape's time with 100 targets.
 * Prints a small table; the end-to-end effect is in `npm run bench` (scraped during every load).
 */
import { MetricsExposition } from '../src/metrics/exposition.js';
import { MetricTallies } from '../src/metrics/tallies.js';
import type { DecisionRecord } from '../src/routing/decision-record.js';
import { Counter, Histogram, Registry } from 'prom-client';

const N = 2_000_000;
const TARGETS = Array.from({ length: 8 }, (_, i) => `target-${i}`);

function decision(i: number): DecisionRecord {
  const target = TARGETS[i % TARGETS.length]!;
  return {
    id: `e${i}`,
    receivedAt: 0,
    sourceId: 'kitchen',
    room: null,
    frontEnd: i % 5 === 0 ? 'wyoming' : 'http',
    conversationId: null,
    text: 'hey astraea lights on',
    confidence: null,
    listenMode: 'trigger',
    mode: i % 2 === 0 ? 'session_open' : 'session_continue',
    reason: i % 2 === 0 ? `trigger_phrase:hey ${target}` : 'session_active',
    target,
    match: null,
    sessionId: null,
    sessionChange: null,
    forwarded: true,
    status: 200,
    latencyMs: (i % 50) + 0.5,
    failure: i % 97 === 0 ? 'forward_failed:timeout' : null,
    intendedTarget: null,
    reply: null,
    replyTruncated: false,
    detail: null,
    idle: null,
  };
}

/** ns per call of `f` over `N` calls, after a warm-up. */
function time(f: (i: number) => void): number {
  for (let i = 0; i < 200_000; i++) f(i);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) f(i);
  return ((performance.now() - t0) * 1e6) / N;
}

// Built beforehand: the records exist on the request path already (the decision log gets them).
const records = Array.from({ length: 1024 }, (_, i) => decision(i));
const tallies = new MetricTallies();
const ours = time((i) => {
  const r = records[i & 1023]!;
  tallies.request('POST', '/text', 200);
  tallies.decision(r);
});

const registry = new Registry();
const requests = new Counter({
  name: 'r',
  help: 'r',
  labelNames: ['method', 'route', 'status'],
  registers: [registry],
});
const decisions = new Counter({
  name: 'd',
  help: 'd',
  labelNames: ['mode', 'reason'],
  registers: [registry],
});
const frontEnds = new Counter({
  name: 'f',
  help: 'f',
  labelNames: ['front_end'],
  registers: [registry],
});
const latency = new Histogram({
  name: 'l',
  help: 'l',
  labelNames: ['target'],
  registers: [registry],
});
const direct = time((i) => {
  const r = records[i & 1023]!;
  requests.inc({ method: 'POST', route: '/text', status: 200 });
  decisions.inc({ mode: r.mode, reason: r.reason.split(':')[0]! });
  frontEnds.inc({ front_end: r.frontEnd });
  latency.observe({ target: r.target! }, r.latencyMs! / 1000);
});

// The bench's largest registry (3 125 targets), 100 of them forwarded to since start.
const registered = Array.from({ length: 3125 }, (_, i) => `t${i}`);
const names = new Set(registered);
const many = registered.slice(0, 100);
const exposition = new MetricsExposition({
  tallies,
  openSessions: () => 40,
  registry: () => ({ targets: registered, has: (t) => names.has(t), phrases: 100_000 }),
  trackedTargets: () => many,
  health: () => ({
    last_ok_at: null,
    last_error: null,
    last_error_at: null,
    consecutive_failures: 0,
    breaker: 'closed',
    in_flight: 0,
  }),
  listenModes: () => ({ global: 'trigger', scoped: [] }),
  decisionLog: () => ({ queued: 0, dropped: 0 }),
  httpListening: () => true,
  wyoming: () => ({ ports: 1, connections: 2 }),
});
await exposition.text();
const scrapes: number[] = [];
let bytes = 0;
for (let i = 0; i < 50; i++) {
  const t0 = performance.now();
  bytes = (await exposition.text()).body.length;
  scrapes.push(performance.now() - t0);
}
scrapes.sort((a, b) => a - b);

process.stdout.write(
  [
    '| per request (request + decision counted) | ns |',
    '| --- | ---: |',
    `| MetricTallies (what Echonet runs) | ${ours.toFixed(0)} |`,
    `| prom-client Counter × 3 + Histogram, directly | ${direct.toFixed(0)} |`,
    '',
    `One scrape, 3 125 targets registered, 100 forwarded to: median ${scrapes[25]!.toFixed(2)} ms, max ${scrapes.at(-1)!.toFixed(2)} ms, ${(bytes / 1024).toFixed(0)} KiB.`,
    '',
  ].join('\n'),
);
