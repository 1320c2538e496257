/** Temporary folders for real SQLite files, removed after the test file finishes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterFile } from './cleanup.js';

/** A fresh folder under the OS temp dir, removed when the test file's tests are done. */
export function tempDir(prefix = 'echonet-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterFile(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let counter = 0;
/** A path for a database file that does not exist yet. */
export function tempDbPath(dir = tempDir()): string {
  return join(dir, `registry-${process.pid}-${++counter}.db`);
}
