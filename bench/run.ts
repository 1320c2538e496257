/**
 * End-to-end benchmark (`npm run bench`): the production build of Echonet, a stub target and a
 * separate autocannon load generator, on loopback, against a ceiling (bench/ceiling.ts: parse the
 * JSON, forward it with undici, nothing else) measured in the same run on the same stub.
 *
 *   --quick            a few seconds: Echonet and the ceiling at concurrency 32, interleaved twice,
 *                      best of each; exits 1 if Echonet reaches under 50% of the ceiling (CI).
 *   --scenario <name>  one scenario for development: text-wake, text-follow, registry, register,
 *                      cold-start.
 *   --profile          run Echonet under `node --cpu-prof` and print where its CPU time went.
 *
 * The full run writes bench/results/latest.md; --quick writes bench/results/quick.md.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LoadResult } from './load.js';
import { formatSummary } from './lib/cpuprofile.js';
import {
  API_KEY,
  cpuSeconds,
  machine,
  memoryMiB,
  runLoad,
  startCeiling,
  startEchonet,
  startStub,
  type Echonet,
} from './lib/procs.js';
import { seedRegistry, syntheticRegistry } from './lib/registry.js';
import {
  body,
  distinctBodies,
  pathOf,
  primeBody,
  SOURCES,
  WAKE_TARGET,
  type Workload,
} from './lib/workload.js';

const SCENARIOS = ['text-wake', 'text-follow', 'registry', 'register', 'cold-start'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
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
const SIZES = [1, 1_000, 100_000];
const QUICK_MIN_RATIO = 0.5;

interface Point {
  readonly workload: Workload;
  readonly phrases: number;
  readonly connections: number;
}

/** What to measure on Echonet's /text (the ceiling is measured at every concurrency used). */
function textPoints(): Point[] {
  if (quick) return [{ workload: 'wake', phrases: 1, connections: 32 }];
  const points: Point[] = [];
  for (const workload of ['wake', 'follow'] as const) {
    if (wants(workload === 'wake' ? 'text-wake' : 'text-follow')) {
      for (const connections of [1, 32, 128]) points.push({ workload, phrases: 1, connections });
    }
    if (wants('registry')) {
      for (const phrases of SIZES) {
        if (
          !points.some(
            (p) => p.workload === workload && p.phrases === phrases && p.connections === 32,
          )
        ) {
          points.push({ workload, phrases, connections: 32 });
        }
      }
    }
  }
  return points;
}

const key = (system: string, p: Point) => `${system}/${p.workload}/${p.phrases}/${p.connections}`;
/** A load run plus the CPU time the server under test spent per request (warm-up included). */
interface Measured extends LoadResult {
  readonly cpuUsPerRequest: number;
}

