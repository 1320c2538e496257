/**
 * End-to-end benchmark (`npm run bench`): the production build of Echonet, a stub target and a
 * separate autocannon load generator, on loopback, against a ceiling (bench/ceiling.ts: parse the
 * JSON, forward it the way Echonet's forwarder does, nothing else) measured in the same run on the
 * same stub.
 *
 *   --quick            ~30 s: Echonet and the ceiling at concurrency 32, interleaved 3 times,
 *                      best of each; exits 1 if Echonet reaches under 50% of the ceiling or any
 *                      answer was not forwarded (CI).
 *   --scenario <name>  one scenario for development: text-wake, text-follow, registry, register,
 *                      register-load, cold-start, wyoming (Wyoming transcripts per second beside
 *                      HTTP: bench/lib/wyoming.ts).
 *   --profile          run Echonet under `node --cpu-prof` and print where its CPU time went.
 *
 * Only answers that were really forwarded count as successes (bench/load.ts). The full run writes
 * bench/results/latest.md, appends its headline figures to bench/results/runs.jsonl and prints a
 * summary with the median of the last three full runs of the same build (bench/lib/summary.ts);
 * --quick writes bench/results/quick.md.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EVENT_LOG_LEVELS } from '../src/routing/decision-log.js';
import type { LoadResult } from './load.js';
import { formatSummary } from './lib/cpuprofile.js';
import {
  API_KEY,
  cpuSeconds,
  machine,
  memoryMiB,
  runLoad,
  setBenchEchonetEnv,
  startCeiling,
  startEchonet,
  startStub,
  type Echonet,
} from './lib/procs.js';
import { REGISTRATIONS, runRegisterLoad, type RegisterLoadResult } from './lib/register-load.js';
import { renderWyoming, runWyomingBench, type WyomingBenchResult } from './lib/wyoming.js';
import { emptyStats, SCRAPE_INTERVAL_MS, scrapeWhile, type ScrapeStats } from './lib/scrape.js';
import { seedRegistry, syntheticRegistry, type RegistryShape } from './lib/registry.js';
import {
  appendRun,
  currentBuild,
  lastRuns,
  median,
  renderSummary,
  type RunRecord,
} from './lib/summary.js';
import {
  body,
  distinctBodies,
  FOLLOW_TEXTS,
  pathOf,
  primeBody,
  SOURCES,
  WAKE_TARGET,
  WAKE_TEXTS,
  type Workload,
} from './lib/workload.js';

const SCENARIOS = [
  'text-wake',
  'text-follow',
  'registry',
  'register',
  'register-load',
  'cold-start',
  'wyoming',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    profile: { type: 'boolean', default: false },
    // The decision log's level for every Echonet started (default: Echonet's own default, full).
    // Runs at another level are recorded as such and never share a median with default runs.
    'event-log': { type: 'string' },
  },
});
if (
  args['event-log'] !== undefined &&
  !(EVENT_LOG_LEVELS as readonly string[]).includes(args['event-log'])
) {
  console.error(`--event-log must be one of ${EVENT_LOG_LEVELS.join(', ')}`);
  process.exit(2);
}
if (args['event-log'] !== undefined) setBenchEchonetEnv('ECHONET_EVENT_LOG', args['event-log']);
if (args.scenario !== undefined && !SCENARIOS.includes(args.scenario as Scenario)) {
  console.error(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
const quick = args.quick;
const only = args.scenario as Scenario | undefined;
const wants = (s: Scenario) => !quick && (only === undefined || only === s);

/** Warm-up and measured seconds per point; concurrency 32 is measured in `ROUNDS` rounds. */
const WARMUP_S = quick ? 0.5 : 1;
const DURATION_S = quick ? 2 : 4;
// Four rounds at 32: identical runs of this shared machine move ±10%, and the best of two did not
// settle (two consecutive runs gave 70.6% and 63.2% of the ceiling for the same build).
const ROUNDS = quick ? 3 : 4;
/** Idle seconds before the second RSS reading. */
const SETTLE_S = 15;
/** Measured seconds of each load without registrations in the register-load scenario. */
const BASELINE_S = 8;
const QUICK_MIN_RATIO = 0.5;
/** The Python service's best figures (issue 5): req/s with 1 target and with 1 000. */
const PYTHON_ONE = 470;
const PYTHON_THOUSAND = 177;

/** A registry Echonet is started on: how many phrases, of which shape (bench/lib/registry.ts). */
interface Registry {
  readonly phrases: number;
  readonly shape: RegistryShape;
}
const reg = (phrases: number, shape: RegistryShape = 'invented'): Registry => ({ phrases, shape });
const regId = (r: Registry) =>
  r.shape === 'invented' ? `${r.phrases}` : `${r.phrases}-${r.shape}`;
