/**
 * afterFile (cleanup.ts) and tempDir undo what a test file made inside its tests and beforeEach
 * hooks, where vitest's own afterAll silently never runs: a fixture file is run by a child vitest,
 * and what it reported making must be gone when that run ends.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { tempDir } from './temp.js';

const FIXTURE_CONFIG = fileURLToPath(
  new URL('../fixtures/cleanup/vitest.config.ts', import.meta.url),
);
const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('leaves no folder and no process behind from inside a test or beforeEach', async () => {
  const report = join(tempDir(), 'made.txt');
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(
      process.execPath,
      [VITEST, 'run', '--config', FIXTURE_CONFIG],
      { env: { ...process.env, CLEANUP_REPORT: report } },
      (err, stdout, stderr) =>
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          output: stdout + stderr,
        }),
    );
  });
  expect(result.code, result.output).toBe(0);
  const made = readFileSync(report, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  const dirs = made.filter(([kind]) => kind === 'dir').map(([, dir]) => dir ?? '');
  const pids = made.filter(([kind]) => kind === 'pid').map(([, pid]) => Number(pid));
  expect(dirs).toHaveLength(2);
  expect(pids).toHaveLength(1);
  expect(dirs.filter((dir) => existsSync(dir))).toEqual([]);
  expect(pids.filter(alive)).toEqual([]);
});
