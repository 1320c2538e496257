/** `echonet inspect` and `echonet api-key`. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { targetView } from '../registration.js';
import { GENERATED_API_KEY, SecretStore } from '../store/secrets.js';
import { hasTable } from '../store/migrations.js';
import { openReadOnly } from '../store/store.js';
import type { Output } from './output.js';

export function inspect(dbPath: string, io: Output, options: { json?: boolean } = {}): void {
  const store = openReadOnly(dbPath);
  try {
    const targets = (store.targets?.all() ?? []).map(targetView);
    const bytes = fileBytes(dbPath);
    if (options.json) {
      io.out(
        JSON.stringify(
          { db_path: resolve(dbPath), schema_version: store.version, size_bytes: bytes, targets },
          null,
          2,
        ),
      );
      return;
    }
    io.out(`database:        ${resolve(dbPath)}`);
    io.out(`size:            ${formatBytes(bytes)} (including write-ahead log)`);
    io.out(`schema version:  ${store.version}`);
    io.out(`targets:         ${targets.length}`);
    for (const t of targets) {
      io.out('');
      io.out(`  ${t.name}`);
      io.out(`    listen_url:  ${t.listen_url}`);
      io.out(`    phrases:     ${t.phrases.map((p) => JSON.stringify(p)).join(', ') || '(none)'}`);
    }
  } finally {
    store.close();
  }
}

export function showApiKey(dbPath: string, io: Output): boolean {
  const store = openReadOnly(dbPath);
  try {
    if (!hasTable(store.db, 'echonet_secrets')) return false;
    const key = new SecretStore(store.db).get(GENERATED_API_KEY);
    if (key === undefined) return false;
    io.out(key);
    return true;
  } finally {
    store.close();
  }
}

function fileBytes(dbPath: string): number {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(dbPath + suffix).size;
    } catch {
      // No WAL file: the database was closed cleanly.
    }
  }
  return total;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
