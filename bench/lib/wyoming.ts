/**
 * The Wyoming scenario (`--scenario wyoming`): one Echonet (1 phrase) with ECHONET_WYOMING_PORT,
 * loaded in turn over HTTP (POST /text, keep-alive, autocannon) and over Wyoming with a new
 * connection per transcript (as Home Assistant connects) and with one persistent connection per
 * client, all at the same concurrency, interleaved for `rounds` rounds, best of each. The figures
 * that matter are the ratios to HTTP from the same run, on the same machine and stub target.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from '../load.js';
import type { WyomingLoadSpec, WyomingMode } from '../wyoming-load.js';
import { API_KEY, freePort, runLoad, startEchonet, type Echonet } from './procs.js';
import { seedRegistry, syntheticRegistry } from './registry.js';

const LOAD = fileURLToPath(new URL('../wyoming-load.ts', import.meta.url));
export const WYOMING_CONNECTIONS = 32;

export interface WyomingBenchResult {
  readonly connections: number;
  readonly rounds: number;
  readonly http: LoadResult;
  readonly perUtterance: LoadResult;
  readonly persistent: LoadResult;
}

export interface WyomingBenchOptions {
  readonly dbPath: string;
  readonly stubUrl: string;
  readonly warmupS: number;
  readonly durationS: number;
  readonly rounds: number;
  /** Checks Echonet routes the wake workload before it is measured (throws if not). */
  readonly checkWorkload: (e: Echonet) => Promise<void>;
  readonly log: (msg: string) => void;
}

export async function runWyomingBench(options: WyomingBenchOptions): Promise<WyomingBenchResult> {
  const { log } = options;
  seedRegistry(options.dbPath, syntheticRegistry(1, options.stubUrl, 'invented'));
  const port = await freePort();
  const echonet = await startEchonet({
    dbPath: options.dbPath,
    env: { ECHONET_WYOMING_PORT: String(port) },
  });
  try {
    await options.checkWorkload(echonet);
    const best = new Map<string, LoadResult>();
    const keep = (k: string, r: LoadResult) => {
      const prev = best.get(k);
      if (!prev || r.rps > prev.rps) best.set(k, r);
    };
    const line = (what: string, r: LoadResult) =>
      log(
        `${what} c=${WYOMING_CONNECTIONS}: ${r.rps.toFixed(0)}/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)}${r.failures ? ` FAILURES ${r.failures}` : ''}`,
      );
    for (let round = 0; round < options.rounds; round++) {
      const http = await runLoad({
        url: echonet.url,
        apiKey: API_KEY,
        workload: 'wake',
        stubUrl: options.stubUrl,
        connections: WYOMING_CONNECTIONS,
        warmupS: options.warmupS,
        durationS: options.durationS,
      });
      keep('http', http);
      line('http /text', http);
      for (const mode of ['per-utterance', 'persistent'] as const) {
        const r = await runWyomingLoad({
          port,
          mode,
          connections: WYOMING_CONNECTIONS,
          warmupS: options.warmupS,
          durationS: options.durationS,
        });
        keep(mode, r);
        line(`wyoming ${mode}`, r);
      }
    }
    return {
      connections: WYOMING_CONNECTIONS,
      rounds: options.rounds,
      http: best.get('http')!,
      perUtterance: best.get('per-utterance')!,
      persistent: best.get('persistent')!,
    };
  } finally {
    await echonet.stop();
  }
}

async function runWyomingLoad(spec: WyomingLoadSpec & { mode: WyomingMode }): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', LOAD, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const last = out.split('\n').findLast((l) => l.startsWith('{'));
  if (code !== 0 || last === undefined) throw new Error(`wyoming load failed (${code}):\n${out}`);
  return JSON.parse(last) as LoadResult;
}

/** The report's section: each front end's rate and latency, and its ratio to HTTP. */
export function renderWyoming(r: WyomingBenchResult): string {
  const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
  const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
  const ratio = (x: LoadResult) => (r.http.rps > 0 ? `${(x.rps / r.http.rps).toFixed(2)}×` : '–');
  const row = (what: string, x: LoadResult) =>
    `| ${what} | ${f0(x.rps)} | ${f2(x.p50)} | ${f2(x.p99)} | ${ratio(x)} | ${x.failures} |`;
  return [
    '',
    `## Wyoming beside HTTP (1 phrase, concurrency ${r.connections}, best of ${r.rounds} interleaved rounds)`,
    '',
    'Transcripts (Wyoming) and POST /text requests (HTTP) forwarded per second; only forwarded',
    'utterances count (`handled`, `forwarded: true`).',
    '',
    '| Front end | per s | p50 ms | p99 ms | vs HTTP | failures |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('HTTP POST /text, keep-alive connections', r.http),
    row('Wyoming, a new connection per transcript (as Home Assistant)', r.perUtterance),
    row('Wyoming, one persistent connection per client', r.persistent),
    '',
  ].join('\n');
}