const ONE = reg(1);
const LARGE = reg(100_000);
const LARGE_WRITTEN = reg(100_000, 'written');
/** The registry-size comparison: 1, 1 000 (the Python service's size) and 100 000 of each shape. */
const REGISTRIES = [ONE, reg(1_000), LARGE, LARGE_WRITTEN];

interface Point {
  readonly workload: Workload;
  readonly registry: Registry;
  readonly connections: number;
}

/** What to measure on Echonet's /text (the ceiling is measured at every concurrency used). */
function textPoints(): Point[] {
  if (quick) return [{ workload: 'wake', registry: ONE, connections: 32 }];
  const points: Point[] = [];
  const has = (p: Point) => points.some((q) => key('echonet', q) === key('echonet', p));
  for (const workload of ['wake', 'follow'] as const) {
    if (wants(workload === 'wake' ? 'text-wake' : 'text-follow')) {
      for (const connections of [1, 32, 128]) points.push({ workload, registry: ONE, connections });
    }
    if (wants('registry')) {
      for (const registry of REGISTRIES) {
        const p = { workload, registry, connections: 32 };
        if (!has(p)) points.push(p);
      }
    }
  }
  return points;
}

const key = (system: string, p: Point) =>
  `${system}/${p.workload}/${regId(p.registry)}/${p.connections}`;
/** A load run plus the CPU time the server under test spent per request (warm-up included). */
interface Measured extends LoadResult {
  readonly cpuUsPerRequest: number;
}

