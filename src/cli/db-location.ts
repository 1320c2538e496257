/**
 * Whether Echonet can write where ECHONET_DB_PATH points, checked before SQLite tries: SQLite's
 * own words for it ("unable to open database file", "attempt to write a readonly database") do
 * not say what to change, and the second reads like a damaged file.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StorageError } from '../errors.js';

const ADVICE = 'set ECHONET_DB_PATH (or --db-path) to a file in a folder this user can write';

/** Throws StorageError (one line, saying what to do) when the database could not be written. */
export function assertWritableDbLocation(dbPath: string): void {
  const file = resolve(dbPath);
  if (exists(file) && !can(file, constants.R_OK | constants.W_OK)) {
    throw new StorageError(
      `database ${file} is not writable by this user; fix its permissions, or ${ADVICE}`,
    );
  }
  // SQLite creates the -wal and -shm files beside the database, so its folder must be writable
  // too; a folder that does not exist yet is created in the nearest one that does.
  let folder = dirname(file);
  while (!exists(folder) && dirname(folder) !== folder) folder = dirname(folder);
  // A file where a folder should be: the store names it when it tries to create the folder.
  if (!statSync(folder).isDirectory()) return;
  if (!can(folder, constants.W_OK | constants.X_OK)) {
    throw new StorageError(
      `folder ${folder} is not writable by this user, and database ${file} needs it; make it writable, or ${ADVICE}`,
    );
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function can(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * `dbPath`, which must exist: commands about a server's database (keys, listen modes) must not
 * create a new file for a mistyped path, where no server would see what they write.
 */
export function existingDbFile(dbPath: string): string {
  if (!existsSync(dbPath)) {
    throw new StorageError(
      `database ${resolve(dbPath)} does not exist; start the server once first, or check --db-path / ECHONET_DB_PATH`,
    );
  }
  return dbPath;
}
