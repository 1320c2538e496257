/** Runs the built `echonet` command (dist/echonet.mjs, the file users run) as a real child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterFile } from './cleanup.js';
import { GENEROUS_MS } from './wait.js';

export const CLI = fileURLToPath(new URL('../../dist/echonet.mjs', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `echonet ...args` to completion with only the given ECHONET_* variables set. */
export function runCli(
  args: string[],
  options: {
    env?: Record<string, string>;
    cwd?: string;
    input?: string;
    timeoutMs?: number;
    /** Run as this user (needs root): file permissions apply to it as to any user. */
    user?: { uid: number; gid: number };
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      ...options.user,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The parent's environment without any ECHONET_* variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ECHONET_')) env[k] = v;
  return { ...env, ...extra };
}

export interface RunningServer {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `echonet serve` on 127.0.0.1 with a free port and waits until it answers /health.
 * `executable`: run the command file itself, as users do, so its first line picks node's settings.
 */
export async function startServer(
  env: Record<string, string>,
  options: { cwd?: string; executable?: boolean } = {},
): Promise<RunningServer> {
  const [file, args] = options.executable ? [CLI, ['serve']] : [process.execPath, [CLI, 'serve']];
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: cleanEnv({ ECHONET_HOST: '127.0.0.1', ECHONET_PORT: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (running()) child.kill(signal);
    return exited;
  };
  // No server outlives its test file: one still running then (its test never stopped it, failed
  // first, or it never came up) is stopped, and killed if it has not exited within GENEROUS_MS.
  afterFile(async () => {
    if (!running()) return;
    const kill = setTimeout(() => child.kill('SIGKILL'), GENEROUS_MS);
    await stop();
    clearTimeout(kill);
  });

  const url = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 10_000);
    const check = () => {
      const m = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m?.[1]) {
        clearTimeout(deadline);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(deadline);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });

  return {
    child,
    url,
    output: () => out,
    stop,
  };
}