const best = new Map<string, Measured>();
/** Every GET /metrics scrape made while an Echonet was under load (bench/lib/scrape.ts). */
const scrapes = emptyStats();
/** Failures summed over every round of a point, not only its best round. */
const failuresOf = new Map<string, number>();
function record(k: string, r: Measured): void {
  const prev = best.get(k);
  if (!prev || r.rps > prev.rps) best.set(k, r);
  failuresOf.set(k, (failuresOf.get(k) ?? 0) + r.failures);
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function post(url: string, path: string, json: string): Promise<Record<string, unknown>> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: json,
  });
  const out = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${path} ${json} → ${res.status} ${JSON.stringify(out)}`);
  return out;
}

/** Sends every distinct body of a workload once and checks Echonet routed it as intended. */
async function checkWorkload(echonet: Echonet, workload: Workload, stubUrl: string): Promise<void> {
  const spec = { workload, stubUrl };
  if (workload === 'follow') {
    for (let i = 0; i < SOURCES; i++) await post(echonet.url, '/text', primeBody(i));
  }
  const expected = workload === 'follow' ? 'session_continue' : 'session_open';
  for (let i = 0; i < distinctBodies(workload); i++) {
    const json = body(spec, i);
    const out = await post(echonet.url, pathOf(workload), json);
    if (workload === 'register') continue;
    if (out.routed_to !== WAKE_TARGET || out.mode !== expected || out.forwarded !== true) {
      throw new Error(`workload ${workload} misrouted: ${json} → ${JSON.stringify(out)}`);
    }
  }
}

async function load(
  server: { url: string; pid: number },
  workload: Workload,
  connections: number,
  stubUrl: string,
  options: { scrape?: boolean } = {},
): Promise<Measured> {
  const received0 = await receivedBy(stubUrl);
  const cpu0 = cpuSeconds(server.pid);
  // Echonet is scraped as Prometheus would, through the whole load (the ceiling has no metrics).
  const stopScraping = options.scrape ? scrapeWhile(server.url, scrapes) : undefined;
  let r: LoadResult;
  try {
    r = await runLoad({
      url: server.url,
      apiKey: API_KEY,
      workload,
      stubUrl,
      connections,
      warmupS: WARMUP_S,
      durationS: DURATION_S,
    });
  } finally {
    await stopScraping?.();
  }
  const cpuUsPerRequest = ((cpuSeconds(server.pid) - cpu0) * 1e6) / r.allRequests;
  // Cross-check of the answers: every one counted as forwarded must have reached the target.
  const received = (await receivedBy(stubUrl)) - received0;
  if (workload !== 'register' && received < r.allSucceeded) {
    throw new Error(
      `${r.allSucceeded} answers said forwarded: true, but the target received ${received} requests`,
    );
  }
  return { ...r, cpuUsPerRequest };
}

/** How many forwards the stub target has received so far. */
async function receivedBy(stubUrl: string): Promise<number> {
  const res = await fetch(`${stubUrl}/received`);
  return ((await res.json()) as { received: number }).received;
}

type Memory = { rss: number; peak: number; settled?: number };

async function main(): Promise<number> {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'echonet-bench-'));
  const profDir = args.profile ? mkdtempSync(join(tmpdir(), 'echonet-prof-')) : undefined;
  const stub = await startStub();
  const listenUrl = `${stub.url}/listen`;
  const running: { stop(): Promise<void> }[] = [stub];
  const labels = new Map<number, string>();
  try {
    const points = textPoints();
    const coldRegistries = quick ? [ONE] : wants('cold-start') ? [ONE, LARGE, LARGE_WRITTEN] : [];
    const needed = new Map<string, Registry>();
    for (const r of [
      ...points.map((p) => p.registry),
      ...coldRegistries,
      ...(wants('register') ? [ONE] : []),
    ])
      needed.set(regId(r), r);
    const dbs = new Map<string, string>();
    for (const [id, r] of needed) {
      const t0 = performance.now();
      const db = join(work, `registry-${id}.db`);
      seedRegistry(db, syntheticRegistry(r.phrases, stub.url, r.shape));
      dbs.set(id, db);
      log(`seeded ${id} phrases in ${(performance.now() - t0).toFixed(0)} ms`);
    }

    // Cold start first, while nothing else is running.
    const cold = new Map<string, number[]>();
    for (const r of coldRegistries) {
      const runs: number[] = [];
      for (let i = 0; i < (r.phrases === 1 ? 5 : 3); i++) {
        const e = await startEchonet({ dbPath: dbs.get(regId(r))! });
        runs.push(e.startMs);
        await e.stop();
      }
      cold.set(regId(r), runs);
      log(`cold start, ${regId(r)} phrases: ${runs.map((x) => x.toFixed(0)).join(', ')} ms`);
    }

    // One Echonet per registry, all up at once so rounds can interleave them.
    const echonets = new Map<string, Echonet>();
    const textRegistries = new Map(points.map((p) => [regId(p.registry), p.registry]));
    if (wants('register')) textRegistries.set(regId(ONE), ONE);
    for (const [id] of textRegistries) {
      const e = await startEchonet({ dbPath: dbs.get(id)!, cpuProfDir: profDir });
      running.push(e);
      echonets.set(id, e);
      labels.set(e.pid, `Echonet, ${id} phrases`);
      for (const workload of new Set(
        points.filter((p) => regId(p.registry) === id).map((p) => p.workload),
      )) {
        await checkWorkload(e, workload, stub.url);
      }
    }
    const ceiling = points.length > 0 ? await startCeiling(listenUrl, profDir) : undefined;
    if (ceiling) {
      running.push(ceiling);
      labels.set(ceiling.pid, 'Ceiling');
      // The same bodies Echonet's pre-flight check sent it, so neither starts its first load cold.
      for (let i = 0; i < distinctBodies('wake'); i++) {
        const out = await post(
          ceiling.url,
          '/text',
          body({ workload: 'wake', stubUrl: stub.url }, i),
        );
        if (out.forwarded !== true)
          throw new Error(`the ceiling did not forward: ${JSON.stringify(out)}`);
      }
    }

    for (const connections of [1, 128, 32]) {
      const at = points.filter((p) => p.connections === connections);
      if (at.length === 0 || !ceiling) continue;
      for (let round = 0; round < (connections === 32 ? ROUNDS : 1); round++) {
        const c = await load(ceiling, 'wake', connections, stub.url);
        record(key('ceiling', { workload: 'wake', registry: ONE, connections }), c);
        log(
          `ceiling c=${connections}: ${c.rps.toFixed(0)} req/s p50 ${c.p50.toFixed(2)} p99 ${c.p99.toFixed(2)}${c.failures ? ` FAILURES ${c.failures}` : ''}`,
        );
        for (const p of at) {
          const r = await load(
            echonets.get(regId(p.registry))!,
            p.workload,
            connections,
            stub.url,
            {
              scrape: true,
            },
          );
          record(key('echonet', p), r);
          log(
            `echonet ${p.workload} ${regId(p.registry)} phrases c=${connections}: ${r.rps.toFixed(0)} req/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)}${r.failures ? ` FAILURES ${r.failures} (not forwarded ${r.notForwarded})` : ''}`,
          );
        }
      }
    }

    const memory = new Map<string, Memory>();
    for (const [id, e] of echonets)
      if (points.some((p) => regId(p.registry) === id)) memory.set(id, memoryMiB(e.pid));
    if (!quick && memory.size > 0) {
      // V8 gives the heap back only once a process has been idle for a while (its memory
      // reducer starts ~8 s after the last major GC), which is how a home hub spends most time.
      await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
      for (const [id, m] of memory) m.settled = memoryMiB(echonets.get(id)!.pid).rss;
    }

    let register: Measured | undefined;
    if (wants('register')) {
      const e = echonets.get(regId(ONE))!;
      await checkWorkload(e, 'register', stub.url);
      register = await load(e, 'register', 32, stub.url);
      log(`register c=32: ${register.rps.toFixed(0)} req/s`);
    }

    // The decision log ran through every load above at its default level: say so, with what it wrote.
    const eventLog = echonets.size > 0 ? await decisionLogOf([...echonets.values()]) : undefined;
    if (eventLog) log(`decision log: ${eventLog.level}, ${eventLog.logged} decisions written`);

    // The text servers are done; the registrations-under-load scenario runs on its own.
    for (const p of running.splice(1)) await p.stop();
    let registerLoad: RegisterLoadResult | undefined;
    if (wants('register-load')) {
      registerLoad = await runRegisterLoad({
        work,
        stubUrl: stub.url,
        warmupS: WARMUP_S,
        baselineS: BASELINE_S,
        checkWorkload: (e) => checkWorkload(e, 'wake', stub.url),
        log,
      });
    }

    let wyoming: WyomingBenchResult | undefined;
    if (wants('wyoming')) {
      wyoming = await runWyomingBench({
        dbPath: join(work, 'registry-wyoming.db'),
        stubUrl: stub.url,
        warmupS: WARMUP_S,
        durationS: DURATION_S,
        rounds: ROUNDS,
        checkWorkload: (e) => checkWorkload(e, 'wake', stub.url),
        log,
      });
    }

    const input: ReportInput = {
      points,
      cold,
      memory,
      register,
      registerLoad,
      eventLog,
      seconds: (Date.now() - started) / 1000,
    };
    const report = renderReport(input);
    let markdown = report.markdown + (wyoming ? renderWyoming(wyoming) : '');
    if (only === undefined) {
      const dir = fileURLToPath(new URL('./results/', import.meta.url));
      mkdirSync(dir, { recursive: true });
      if (!quick) {
        const history = join(dir, 'runs.jsonl');
        const build = currentBuild(fileURLToPath(new URL('..', import.meta.url)));
        const eventLog = args['event-log'] ?? 'full';
        const run: RunRecord = {
          at: new Date().toISOString(),
          build,
          ...(eventLog !== 'full' && { eventLog }),
          figures: figures(input),
        };
        appendRun(history, run);
        markdown += '\n' + renderSummary(lastRuns(history, build, eventLog));
      }
      // A run with the log at another level keeps its own file: latest.md stays the default's.
      const level = args['event-log'] ?? 'full';
      const name = quick ? 'quick' : level === 'full' ? 'latest' : `latest-event-log-${level}`;
      writeFileSync(join(dir, `${name}.md`), markdown);
    }
    process.stdout.write(markdown);
    if (profDir) printProfiles(profDir, labels);
    return report.pass ? 0 : 1;
  } finally {
    for (const p of running.reverse()) await p.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function printProfiles(dir: string, labels: Map<number, string>): void {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one (tsx adds a
    // loader thread to the ceiling).
    const [, , , pid, thread] = file.split('.');
    if (thread !== '0') continue;
    process.stdout.write('\n' + formatSummary(labels.get(Number(pid)) ?? file, join(dir, file)));
  }
  process.stdout.write(`\nProfiles: ${dir}\n`);
}

// ---- figures and report ---------------------------------------------------------------------

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const pct = (n: number) => (Number.isFinite(n) ? `${Math.round(n * 100)}%` : '–');
/** For verdicts: one decimal, so 69.9% is not shown as a failed 70%. */
const pct1 = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : '–');
const signed = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(2)}` : '–');
const regLabel = (r: Registry) =>
  `${r.phrases.toLocaleString('en-US')}${r.shape === 'written' ? ' (as written)' : ''}`;
