/** Runs a `sh` command line the way a user types it, for tests of pipes and documented commands. */
import { execFile } from 'node:child_process';
import { cleanEnv, type CliResult } from './cli.js';

/** Runs `sh -c script` with `$0`, `$1`, ... set to `args`, without any ECHONET_* variable. */
export function runShell(
  script: string,
  args: string[],
  options: { cwd?: string; shell?: string } = {},
): Promise<CliResult & { code: number }> {
  return new Promise((resolve) =>
    execFile(
      options.shell ?? 'sh',
      ['-c', script, ...args],
      { cwd: options.cwd, env: cleanEnv() },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    ),
  );
}
