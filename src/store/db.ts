/**
 * Opening the SQLite file. Every check that could reject the file runs before Echonet writes a
 * single byte to it, so a wrong ECHONET_DB_PATH never damages someone's data.
 */
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { EchonetError, StorageError } from '../errors.js';

export type Db = Database.Database;

/** Milliseconds a statement waits for another connection's write lock before failing. */
export const BUSY_TIMEOUT_MS = 10_000;

/** The page cache of a writing connection, in KiB. */
export const PAGE_CACHE_KIB = 2000;

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export interface OpenOptions {
  /** Open without creating or writing anything (inspection and backups). */
  readonly readonly?: boolean;
  /** Runs before Echonet first writes to the file (e.g. the schema-version check); may throw. */
  readonly verify?: (db: Db) => void;
}

/** Opens (creating if needed) the database at `path` with WAL, a busy timeout and foreign keys. */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  const file = resolve(path);
  const exists = checkExistingFile(file);
  if (!exists) {
    if (options.readonly) throw new StorageError(`database ${file} does not exist`);
    try {
      createFolders(dirname(file));
    } catch (err) {
      throw new StorageError(
        `cannot create the folder for database ${file}: ${(err as Error).message}`,
      );
    }
  }

  let db: Db;
  try {
    db = new Database(file, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
      timeout: BUSY_TIMEOUT_MS,
    });
  } catch (err) {
    throw new StorageError(`cannot open database ${file}: ${(err as Error).message}`);
  }

  try {
    // Fails fast on a damaged file before anything is written to it.
    if (exists) assertIntact(db, file);
    options.verify?.(db);
    if (!options.readonly) {
      withBusyRetry(() => db.pragma('journal_mode = WAL'));
      // FULL: an acknowledged registration survives power loss, not only a crash. Writes are rare.
      db.pragma('synchronous = FULL');
      // SQLite's own default page cache (2 MB), not better-sqlite3's 16 MB: the decision log
      // appends to this connection all day, and every page it writes would stay cached (and
      // resident) up to the limit. The registry's hot pages (B-tree roots and inner pages) fit.
      db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    }
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db.close();
    if (err instanceof EchonetError) throw err;
    throw new StorageError(`cannot use database ${file}: ${(err as Error).message}`);
  }
  return db;
}

/** Returns whether the file exists; throws if it exists but is not an SQLite database. */
function checkExistingFile(file: string): boolean {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new StorageError(`database path ${file} is not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof StorageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file; createFolders names it.
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new StorageError(`cannot read database ${file}: ${(err as Error).message}`);
  }
  // SQLite treats an empty file as a new database.
  if (size === 0) return true;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new StorageError(`cannot read database ${file}: ${(err as Error).message}`);
  }
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!header.equals(SQLITE_HEADER)) {
    throw new StorageError(`${file} is not an SQLite database; refusing to touch it`);
  }
  return true;
}

/**
 * Creates `dir` and its missing parents one level at a time. (`mkdirSync(..., {recursive: true})`
 * never returns for some paths, e.g. under /proc, where mkdir reports ENOENT for a parent that
 * exists.)
 */
function createFolders(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(d) === d) throw err;
      missing.push(d);
      continue;
    }
    if (!st.isDirectory()) throw new Error(`${d} is not a folder`);
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      // Another process starting on the same path may have made it first.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

function assertIntact(db: Db, file: string): void {
  let result: unknown;
  try {
    result = db.pragma('quick_check', { simple: true });
  } catch (err) {
    throw new StorageError(
      `database ${file} is damaged: ${oneLine((err as Error).message)}; ` +
        'restore it from a backup or point ECHONET_DB_PATH at another file (it was not changed)',
    );
  }
  if (result !== 'ok') {
    throw new StorageError(
      `database ${file} is damaged (quick_check: ${oneLine(String(result))}); ` +
        'restore it from a backup or point ECHONET_DB_PATH at another file (it was not changed)',
    );
  }
}

/** SQLite's multi-line reports, shortened to fit the one line start-up failures get. */
function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Switching to WAL needs a moment of exclusive access, which SQLite does not wait for through the
 * busy handler; two processes starting together on a fresh file would otherwise race here.
 */
function withBusyRetry<T>(fn: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}