const best = new Map<string, Measured>();
function keepBest(k: string, r: Measured): void {
  const prev = best.get(k);
  if (!prev || r.rps > prev.rps) best.set(k, r);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};

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
): Promise<Measured> {
  const cpu0 = cpuSeconds(server.pid);
  const r = await runLoad({
    url: server.url,
    apiKey: API_KEY,
    workload,
    stubUrl,
    connections,
    warmupS: WARMUP_S,
    durationS: DURATION_S,
  });
  return { ...r, cpuUsPerRequest: ((cpuSeconds(server.pid) - cpu0) * 1e6) / r.allRequests };
}

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
    const sizes = [...new Set(points.map((p) => p.phrases))];
    if (wants('register') && !sizes.includes(1)) sizes.unshift(1);
    if (wants('cold-start') && !sizes.includes(100_000)) sizes.push(100_000);
    if (quick && !sizes.includes(1)) sizes.unshift(1);
    const dbs = new Map<number, string>();
    for (const size of sizes) {
      const t0 = performance.now();
      const db = join(work, `registry-${size}.db`);
      seedRegistry(db, syntheticRegistry(size, stub.url));
      dbs.set(size, db);
      log(`seeded ${size} phrases in ${(performance.now() - t0).toFixed(0)} ms`);
    }

    // Cold start first, while nothing else is running.
    const cold = new Map<number, number[]>();
    const coldSizes = quick ? [1] : wants('cold-start') ? [1, 100_000] : [];
    for (const size of coldSizes) {
      const runs: number[] = [];
      for (let i = 0; i < (size === 1 ? 5 : 3); i++) {
        const e = await startEchonet({ dbPath: dbs.get(size)! });
        runs.push(e.startMs);
        await e.stop();
      }
      cold.set(size, runs);
      log(`cold start, ${size} phrases: ${runs.map((r) => r.toFixed(0)).join(', ')} ms`);
    }

    // One Echonet per registry size, all up at once so rounds can interleave them.
    const echonets = new Map<number, Echonet>();
    const textSizes = [...new Set(points.map((p) => p.phrases))];
    if (wants('register') && !textSizes.includes(1)) textSizes.unshift(1);
    for (const size of textSizes) {
      const e = await startEchonet({ dbPath: dbs.get(size)!, cpuProfDir: profDir });
      running.push(e);
      echonets.set(size, e);
      labels.set(e.pid, `Echonet, ${size} phrases`);
      for (const workload of new Set(
        points.filter((p) => p.phrases === size).map((p) => p.workload),
      )) {
        await checkWorkload(e, workload, stub.url);
      }
    }
    const ceiling = points.length > 0 ? await startCeiling(listenUrl, profDir) : undefined;
    if (ceiling) {
      running.push(ceiling);
      labels.set(ceiling.pid, 'Ceiling');
    }

    for (const connections of [1, 128, 32]) {
      const at = points.filter((p) => p.connections === connections);
      if (at.length === 0 || !ceiling) continue;
      for (let round = 0; round < (connections === 32 ? ROUNDS : 1); round++) {
        const c = await load(ceiling, 'wake', connections, stub.url);
        keepBest(key('ceiling', { workload: 'wake', phrases: 0, connections }), c);
        log(
          `ceiling c=${connections}: ${c.rps.toFixed(0)} req/s p50 ${c.p50.toFixed(2)} p99 ${c.p99.toFixed(2)}`,
        );
        for (const p of at) {
          const r = await load(echonets.get(p.phrases)!, p.workload, connections, stub.url);
          keepBest(key('echonet', p), r);
          log(
            `echonet ${p.workload} ${p.phrases} phrases c=${connections}: ${r.rps.toFixed(0)} req/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)}${r.failures ? ` FAILURES ${r.failures}` : ''}`,
          );
        }
      }
    }

    const memory = new Map<number, { rss: number; peak: number; settled?: number }>();
    for (const [size, e] of echonets)
      if (points.some((p) => p.phrases === size)) memory.set(size, memoryMiB(e.pid));
    if (!quick && memory.size > 0) {
      // V8 gives the heap back only once a process has been idle for a while (its memory
      // reducer starts ~8 s after the last major GC), which is how a home hub spends most time.
      await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
      for (const [size, m] of memory) m.settled = memoryMiB(echonets.get(size)!.pid).rss;
    }

    let register: Measured | undefined;
    if (wants('register')) {
      const e = echonets.get(1)!;
      await checkWorkload(e, 'register', stub.url);
      register = await load(e, 'register', 32, stub.url);
      log(`register c=32: ${register.rps.toFixed(0)} req/s`);
    }

    for (const p of running.splice(1)) await p.stop();
    const report = renderReport({
      points,
      cold,
      memory,
      register,
      seconds: (Date.now() - started) / 1000,
    });
    process.stdout.write(report.markdown);
    if (only === undefined) {
      const dir = fileURLToPath(new URL('./results/', import.meta.url));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, quick ? 'quick.md' : 'latest.md'), report.markdown);
    }
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

