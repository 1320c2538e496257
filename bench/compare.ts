/**
 * A/B comparison of Echonet builds (`tsx bench/compare.ts base=dist/echonet.mjs try=/tmp/x/echonet.mjs`):
 * starts each build on its own copy of the same registry, then measures them in interleaved
 * rounds, so a change to src/ can be judged on a noisy machine before it lands. CPU time per
 * request (from /proc) is the steadiest figure; req/s is the best round, latencies its median.
 *
 *   --workload wake|follow   (wake)     --connections N   (32)
 *   --phrases N              (1)        --rounds N        (3)
 *   --duration S             (3)
 *   --seed FILE              a registry file to start from instead of a synthetic one, for builds
 *                            of different schema versions: make it with the oldest build (each
 *                            newer one migrates its own copy); every target's base_url is pointed
 *                            at this run's stub
 *
 * `label=path+--flag+NAME=value` starts that build with extra node flags and environment. Rounds
 * alternate the order of the builds. RSS is read after start and after each round.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { LoadResult } from './load.js';
import {
  API_KEY,
  cpuSeconds,
  mainThreadCpuSeconds,
  envAssignments,
  memoryMiB,
  runLoad,
  startEchonet,
  startStub,
  type Echonet,
} from './lib/procs.js';
import { seedRegistry, syntheticRegistry } from './lib/registry.js';
import { primeBody, SOURCES, type Workload } from './lib/workload.js';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workload: { type: 'string', default: 'wake' },
    connections: { type: 'string', default: '32' },
    phrases: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    seed: { type: 'string' },
  },
});
const workload = opts.workload as Workload;
if (workload !== 'wake' && workload !== 'follow') throw new Error('--workload is wake or follow');
const builds = positionals.map((arg) => {
  const eq = arg.indexOf('=');
  const [path = '', ...extra] = (eq > 0 ? arg.slice(eq + 1) : arg).split('+');
  const nodeArgs = extra.filter((w) => w.startsWith('-'));
  const env = envAssignments(extra);
  return { label: eq > 0 ? arg.slice(0, eq) : arg, cli: resolve(path), nodeArgs, env };
});
if (builds.length === 0) throw new Error('usage: compare.ts label=path/to/echonet.mjs ...');

const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

const work = mkdtempSync(join(tmpdir(), 'echonet-compare-'));
const stub = await startStub();
const running: Echonet[] = [];
try {
  const seed = join(work, 'seed.db');
  if (opts.seed) {
    copyFileSync(resolve(opts.seed), seed);
    const db = new Database(seed);
    db.prepare('UPDATE targets SET base_url = ?').run(stub.url);
    db.close();
  } else {
    seedRegistry(seed, syntheticRegistry(Number(opts.phrases), stub.url));
  }
  for (const [i, b] of builds.entries()) {
    const db = join(work, `${i}.db`);
    copyFileSync(seed, db);
    const e = await startEchonet({ dbPath: db, cli: b.cli, nodeArgs: b.nodeArgs, env: b.env });
    running.push(e);
    const m = memoryMiB(e.pid);
    process.stderr.write(
      `${b.label}: started in ${e.startMs.toFixed(0)} ms, RSS ${m.rss.toFixed(0)} MiB (anon ${m.anon.toFixed(0)})\n`,
    );
    if (workload === 'follow') {
      for (let s = 0; s < SOURCES; s++) {
        await fetch(`${e.url}/text`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
          body: primeBody(s),
        });
      }
    }
  }
  const results = builds.map(
    () => [] as (LoadResult & { cpuUs: number; mainUs: number; rss: number; peak: number })[],
  );
  for (let round = 0; round < Number(opts.rounds); round++) {
    // Alternate the order each round, so no build always runs right after the same neighbour.
    const order = running.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const e = running[i]!;
      const cpu0 = cpuSeconds(e.pid);
      const main0 = mainThreadCpuSeconds(e.pid);
      const r = await runLoad({
        url: e.url,
        apiKey: API_KEY,
        workload,
        stubUrl: stub.url,
        connections: Number(opts.connections),
        warmupS: 1,
        durationS: Number(opts.duration),
      });
      const cpuUs = ((cpuSeconds(e.pid) - cpu0) * 1e6) / r.allRequests;
      const mainUs = ((mainThreadCpuSeconds(e.pid) - main0) * 1e6) / r.allRequests;
      const m = memoryMiB(e.pid);
      results[i]!.push({ ...r, cpuUs, mainUs, rss: m.rss, peak: m.peak });
      process.stderr.write(
        `${builds[i]!.label} round ${round + 1}: ${r.rps.toFixed(0)} req/s, ${cpuUs.toFixed(0)} CPU µs/req ` +
          `(main thread ${mainUs.toFixed(0)}), ` +
          `RSS ${m.rss.toFixed(0)} MiB (anon ${m.anon.toFixed(0)}, peak ${m.peak.toFixed(0)})\n`,
      );
    }
  }
  console.log(
    `\n${workload}, ${opts.phrases} phrases, concurrency ${opts.connections}, ${opts.rounds} rounds\n`,
  );
  console.log(
    '| build | best req/s | median CPU µs/req | main thread | least CPU µs/req | median p50 ms | median p99 ms | RSS after load MiB | peak MiB | failures |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [i, b] of builds.entries()) {
    const rs = results[i]!;
    console.log(
      `| ${b.label} | ${Math.max(...rs.map((r) => r.rps)).toFixed(0)} | ${median(rs.map((r) => r.cpuUs)).toFixed(0)} | ` +
        `${median(rs.map((r) => r.mainUs)).toFixed(0)} | ` +
        `${Math.min(...rs.map((r) => r.cpuUs)).toFixed(0)} | ` +
        `${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(rs.map((r) => r.p99)).toFixed(2)} | ` +
        `${rs.at(-1)!.rss.toFixed(0)} | ${rs.at(-1)!.peak.toFixed(0)} | ${rs.reduce((n, r) => n + r.failures, 0)} |`,
    );
  }
} finally {
  for (const e of running) await e.stop();
  await stub.stop();
  rmSync(work, { recursive: true, force: true });
}
