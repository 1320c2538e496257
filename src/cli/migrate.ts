/** `echonet migrate --status | --migrate`. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  LATEST_VERSION,
  MIGRATIONS,
  migrationHistory,
  tableRowCounts,
} from '../store/migrations.js';
import { StorageError } from '../errors.js';
import { openReadOnly, openStore } from '../store/store.js';
import { assertWritableDbLocation } from './db-location.js';
import type { Output } from './output.js';

/**
 * From which schema version to which an open moved the file, given the versions it applied
 * (`Store.migrated`, always consecutive); `from` is 0 for a file created by that open.
 */
export function upgradeSummary(
  applied: readonly number[],
): { from: number; to: number } | undefined {
  if (applied.length === 0) return undefined;
  return { from: Math.min(...applied) - 1, to: Math.max(...applied) };
}

export function migrateStatus(dbPath: string, io: Output): void {
  // An error, not a report: a wrong path in a script should stop it, not read as "all is well".
  if (!existsSync(dbPath)) {
    throw new StorageError(
      `database ${resolve(dbPath)} does not exist; check ECHONET_DB_PATH or --db-path (Echonet creates it at version ${LATEST_VERSION} on first start)`,
    );
  }
  const store = openReadOnly(dbPath);
  try {
    const { db, version } = store;
    io.out(`database:        ${resolve(dbPath)}`);
    io.out(`schema version:  ${version} (this Echonet knows up to ${LATEST_VERSION})`);
    const pending = MIGRATIONS.filter((m) => m.version > version);
    io.out(
      pending.length === 0
        ? 'pending:         none'
        : `pending:         ${pending.map((m) => `v${m.version} ${m.description}`).join('; ')}`,
    );
    io.out('history:');
    for (const h of migrationHistory(db)) {
      const m = MIGRATIONS.find((x) => x.version === h.version);
      io.out(`  v${h.version}  ${h.appliedAt}  ${m?.description ?? '(unknown)'}`);
    }
    io.out('tables:');
    for (const { name, rows } of tableRowCounts(db)) io.out(`  ${name.padEnd(16)} ${rows} rows`);
  } finally {
    store.close();
  }
}

export function migrateNow(dbPath: string, io: Output): void {
  assertWritableDbLocation(dbPath);
  const store = openStore(dbPath, { migrate: true });
  store.close();
  const applied = store.migrated;
  const upgrade = upgradeSummary(applied);
  if (upgrade === undefined) {
    io.out(`${resolve(dbPath)} is already at version ${LATEST_VERSION}; nothing to do`);
    return;
  }
  const { from, to } = upgrade;
  const versions = applied.map((v) => `v${v}`).join(', ');
  io.out(
    from === 0
      ? `created ${resolve(dbPath)} at version ${to} (applied ${versions})`
      : `upgraded ${resolve(dbPath)} from version ${from} to ${to} (applied ${versions})`,
  );
}
