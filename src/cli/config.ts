/**
 * `echonet config [get KEY | set KEY VALUE | unset KEY]`: the runtime settings kept in the
 * database's `config` table, as GET/PUT/DELETE /config change them. A running server applies a
 * change within a moment (it watches the file), from its next utterance on. The origin shown is
 * worked out from this shell's environment and `.env`, which may not be the server's: GET /config
 * asks the server itself.
 */
import type { LoadedConfig } from '../config.js';
import { RuntimeSettings, type ConfigEntry } from '../runtime-settings.js';
import { openStore } from '../store/store.js';
import { existingDbFile } from './db-location.js';
import type { Output } from './output.js';

type Action = (runtime: RuntimeSettings) => ConfigEntry | ConfigEntry[];

function withSettings(settings: LoadedConfig, action: Action): ConfigEntry | ConfigEntry[] {
  const { config, fromEnv } = settings;
  const store = openStore(existingDbFile(config.dbPath));
  try {
    return action(new RuntimeSettings(config, store.config, { fromEnv }));
  } finally {
    store.close();
  }
}

export function listSettings(
  settings: LoadedConfig,
  io: Output,
  options: { json?: boolean } = {},
): void {
  const entries = withSettings(settings, (r) => r.list()) as ConfigEntry[];
  if (options.json) {
    io.out(JSON.stringify(Object.fromEntries(entries.map((e) => [e.key, e])), null, 2));
    return;
  }
  const width = Math.max(...entries.map((e) => e.key.length));
  const valueWidth = Math.min(40, Math.max(...entries.map((e) => JSON.stringify(e.value).length)));
  io.out(`${'key'.padEnd(width)}  ${'value'.padEnd(valueWidth)}  origin   type`);
  for (const e of entries) {
    const value = JSON.stringify(e.value).padEnd(valueWidth);
    io.out(`${e.key.padEnd(width)}  ${value}  ${e.origin.padEnd(7)}  ${e.type}`);
  }
}

export function getSetting(
  settings: LoadedConfig,
  key: string,
  io: Output,
  options: { json?: boolean } = {},
): void {
  const entry = withSettings(settings, (r) => r.get(key)) as ConfigEntry;
  io.out(options.json ? JSON.stringify(entry, null, 2) : entry.value);
}

export function setSetting(
  settings: LoadedConfig,
  key: string,
  value: string,
  io: Output,
  options: { reason?: string } = {},
): void {
  const entry = withSettings(settings, (r) =>
    r.set(key, value, { source: 'cli', reason: options.reason ?? `echonet config set ${key}` }),
  ) as ConfigEntry;
  io.out(`${entry.key} = ${JSON.stringify(entry.value)} (${entry.type}; origin ${entry.origin})`);
}

export function unsetSetting(settings: LoadedConfig, key: string, io: Output): void {
  const entry = withSettings(settings, (r) => r.unset(key, { source: 'cli' })) as ConfigEntry;
  io.out(`${entry.key} = ${JSON.stringify(entry.value)} (${entry.type}; origin ${entry.origin})`);
}
