/**
 * The Wyoming scenario (`--scenario wyoming`): one Echonet (1 phrase) with ECHONET_WYOMING_PORT and
 * ECHONET_MQTT_URL (a broker of its own: Mosquitto, or aedes in the bench's process), loaded in
 * turn over HTTP (POST /text, keep-alive, autocannon), over Wyoming with a new connection per
 * transcript (as Home Assistant connects) and with one persistent connection per client, and over
 * MQTT (Hermes textCaptured in, the decision out, one connection per satellite), all at the same
 * concurrency, interleaved for `rounds` rounds, best of each. The figures that matter are the
 * ratios to HTTP from the same run, on the same machine and stub target.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from '../load.js';
import type { MqttLoadSpec } from '../mqtt-load.js';
import type { WyomingLoadSpec, WyomingMode } from '../wyoming-load.js';
import { brokerOn, type Broker } from './broker.js';
import { API_KEY, freePort, runLoad, startEchonet, type Echonet } from './procs.js';
import { seedRegistry, syntheticRegistry } from './registry.js';

const LOAD = fileURLToPath(new URL('../wyoming-load.ts', import.meta.url));
const MQTT_LOAD = fileURLToPath(new URL('../mqtt-load.ts', import.meta.url));
export const WYOMING_CONNECTIONS = 32;

export interface WyomingBenchResult {
  readonly connections: number;
  readonly rounds: number;
  readonly http: LoadResult;
  readonly perUtterance: LoadResult;
  readonly persistent: LoadResult;
  readonly mqtt: LoadResult;
  /** The broker the MQTT figures went through. */
  readonly broker: Broker['kind'];
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
  const broker = brokerOn(await freePort());
  await broker.start();
  let echonet: Echonet;
  try {
    echonet = await startEchonet({
      dbPath: options.dbPath,
      env: { ECHONET_WYOMING_PORT: String(port), ECHONET_MQTT_URL: broker.url },
    });
  } catch (err) {
    await broker.dispose();
    throw err;
  }
  try {
    await untilMqttConnected(echonet.url);
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
      const mqtt = await runMqttLoad({
        brokerUrl: broker.url,
        connections: WYOMING_CONNECTIONS,
        warmupS: options.warmupS,
        durationS: options.durationS,
      });
      keep('mqtt', mqtt);
      line(`mqtt (${broker.kind})`, mqtt);
    }
    return {
      connections: WYOMING_CONNECTIONS,
      rounds: options.rounds,
      http: best.get('http')!,
      perUtterance: best.get('per-utterance')!,
      persistent: best.get('persistent')!,
      mqtt: best.get('mqtt')!,
      broker: broker.kind,
    };
  } finally {
    await echonet.stop();
    await broker.dispose();
  }
}

/** Echonet joins the broker in the background: wait until /health says it has. */
async function untilMqttConnected(url: string): Promise<void> {
  const giveUpAt = performance.now() + 15_000;
  for (;;) {
    const health = (await (await fetch(`${url}/health`)).json()) as { mqtt?: string };
    if (health.mqtt === 'connected') return;
    if (performance.now() > giveUpAt)
      throw new Error(`Echonet did not join the broker: ${health.mqtt}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function runWyomingLoad(spec: WyomingLoadSpec & { mode: WyomingMode }): Promise<LoadResult> {
  return runGenerator(LOAD, spec, 'wyoming');
}

function runMqttLoad(spec: MqttLoadSpec): Promise<LoadResult> {
  return runGenerator(MQTT_LOAD, spec, 'mqtt');
}

/** A load generator in its own process (off the orchestrator's event loop), as bench/load.ts. */
async function runGenerator(script: string, spec: object, what: string): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const last = out.split('\n').findLast((l) => l.startsWith('{'));
  if (code !== 0 || last === undefined) throw new Error(`${what} load failed (${code}):\n${out}`);
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
    `## Wyoming and MQTT beside HTTP (1 phrase, concurrency ${r.connections}, best of ${r.rounds} interleaved rounds)`,
    '',
    'Transcripts (Wyoming), textCaptured messages (MQTT, through a local broker) and POST /text',
    'requests (HTTP) forwarded per second; only forwarded utterances count (`handled`,',
    '`forwarded: true`). The broker and the load generators share the machine with Echonet.',
    '',
    '| Front end | per s | p50 ms | p99 ms | vs HTTP | failures |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('HTTP POST /text, keep-alive connections', r.http),
    row('Wyoming, a new connection per transcript (as Home Assistant)', r.perUtterance),
    row('Wyoming, one persistent connection per client', r.persistent),
    row(`MQTT (${r.broker}), Hermes textCaptured in, decision out`, r.mqtt),
    '',
  ].join('\n');
}