// The goals are in MB; readings are in MiB.
const megabytes = (mib: number) => mib * 1.048576;

interface ReportInput {
  readonly points: Point[];
  readonly cold: Map<string, number[]>;
  readonly memory: Map<string, Memory>;
  readonly register: Measured | undefined;
  readonly registerLoad: RegisterLoadResult | undefined;
  readonly eventLog: DecisionLogState | undefined;
  readonly seconds: number;
}

interface DecisionLogState {
  /** `full` or `metadata` as the rows say, `off` when none was written. */
  readonly level: string;
  /** Rows the servers wrote (their newest `seq`, summed). */
  readonly logged: number;
}

/**
 * What the servers' decision logs hold after the load, read through GET /events: proof that the
 * figures were measured with the log writing, and at which level.
 */
async function decisionLogOf(servers: readonly Echonet[]): Promise<DecisionLogState> {
  let logged = 0;
  const levels = new Set<string>();
  for (const e of servers) {
    const res = await fetch(`${e.url}/events?limit=1`, { headers: { 'x-api-key': API_KEY } });
    if (!res.ok) throw new Error(`GET /events answered ${res.status}: ${await res.text()}`);
    const newest = ((await res.json()) as { events: { seq: number; privacy: string }[] }).events[0];
    if (newest) {
      logged += newest.seq;
      levels.add(newest.privacy);
    }
  }
  return { level: levels.size === 0 ? 'off' : [...levels].join(', '), logged };
}

