/**
 * `echonet serve` on storage it cannot use: it stops with one clear line (no stack trace) and a
 * non-zero exit, and never changes the file it was pointed at, nor leaves -wal/-shm beside it.
 * (Tests may run as root, which ignores permissions, so "cannot create" uses a path under a regular
 * file and /proc, which refuse everyone.)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const ENV = {
  ECHONET_API_KEY: 'bad-storage-test-key',
  ECHONET_HOST: '127.0.0.1',
  ECHONET_PORT: '0',
};

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Runs `serve` (or another command) on `dbPath`; it must fail at start-up. */
async function failsToStart(dbPath: string, args = ['serve']): Promise<string> {
  const result: CliResult = await runCli(args, {
    env: { ...ENV, ECHONET_DB_PATH: dbPath },
    timeoutMs: 10_000,
  });
  expect(result.code, `expected a failed start, got:\n${result.stdout}${result.stderr}`).not.toBe(
    0,
  );
  expect(result.code).not.toBeNull(); // null: it kept running until the runner killed it
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(result.stderr).toMatch(/^echonet: /);
  expect(result.stderr).not.toMatch(/\n\s+at |unexpected error/);
  // Nothing was listening, so nothing was logged.
  expect(result.stdout).not.toMatch(/Server listening/);
  return lines[0] ?? '';
}

/** The folder's entries and each file's hash, to show nothing was created, changed or removed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    out[name] = statSync(p).isFile() ? sha256(p) : 'dir';
  }
  return out;
}

describe('echonet serve on unusable storage', () => {
  it('refuses a path under a regular file (the folder cannot be created)', async () => {
    const dir = tempDir();
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'my notes\n');
    const before = snapshot(dir);
    const line = await failsToStart(join(file, 'sub', 'registry.db'));
    expect(line).toContain('cannot create the folder for database');
    expect(line).toContain(`${file} is not a folder`);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses a folder that the system will not create, promptly', async () => {
    const path = `/proc/echonet-test-${process.pid}/deeper/registry.db`;
    const line = await failsToStart(path);
    expect(line).toContain(`cannot create the folder for database ${path}`);
    expect(existsSync(`/proc/echonet-test-${process.pid}`)).toBe(false);
  });

  it('refuses a file that cannot be created in an existing folder', async () => {
    const line = await failsToStart('/proc/echonet-registry.db');
    expect(line).toContain('cannot open database /proc/echonet-registry.db');
  });

  it('refuses a folder given as the database path', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'registry.db'));
    const line = await failsToStart(join(dir, 'registry.db'));
    expect(line).toContain('is not a regular file');
  });

  it('refuses a text file, leaving it byte for byte as it was, with no -wal or -shm', async () => {
    const dir = tempDir();
    const file = join(dir, 'registry.db');
    writeFileSync(file, 'name,url\njarvis,http://192.168.1.20:5000\n');
    const backup = join(tempDir(), 'backup.json');
    writeFileSync(backup, JSON.stringify({ targets: [] }));
    const before = snapshot(dir);
    for (const args of [['serve'], ['migrate', '--migrate'], ['restore', backup, '--yes']]) {
      const line = await failsToStart(file, args);
      expect(line).toBe(`echonet: ${file} is not an SQLite database; refusing to touch it`);
      expect(snapshot(dir)).toEqual(before);
    }
  });

  it('refuses an SQLite header followed by garbage, leaving the file unchanged', async () => {
    const dir = tempDir();
    const file = join(dir, 'registry.db');
    const garbage = Buffer.alloc(3 * 4096, 0xab);
    Buffer.from('SQLite format 3\0', 'latin1').copy(garbage);
    writeFileSync(file, garbage);
    const before = snapshot(dir);
    const line = await failsToStart(file);
    expect(line).toMatch(/database .*registry\.db is damaged: file is not a database; restore it/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses a real registry whose pages were overwritten, leaving the file unchanged', async () => {
    const dir = tempDir();
    const file = join(dir, 'registry.db');
    const store = openStore(file);
    for (let i = 0; i < 50; i++) {
      store.targets.upsert({
        name: `target-${i}`,
        baseUrl: `http://127.0.0.1:${5000 + i}`,
        phrases: [`hey number ${i}`],
      });
    }
    store.close(); // checkpointed: everything is in the main file now
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(4 * 4096);
    // Keep page 1 (the header and schema) and overwrite the rest, as a failing disk might.
    bytes.fill(0x5a, 4096);
    writeFileSync(file, bytes);
    const before = snapshot(dir);
    expect(Object.keys(before)).toEqual(['registry.db']);

    const line = await failsToStart(file);
    // quick_check either reports the damage or, when the damaged pages hold schema it needs, fails.
    expect(line).toMatch(/is damaged( \(quick_check: .*\)|: .*); restore it from a backup/);
    expect(snapshot(dir)).toEqual(before);
  });
});
