/** `echonet migrate --status | --migrate`. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  LATEST_VERSION,
  MIGRATIONS,
  migrationHistory,
  tableRowCounts,
} from '../store/migrations.js';
import { openReadOnly, openStore } from '../store/store.js';
import type { Output } from './output.js';

export function migrateStatus(dbPath: string, io: Output): void {
  if (!existsSync(dbPath)) {
    io.out(
      `${resolve(dbPath)}: no database yet (it is created at version ${LATEST_VERSION} on first start)`,
    );
    return;
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
  const store = openStore(dbPath, { migrate: true });
  store.close();
  const applied = store.migrated;
  io.out(
    applied.length === 0
      ? `${resolve(dbPath)} is already at version ${LATEST_VERSION}; nothing to do`
      : `applied ${applied.map((v) => `v${v}`).join(', ')} to ${resolve(dbPath)}; now at version ${LATEST_VERSION}`,
  );
}