const echo = (workload: Workload, registry: Registry, connections: number) =>
  best.get(key('echonet', { workload, registry, connections }));
const ceil = (connections: number) =>
  best.get(key('ceiling', { workload: 'wake', registry: ONE, connections }));
/** Failed answers in every round at concurrency ≤ 32, plus the registrations. */
function failuresUpTo32(input: ReportInput): number {
  let n = input.register?.failures ?? 0;
  for (const p of input.points)
    if (p.connections <= 32) n += failuresOf.get(key('echonet', p)) ?? 0;
  for (const c of [1, 32])
    n += failuresOf.get(key('ceiling', { workload: 'wake', registry: ONE, connections: c })) ?? 0;
  const rl = input.registerLoad;
  if (rl) n += rl.before.failures + rl.after.failures;
  return n;
}
const shareFailed = (r: LoadResult | undefined) =>
  r ? r.failures / (r.requests + r.failures) : NaN;

/** The headline figures of this run, by the ids of bench/lib/summary.ts. */
function figures(input: ReportInput): Record<string, number> {
  const rps = (w: Workload, r: Registry, c: number) => echo(w, r, c)?.rps ?? NaN;
  const c32 = ceil(32)?.rps ?? NaN;
  const rl = input.registerLoad;
  const out: Record<string, number> = {
    wakeShare: rps('wake', ONE, 32) / c32,
    followShare: rps('follow', ONE, 32) / c32,
    wakeP99: (echo('wake', ONE, 32)?.p99 ?? NaN) / (ceil(32)?.p99 ?? NaN),
    followP99: (echo('follow', ONE, 32)?.p99 ?? NaN) / (ceil(32)?.p99 ?? NaN),
    wakeOverhead: (echo('wake', ONE, 1)?.p50 ?? NaN) - (ceil(1)?.p50 ?? NaN),
    followOverhead: (echo('follow', ONE, 1)?.p50 ?? NaN) - (ceil(1)?.p50 ?? NaN),
    pythonOne: rps('wake', ONE, 32) / PYTHON_ONE,
    pythonThousand: rps('wake', reg(1_000), 32) / PYTHON_THOUSAND,
    wake100k: rps('wake', LARGE, 32) / rps('wake', ONE, 32) - 1,
    follow100k: rps('follow', LARGE, 32) / rps('follow', ONE, 32) - 1,
    wake100kWritten: rps('wake', LARGE_WRITTEN, 32) / rps('wake', ONE, 32) - 1,
    rss100k: megabytes(input.memory.get(regId(LARGE))?.rss ?? NaN),
    rss100kWritten: megabytes(input.memory.get(regId(LARGE_WRITTEN))?.rss ?? NaN),
    cold1: median(input.cold.get(regId(ONE)) ?? []),
    cold100k: median(input.cold.get(regId(LARGE)) ?? []),
    cold100kWritten: median(input.cold.get(regId(LARGE_WRITTEN)) ?? []),
    loopMax: rl?.loopDuring.maxMs ?? NaN,
    registerP99: rl ? rl.during.p99 / ((rl.before.p99 + rl.after.p99) / 2) : NaN,
    failures: failuresUpTo32(input),
    registerFailed: rl ? rl.during.failures + rl.registerFailures : NaN,
    busy128: shareFailed(echo('wake', ONE, 128)),
  };
  for (const [k, v] of Object.entries(out)) if (!Number.isFinite(v)) delete out[k];
  return out;
}

/** The report's lines on the scrapes made during the loads. */
function renderScrapes(stats: ScrapeStats): string[] {
  if (stats.ok + stats.failed === 0) return [];
  const sorted = [...stats.ms].sort((a, b) => a - b);
  return [
    '### GET /metrics, scraped during every Echonet load above',
    '',
    `Every Echonet was scraped every ${SCRAPE_INTERVAL_MS / 1000} s through each of its loads (Prometheus scrapes every 15 s by default), so the figures above, CPU µs/req included, were measured with the metrics counted and read. ` +
      'The first scrape of a server loads prom-client and starts Node’s default collectors (bench/lib/scrape.ts).',
    '',
    '| scrapes | failed | time p50 | time max | body | samples |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${stats.ok + stats.failed} | ${stats.failed} | ${f2(median(sorted))} ms | ${f2(sorted.at(-1) ?? NaN)} ms | ${f0(stats.bytes / 1024)} KiB | ${f0(stats.samples)} |`,
    '',
  ];
}

