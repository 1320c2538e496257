/**
 * `echonet keys add|list|revoke`: API keys kept in the database. Every running server picks a
 * change up within a moment (it watches the file), so keys rotate without a restart. Keys from
 * ECHONET_API_KEY / ECHONET_API_KEYS, and the generated one, keep working beside these.
 */
import { ApiKeyNotFound } from '../errors.js';
import { keyStoreIfPresent, parseKeyId, type StoredKey } from '../store/keys.js';
import { openReadOnly, openStore } from '../store/store.js';
import { existingDbFile } from './db-location.js';
import type { Output } from './output.js';

export function addKey(
  dbPath: string,
  label: string,
  io: Output,
  options: { json?: boolean } = {},
): void {
  const store = openStore(existingDbFile(dbPath));
  try {
    const k = store.keys.add(label);
    if (options.json) {
      io.out(JSON.stringify({ id: k.id, label: k.label, created_at: k.createdAt, key: k.key }));
      return;
    }
    io.out(`Added API key ${k.id} (${k.label}). It is shown only this once:`);
    io.out('');
    io.out(`    ${k.key}`);
    io.out('');
    io.out(
      `Clients send it as the X-API-Key header; \`echonet keys revoke ${k.id}\` withdraws it.`,
    );
  } finally {
    store.close();
  }
}

export function listKeys(dbPath: string, io: Output, options: { json?: boolean } = {}): void {
  const store = openReadOnly(existingDbFile(dbPath));
  let keys: StoredKey[];
  try {
    keys = keyStoreIfPresent(store.db)?.list() ?? [];
  } finally {
    store.close();
  }
  if (options.json) {
    io.out(
      JSON.stringify(
        keys.map((k) => ({ id: k.id, label: k.label, created_at: k.createdAt })),
        null,
        2,
      ),
    );
    return;
  }
  if (keys.length === 0) {
    io.out('No stored API keys (environment keys and the generated one are not listed).');
    return;
  }
  const width = Math.max(2, ...keys.map((k) => String(k.id).length));
  io.out(`${'id'.padEnd(width)}  created (UTC)         label`);
  for (const k of keys) io.out(`${String(k.id).padEnd(width)}  ${k.createdAt}  ${k.label}`);
}

export function revokeKey(dbPath: string, rawId: string, io: Output): void {
  const id = parseKeyId(rawId, 'id');
  const store = openStore(existingDbFile(dbPath));
  try {
    const revoked = store.keys.revoke(id);
    if (!revoked) throw new ApiKeyNotFound(id, '`echonet keys list` shows the ids');
    io.out(`Revoked API key ${revoked.id} (${revoked.label}).`);
  } finally {
    store.close();
  }
}