// ---- report ---------------------------------------------------------------------------------

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const pct = (n: number) => (Number.isFinite(n) ? `${Math.round(n * 100)}%` : '–');
/** For verdicts: one decimal, so 69.9% is not shown as a failed 70%. */
const pct1 = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : '–');
const signed = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(2)}` : '–');
const phrasesLabel = (n: number) => n.toLocaleString('en-US');

interface ReportInput {
  readonly points: Point[];
  readonly cold: Map<number, number[]>;
  readonly memory: Map<number, { rss: number; peak: number; settled?: number }>;
  readonly register: Measured | undefined;
  readonly seconds: number;
}

function renderReport(input: ReportInput): { markdown: string; pass: boolean } {
  const { cpu, cores } = machine();
  const echo = (p: Point) => best.get(key('echonet', p));
  const ceil = (connections: number) =>
    best.get(key('ceiling', { workload: 'wake', phrases: 0, connections }));
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

  if (input.points.length > 0) {
    out.push(
      '## POST /text, forwarded to a stub target',
      '',
      '`wake`: "hey astraea …" from 256 speakers, each opening a session; `follow`: follow-ups in open sessions (`session_continue`). ' +
        'Ceiling: bench/ceiling.ts (parse JSON, forward with undici, answer). Latencies in ms.',
      '',
      '| workload | phrases | conc. | req/s | p50 | p99 | CPU µs/req | ceiling req/s | ceiling p50 | ceiling p99 | ceiling CPU µs/req | req/s vs ceiling | p99 vs ceiling | overhead p50 | failures |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    const sorted = [...input.points].sort(
      (a, b) =>
        a.workload.localeCompare(b.workload) * -1 ||
        a.phrases - b.phrases ||
        a.connections - b.connections,
    );
    for (const p of sorted) {
      const r = echo(p);
      const c = ceil(p.connections);
      if (!r) continue;
      out.push(
        `| ${p.workload} | ${phrasesLabel(p.phrases)} | ${p.connections} | ${f0(r.rps)} | ${f2(r.p50)} | ${f2(r.p99)} | ${f0(r.cpuUsPerRequest)} | ` +
          `${f0(c?.rps ?? NaN)} | ${f2(c?.p50 ?? NaN)} | ${f2(c?.p99 ?? NaN)} | ${f0(c?.cpuUsPerRequest ?? NaN)} | ` +
          `${pct(r.rps / (c?.rps ?? NaN))} | ${f2(r.p99 / (c?.p99 ?? NaN))}× | ${signed(r.p50 - (c?.p50 ?? NaN))} | ${r.failures} |`,
      );
    }
    out.push('');
  }

  const scaled = input.points.filter((p) => p.connections === 32);
  const sizes = [...new Set(scaled.map((p) => p.phrases))].sort((a, b) => a - b);
  if (sizes.length > 1 || input.memory.size > 0) {
    out.push(
      '## Registry size (concurrency 32)',
      '',
      `| phrases | targets | wake req/s | vs 1 phrase | follow req/s | vs 1 phrase | RSS after load | RSS ${SETTLE_S} s later | peak RSS |`,
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const size of sizes) {
      const rps = (workload: Workload) =>
        echo({ workload, phrases: size, connections: 32 })?.rps ?? NaN;
      const base = (workload: Workload) =>
        echo({ workload, phrases: 1, connections: 32 })?.rps ?? NaN;
      const mem = input.memory.get(size);
      out.push(
        `| ${phrasesLabel(size)} | ${phrasesLabel(syntheticRegistry(size, 'http://x').length)} | ${f0(rps('wake'))} | ${signed((rps('wake') / base('wake') - 1) * 100)}% | ` +
          `${f0(rps('follow'))} | ${signed((rps('follow') / base('follow') - 1) * 100)}% | ${mem ? `${mem.rss.toFixed(0)} MiB` : '–'} | ${mem?.settled !== undefined ? `${mem.settled.toFixed(0)} MiB` : '–'} | ${mem ? `${mem.peak.toFixed(0)} MiB` : '–'} |`,
      );
    }
    out.push('');
  }

  if (input.register || input.cold.size > 0) {
    out.push('## Registration and start-up', '', '| measure | result |', '| --- | --- |');
    const reg = input.register;
    if (reg) {
      out.push(
        `| POST /register, concurrency 32, 64 targets re-registered in turn | ${f0(reg.rps)} req/s, p50 ${f2(reg.p50)} ms, p99 ${f2(reg.p99)} ms, ${f0(reg.cpuUsPerRequest)} CPU µs/req, ${reg.failures} failures |`,
      );
    }
    for (const [size, runs] of input.cold) {
      out.push(
        `| cold start (spawn → first 200 on /health), ${phrasesLabel(size)} phrases | median ${f0(median(runs))} ms (${runs.map((r) => r.toFixed(0)).join(', ')}) |`,
      );
    }
    out.push('');
  }

  // Targets from issue 5, for whatever this run measured.
  const checks: { target: string; measured: string; ok: boolean }[] = [];
  const add = (
    target: string,
    value: number,
    ok: (v: number) => boolean,
    show: (v: number) => string,
  ) => {
    if (Number.isFinite(value)) checks.push({ target, measured: show(value), ok: ok(value) });
  };
  const wake32 = echo({ workload: 'wake', phrases: 1, connections: 32 });
  const c32 = ceil(32);
  if (quick) {
    add(
      `req/s ≥ ${pct(QUICK_MIN_RATIO)} of the ceiling (CI gate)`,
      (wake32?.rps ?? NaN) / (c32?.rps ?? NaN),
      (v) => v >= QUICK_MIN_RATIO,
      pct,
    );
  }
  add(
    'wake, c=32: req/s ≥ 70% of the ceiling',
    (wake32?.rps ?? NaN) / (c32?.rps ?? NaN),
    (v) => v >= 0.7,
    pct1,
  );
  add(
    'wake, c=32: p99 ≤ 2× the ceiling',
    (wake32?.p99 ?? NaN) / (c32?.p99 ?? NaN),
    (v) => v <= 2,
    (v) => `${f2(v)}×`,
  );
  const follow32 = echo({ workload: 'follow', phrases: 1, connections: 32 });
  add(
    'follow, c=32: req/s ≥ 70% of the ceiling',
    (follow32?.rps ?? NaN) / (c32?.rps ?? NaN),
    (v) => v >= 0.7,
    pct1,
  );
  add(
    'follow, c=32: p99 ≤ 2× the ceiling',
    (follow32?.p99 ?? NaN) / (c32?.p99 ?? NaN),
    (v) => v <= 2,
    (v) => `${f2(v)}×`,
  );
  for (const workload of ['wake', 'follow'] as const) {
    const r = echo({ workload, phrases: 1, connections: 1 });
    add(
      `${workload}, c=1: overhead (p50 − ceiling p50) < 0.5 ms`,
      (r?.p50 ?? NaN) - (ceil(1)?.p50 ?? NaN),
      (v) => v < 0.5,
      (v) => `${signed(v)} ms`,
    );
  }
  add(
    'cold start < 400 ms (1 phrase)',
    median(input.cold.get(1) ?? []),
    (v) => v < 400,
    (v) => `${f0(v)} ms`,
  );
  // The goal is in MB; readings are in MiB.
  const megabytes = (mib: number) => mib * 1.048576;
  const rss100k = input.memory.get(100_000);
  for (const [label, mib] of [
    ['RSS after load at 100 000 phrases < 120 MB', rss100k?.rss],
    [`the same, ${SETTLE_S} s after the load (idle)`, rss100k?.settled],
  ] as const) {
    add(
      label,
      mib ?? NaN,
      (v) => megabytes(v) < 120,
      (v) => `${megabytes(v).toFixed(0)} MB`,
    );
  }
  // The Python figures are the most that service served; Echonet's peak is the better of the
  // two loaded concurrencies (both are in the table above).
  const wake128 = echo({ workload: 'wake', phrases: 1, connections: 128 });
  const peak1 = Math.max(wake32?.rps ?? NaN, wake128?.rps ?? -Infinity);
  add(
    '≥ 30× the Python service with 1 target (≥ 14 100 req/s), wake, best of c=32 and c=128',
    peak1,
    (v) => v >= 14_100,
    (v) =>
      `${f0(v)} req/s (${(v / 470).toFixed(1)}×; c=32: ${f0(wake32?.rps ?? NaN)}, c=128: ${f0(wake128?.rps ?? NaN)})`,
  );
  const wake1k = echo({ workload: 'wake', phrases: 1_000, connections: 32 });
  add(
    '≥ 30× the Python service with 1 000 targets (≥ 5 310 req/s)',
    wake1k?.rps ?? NaN,
    (v) => v >= 5_310,
    (v) => `${f0(v)} req/s (${(v / 177).toFixed(1)}×)`,
  );
  for (const workload of ['wake', 'follow'] as const) {
    const small = echo({ workload, phrases: 1, connections: 32 })?.rps ?? NaN;
    const large = echo({ workload, phrases: 100_000, connections: 32 })?.rps ?? NaN;
    add(
      `${workload}: req/s falls ≤ 10% from 1 to 100 000 phrases`,
      large / small - 1,
      (v) => v >= -0.1,
      (v) => `${signed(v * 100)}%`,
    );
  }
  const failures =
    [...best.values()].reduce((n, r) => n + r.failures, 0) + (input.register?.failures ?? 0);
  checks.push({ target: 'no failed requests', measured: String(failures), ok: failures === 0 });

  out.push('## Targets (issue 5)', '', '| target | measured | met |', '| --- | ---: | :---: |');
  for (const c of checks) out.push(`| ${c.target} | ${c.measured} | ${c.ok ? 'yes' : '**no**'} |`);
  out.push('');

  // Only the CI gate decides the exit code; the other targets are reported, not enforced.
  const gate = (wake32?.rps ?? 0) / (c32?.rps ?? Infinity);
  const pass = !quick || (gate >= QUICK_MIN_RATIO && failures === 0);
  return { markdown: out.join('\n'), pass };
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err);
  return 1;
});
