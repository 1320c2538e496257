/**
 * The benchmark's processes: the stub target, the ceiling, Echonet (the production build,
 * dist/echonet.mjs, the bundled CLI) and the load generator, each a child of the orchestrator, on loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from '../load.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
export const CLI = here('../../dist/echonet.mjs');
const STUB = here('../stub-target.ts');
const CEILING = here('../ceiling.ts');
const LOAD = here('../load.ts');

export const API_KEY = 'bench-api-key-0123456789abcdef0123456789';

export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

function startProc(args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts a script that prints `READY <port>`, and resolves with its URL. */
async function startReady(
  args: string[],
  nodeArgs: string[] = [],
): Promise<Proc & { url: string }> {
  const proc = startProc([...nodeArgs, '--import', 'tsx', ...args]);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args[0]} did not start:\n${proc.output()}`)),
      15_000,
    );
    proc.child.stdout?.on('data', () => {
      const m = /READY (\d+)/.exec(proc.output());
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code}:\n${proc.output()}`));
    });
  });
  return { ...proc, url: `http://127.0.0.1:${port}` };
}

export const startStub = () => startReady([STUB]);
export const startCeiling = (listenUrl: string, cpuProfDir?: string) =>
  startReady([CEILING, listenUrl], cpuProfDir ? cpuProfArgs(cpuProfDir) : []);

const cpuProfArgs = (dir: string) => ['--cpu-prof', '--cpu-prof-dir', dir];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function healthStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', () => resolve(0));
    req.end();
  });
}

export interface EchonetOptions {
  readonly dbPath: string;
  /** Another build's CLI to start instead of dist/echonet.mjs (bench/compare.ts). */
  readonly cli?: string;
  /** Write a V8 CPU profile into this folder when the process exits. */
  readonly cpuProfDir?: string;
  /** Extra `node` flags (bench/compare.ts `label=cli+--flag`). */
  readonly nodeArgs?: readonly string[];
  /** Extra environment (bench/compare.ts `label=cli+NAME=value`). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface Echonet extends Proc {
  readonly url: string;
  /** Milliseconds from spawn to the first 200 on /health. */
  readonly startMs: number;
}

/** How a build starts: environment assignments and node flags from its first line. */
export interface Launch {
  readonly env: Readonly<Record<string, string>>;
  readonly nodeArgs: readonly string[];
}

/**
 * The environment and node flags a build's first line (`#!/usr/bin/env -S NAME=value node --flag
 * …`) starts it with, so the benchmark runs Echonet exactly as the `echonet` command and `npm start`
 * do.
 */