function renderReport(input: ReportInput): { markdown: string; pass: boolean } {
  const { cpu, cores } = machine();
  const out: string[] = [];
  const command = quick
    ? 'npm run bench:quick'
    : only
      ? `npm run bench -- --scenario ${only}`
      : 'npm run bench';
  out.push(
    '# Echonet benchmark',
    '',
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpu} (${cores} cores) · Node ${process.version} · \`${command}\` · ` +
      `each point ${WARMUP_S} s warm-up + ${DURATION_S} s measured; concurrency 32 best of ${ROUNDS} rounds, interleaved with the ceiling · ${Math.round(input.seconds)} s in all`,
    '',
  );
  if (input.eventLog) {
    const { level, logged } = input.eventLog;
    out.push(
      level === 'off'
        ? 'Decision log: **off** (nothing was written).'
        : `Decision log: **on**, level \`${level}\` (ECHONET_EVENT_LOG, default full): ${logged.toLocaleString('en-US')} decisions written by the servers during the run.`,
      '',
    );
  }

  if (input.points.length > 0) {
    out.push(
      '## POST /text, forwarded to a stub target',
      '',
      `\`wake\`: ${WAKE_TEXTS.length} different "hey astraea …" utterances (misheard, split and with fillers too) from ${SOURCES} speakers, each opening a session; ` +
        `\`follow\`: ${FOLLOW_TEXTS.length} different follow-ups in open sessions (\`session_continue\`). ` +
        'Ceiling: bench/ceiling.ts (parse JSON, forward through the same undici Agent and pool size as Echonet, answer). ' +
        'req/s and latencies count only answers that were forwarded; `failed` counts the rest (`forwarded: false`, e.g. `target_busy` above ECHONET_TARGET_MAX_INFLIGHT, non-2xx, socket errors) over every round. Latencies in ms.',
      '',
      '| workload | phrases | conc. | forwarded req/s | p50 | p99 | CPU µs/req | failed | ceiling req/s | ceiling p50 | ceiling p99 | ceiling CPU µs/req | req/s vs ceiling | p99 vs ceiling | overhead p50 |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    const sorted = [...input.points].sort(
      (a, b) =>
        a.workload.localeCompare(b.workload) * -1 ||
        a.registry.phrases - b.registry.phrases ||
        a.registry.shape.localeCompare(b.registry.shape) ||
        a.connections - b.connections,
    );
    for (const p of sorted) {
      const r = best.get(key('echonet', p));
      const c = ceil(p.connections);
      if (!r) continue;
      const failed = failuresOf.get(key('echonet', p)) ?? 0;
      out.push(
        `| ${p.workload} | ${regLabel(p.registry)} | ${p.connections} | ${f0(r.rps)} | ${f2(r.p50)} | ${f2(r.p99)} | ${f0(r.cpuUsPerRequest)} | ` +
          `${failed === 0 ? '0' : `${f0(failed)} (${pct(shareFailed(r))} of the best round)`} | ` +
          `${f0(c?.rps ?? NaN)} | ${f2(c?.p50 ?? NaN)} | ${f2(c?.p99 ?? NaN)} | ${f0(c?.cpuUsPerRequest ?? NaN)} | ` +
          `${pct(r.rps / (c?.rps ?? NaN))} | ${f2(r.p99 / (c?.p99 ?? NaN))}× | ${signed(r.p50 - (c?.p50 ?? NaN))} |`,
      );
    }
    out.push('', ...renderScrapes(scrapes));
  }

  const scaled = input.points.filter((p) => p.connections === 32);
  const registries = [...new Map(scaled.map((p) => [regId(p.registry), p.registry])).values()].sort(
    (a, b) => a.phrases - b.phrases || a.shape.localeCompare(b.shape),
  );
  if (registries.length > 1 || input.memory.size > 0) {
    out.push(
      '## Registry size (concurrency 32)',
      '',
      'Up to 1 000 phrases one target each; 100 000 phrases are 3 125 targets × 32, either one invented name per phrase ("hey bakomi") or as people write them ("hey catherine", "ok kitchen helper": 4 000 two-word and 96 000 three-word phrases over ~270 words).',
      '',
      `| phrases | targets | wake req/s | vs 1 phrase | follow req/s | vs 1 phrase | RSS after load | RSS ${SETTLE_S} s later | peak RSS |`,
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const r of registries) {
      const rps = (workload: Workload) => echo(workload, r, 32)?.rps ?? NaN;
      const base = (workload: Workload) => echo(workload, ONE, 32)?.rps ?? NaN;
      const mem = input.memory.get(regId(r));
      out.push(
        `| ${regLabel(r)} | ${f0(syntheticRegistry(r.phrases, 'http://x', r.shape).length)} | ${f0(rps('wake'))} | ${signed((rps('wake') / base('wake') - 1) * 100)}% | ` +
          `${f0(rps('follow'))} | ${signed((rps('follow') / base('follow') - 1) * 100)}% | ${mem ? `${mem.rss.toFixed(0)} MiB` : '–'} | ${mem?.settled !== undefined ? `${mem.settled.toFixed(0)} MiB` : '–'} | ${mem ? `${mem.peak.toFixed(0)} MiB` : '–'} |`,
      );
    }
    out.push('');
  }

  const rl = input.registerLoad;
  if (rl) {
    const sortedMs = [...rl.registerMs].sort((a, b) => a - b);
    const row = (label: string, r: LoadResult, loop: { maxMs: number; p99Ms: number }) =>
      `| ${label} | ${f0(r.rps)} | ${f2(r.p50)} | ${f2(r.p99)} | ${r.notForwarded} / ${r.badStatus} / ${r.errors} | ${loop.maxMs.toFixed(1)} | ${loop.p99Ms.toFixed(1)} | ${r.seconds.toFixed(1)} |`;
    out.push(
      `## ${REGISTRATIONS} registrations under load (100 000 phrases, wake, concurrency 32)`,
      '',
      `One registration every 100 ms whatever the answers take, half new targets, half existing targets re-registered with 4 phrases changed. ` +
        `Event-loop delay measured inside Echonet (perf_hooks.monitorEventLoopDelay, 1 ms resolution, preloaded by the bench only); it includes the 1 ms sampling interval.`,
      '',
      '| phase | forwarded req/s | p50 ms | p99 ms | failed: not forwarded / non-2xx / socket errors and timeouts | loop max ms | loop p99 ms | seconds |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      row('without registrations, before', rl.before, rl.loopBefore),
      row(`during the ${REGISTRATIONS} registrations`, rl.during, rl.loopDuring),
      row('without registrations, after', rl.after, rl.loopAfter),
      '',
      `Registrations: ${REGISTRATIONS - rl.registerFailures} of ${REGISTRATIONS} answered ok, all answered ${(rl.spanMs / 1000).toFixed(1)} s after the first was sent; ` +
        `answer time p50 ${f0(median(sortedMs))} ms, max ${f0(sortedMs.at(-1) ?? NaN)} ms.`,
      '',
    );
  }

  if (input.register || input.cold.size > 0) {
    out.push('## Registration and start-up', '', '| measure | result |', '| --- | --- |');
    const r = input.register;
    if (r) {
      out.push(
        `| POST /register, concurrency 32, 64 targets re-registered in turn | ${f0(r.rps)} req/s, p50 ${f2(r.p50)} ms, p99 ${f2(r.p99)} ms, ${f0(r.cpuUsPerRequest)} CPU µs/req, ${r.failures} failures |`,
      );
    }
    for (const reg0 of [ONE, LARGE, LARGE_WRITTEN]) {
      const runs = input.cold.get(regId(reg0));
      if (!runs) continue;
      out.push(
        `| cold start (spawn → first 200 on /health), ${regLabel(reg0)} phrases | median ${f0(median(runs))} ms (${runs.map((x) => x.toFixed(0)).join(', ')}) |`,
      );
    }
    out.push('');
  }

  // Targets (issues 5 and 11), for whatever this run measured.
  const checks: { target: string; measured: string; ok: boolean | undefined }[] = [];
  const add = (
    target: string,
    value: number,
    ok: ((v: number) => boolean) | undefined,
    show: (v: number) => string,
  ) => {
    if (Number.isFinite(value)) checks.push({ target, measured: show(value), ok: ok?.(value) });
  };
  const f = figures(input);
  const wake32 = echo('wake', ONE, 32);
  const c32 = ceil(32);
  const gate = (wake32?.rps ?? 0) / (c32?.rps ?? Infinity);
  const failures = failuresUpTo32(input);
  if (quick) {
    add(
      `forwarded req/s ≥ ${pct(QUICK_MIN_RATIO)} of the ceiling (CI gate)`,
      gate,
      (v) => v >= QUICK_MIN_RATIO,
      pct,
    );
  }
  if (scrapes.ok + scrapes.failed > 0) {
    checks.push({
      target: 'every GET /metrics scrape during the load answered 200 with Prometheus text',
      measured: `${scrapes.ok} of ${scrapes.ok + scrapes.failed}`,
      ok: scrapes.failed === 0,
    });
  }
  const ms = (v: number) => `${f0(v)} ms`;
  const mb = (v: number) => `${v.toFixed(0)} MB`;
  const x = (v: number) => `${f2(v)}×`;
  add(
    'wake, c=32: forwarded req/s ≥ 70% of the ceiling',
    f.wakeShare ?? NaN,
    (v) => v >= 0.7,
    pct1,
  );
  add('wake, c=32: p99 ≤ 2× the ceiling', f.wakeP99 ?? NaN, (v) => v <= 2, x);
  add(
    'follow, c=32: forwarded req/s ≥ 70% of the ceiling',
    f.followShare ?? NaN,
    (v) => v >= 0.7,
    pct1,
  );
  add('follow, c=32: p99 ≤ 2× the ceiling', f.followP99 ?? NaN, (v) => v <= 2, x);
  add(
    'wake, c=1: overhead (p50 − ceiling p50) < 0.5 ms',
    f.wakeOverhead ?? NaN,
    (v) => v < 0.5,
    (v) => `${signed(v)} ms`,
  );
  add(
    'follow, c=1: overhead (p50 − ceiling p50) < 0.5 ms',
    f.followOverhead ?? NaN,
    (v) => v < 0.5,
    (v) => `${signed(v)} ms`,
  );
  add('cold start < 400 ms (1 phrase)', f.cold1 ?? NaN, (v) => v < 400, ms);
  add('cold start < 1 s, 100 000 phrases (invented names)', f.cold100k ?? NaN, (v) => v < 1000, ms);
  add(
    'cold start < 1 s, 100 000 phrases (as written)',
    f.cold100kWritten ?? NaN,
    (v) => v < 1000,
    ms,
  );
  for (const r of [LARGE, LARGE_WRITTEN]) {
    const m = input.memory.get(regId(r));
    add(
      `RSS after load < 120 MB, ${regLabel(r)} phrases`,
      megabytes(m?.rss ?? NaN),
      (v) => v < 120,
      mb,
    );
    add(
      `the same, ${SETTLE_S} s after the load (idle)`,
      megabytes(m?.settled ?? NaN),
      (v) => v < 120,
      mb,
    );
  }
  add(
    `≥ 30× the Python service with 1 target (≥ ${f0(30 * PYTHON_ONE)} forwarded req/s), wake, c=32`,
    wake32?.rps ?? NaN,
    (v) => v >= 30 * PYTHON_ONE,
    (v) => `${f0(v)} req/s (${(v / PYTHON_ONE).toFixed(1)}×)`,
  );
  const wake128 = echo('wake', ONE, 128);
  add(
    'the same at c=128 (reported, not judged: above ECHONET_TARGET_MAX_INFLIGHT, answers are target_busy)',
    wake128?.rps ?? NaN,
    undefined,
    (v) =>
      `${f0(v)} forwarded req/s (${(v / PYTHON_ONE).toFixed(1)}×), ${pct(shareFailed(wake128))} not forwarded`,
  );
  add(
    `≥ 30× the Python service with 1 000 targets (≥ ${f0(30 * PYTHON_THOUSAND)} req/s)`,
    echo('wake', reg(1_000), 32)?.rps ?? NaN,
    (v) => v >= 30 * PYTHON_THOUSAND,
    (v) => `${f0(v)} req/s (${(v / PYTHON_THOUSAND).toFixed(1)}×)`,
  );
  for (const [label, id] of [
    ['wake: req/s falls ≤ 10% from 1 to 100 000 phrases (invented names)', 'wake100k'],
    ['follow: req/s falls ≤ 10% from 1 to 100 000 phrases (invented names)', 'follow100k'],
    ['wake: req/s falls ≤ 10% from 1 to 100 000 phrases (as written)', 'wake100kWritten'],
  ] as const) {
    add(
      label,
      f[id] ?? NaN,
      (v) => v >= -0.1,
      (v) => `${signed(v * 100)}%`,
    );
  }
  add(
    `${REGISTRATIONS} registrations under load: longest event-loop delay < 20 ms`,
    f.loopMax ?? NaN,
    (v) => v < 20,
    (v) => `${v.toFixed(1)} ms`,
  );
  add(
    `${REGISTRATIONS} registrations under load: /text p99 ≤ 2× the p99 without`,
    f.registerP99 ?? NaN,
    (v) => v <= 2,
    x,
  );
  add(
    `${REGISTRATIONS} registrations under load: every registration and every /text answer forwarded`,
    f.registerFailed ?? NaN,
    (v) => v === 0,
    (v) => `${v} failed`,
  );
  checks.push({
    target:
      'no failed or unforwarded answers at concurrency ≤ 32 (every round), POST /register load, and the register-load runs without registrations',
    measured: String(failures),
    ok: failures === 0,
  });

  out.push(
    '## Targets (issues 5 and 11)',
    '',
    '| target | measured | met |',
    '| --- | ---: | :---: |',
  );
  for (const c of checks)
    out.push(
      `| ${c.target} | ${c.measured} | ${c.ok === undefined ? '–' : c.ok ? 'yes' : '**no**'} |`,
    );
  out.push('');

  // Only the CI gate decides the exit code; the other targets are reported, not enforced.
  const pass = !quick || (gate >= QUICK_MIN_RATIO && failures === 0);
  return { markdown: out.join('\n'), pass };
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err);
  return 1;
});