export function launchOf(cli: string): Launch {
  // The first line only, not the 2 MB bundle.
  const head = Buffer.alloc(256);
  const fd = openSync(cli, 'r');
  let read: number;
  try {
    read = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const first = head.toString('utf8', 0, read).split('\n', 1)[0] ?? '';
  const m = /^#!\S*env(?: -S)?((?: [A-Z_]+=\S+)*) node((?: \S+)*)\s*$/.exec(first);
  if (!m) throw new Error(`${cli}: first line is not a node shebang: ${first}`);
  return { env: envAssignments(m[1]!.split(' ')), nodeArgs: m[2]!.split(' ').filter(Boolean) };
}

/** `NAME=value` words as an environment object (other words are ignored). */
export function envAssignments(words: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const w of words) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(w);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/**
 * Settings every Echonet of this bench run starts with (`bench/run.ts --event-log LEVEL`), set
 * once before the first start. The parent's own ECHONET_* variables are never passed through.
 */
const benchEnv: Record<string, string> = {};
export function setBenchEchonetEnv(name: string, value: string): void {
  benchEnv[name] = value;
}

/** Spawns `echonet serve` as in production and waits for its first 200 on /health. */
export async function startEchonet(options: EchonetOptions): Promise<Echonet> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ECHONET_')) env[k] = v;
  Object.assign(env, {
    NODE_ENV: 'production',
    ECHONET_HOST: '127.0.0.1',
    ECHONET_PORT: String(port),
    ECHONET_DB_PATH: options.dbPath,
    ECHONET_API_KEY: API_KEY,
    ECHONET_LOG_LEVEL: 'warn',
    // Follow-up sessions must outlive the whole run.
    ECHONET_SESSION_TIMEOUT_S: '3600',
  });
  const prof = options.cpuProfDir ? cpuProfArgs(options.cpuProfDir) : [];
  const url = `http://127.0.0.1:${port}`;
  const cli = options.cli ?? CLI;
  const launch = launchOf(cli);
  Object.assign(env, launch.env, benchEnv, options.env);
  const flags = [...prof, ...launch.nodeArgs, ...(options.nodeArgs ?? [])];
  // Cold start is timed from here: spawn to the first 200 on /health.
  const t0 = performance.now();
  const proc = startProc([...flags, cli, 'serve'], env);
  const deadline = t0 + 60_000;
  while ((await healthStatus(url)) !== 200) {
    if (proc.child.exitCode !== null) throw new Error(`echonet exited:\n${proc.output()}`);
    if (performance.now() > deadline) {
      await proc.stop();
      throw new Error(`echonet did not answer /health:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return { ...proc, url, startMs: performance.now() - t0 };
}

/** Resident and peak resident memory of a process, in MiB (Linux /proc). */
export function memoryMiB(pid: number): { rss: number; peak: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024 };
}

/** USER_HZ: the unit of /proc/<pid>/stat times, 100 on every Linux build Node supports. */
const CLOCK_TICKS = 100;

/** CPU time (user + system) a process has used so far, in seconds (Linux /proc). */
export function cpuSeconds(pid: number): number {
  return statSeconds(`/proc/${pid}/stat`);
}

/**
 * CPU time of the process's main thread alone (its event loop, where a request's work is
 * serialised), in seconds: the rest of `cpuSeconds` is worker threads, V8's helpers and libuv's pool.
 */
export function mainThreadCpuSeconds(pid: number): number {
  return statSeconds(`/proc/${pid}/task/${pid}/stat`);
}

function statSeconds(path: string): number {
  const stat = readFileSync(path, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Runs the load generator in its own process and returns what it measured. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return resultOf(startProc(['--import', 'tsx', LOAD, JSON.stringify(spec)]));
}

async function resultOf(proc: Proc): Promise<LoadResult> {
  const code =
    proc.child.exitCode ??
    (await new Promise<number | null>((resolve) => proc.child.once('exit', resolve)));
  const last =
    proc
      .output()
      .split('\n')
      .findLast((line) => line.startsWith('{')) ?? '';
  if (code !== 0 || last === '') {
    throw new Error(`load generator failed (${code}):\n${proc.output()}`);
  }
  return JSON.parse(last) as LoadResult;
}

export interface RunningLoad {
  /** Ends the measured run and returns what it measured. */
  finish(): Promise<LoadResult>;
}

/**
 * Starts the load generator for a run that lasts until `finish()` (at most `spec.durationS`), and
 * resolves once its measured run has started (after the warm-up).
 */
export async function startLoad(spec: LoadSpec): Promise<RunningLoad> {
  const proc = startProc([
    '--import',
    'tsx',
    LOAD,
    JSON.stringify({ ...spec, untilStopped: true }),
  ]);
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (!proc.output().includes('RUNNING\n')) return;
      proc.child.stdout?.off('data', onData);
      proc.child.off('exit', onExit);
      resolve();
    };
    const onExit = (code: number | null) =>
      reject(new Error(`load generator exited (${code}):\n${proc.output()}`));
    proc.child.stdout?.on('data', onData);
    proc.child.once('exit', onExit);
  });
  return {
    finish() {
      proc.child.kill('SIGUSR2');
      return resultOf(proc);
    },
  };
}

export function machine(): { cpu: string; cores: number } {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? 'unknown CPU';
  const cores = (info.match(/^processor\s*:/gm) ?? []).length;
  return { cpu, cores };
}
