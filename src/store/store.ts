/**
 * The storage facade the rest of Echonet sees. Everything SQL stays under src/store/, so a later
 * PostgreSQL store only has to offer the same shape.
 */
import { openDatabase, type Db } from './db.js';
import { StorageError } from '../errors.js';
import {
  LATEST_VERSION,
  assertKnownVersion,
  currentVersion,
  hasTable,
  migrate,
} from './migrations.js';
import { ConfigTable } from './config.js';
import { EventWriter } from './events.js';
import { KeyStore } from './keys.js';
import { PhraseIndex } from './phrase-index.js';
import { phraseRules, type PhraseRules } from './phrase-rules.js';
import { SecretStore } from './secrets.js';
import { SettingsStore } from './settings.js';
import { TargetRegistry, type Target } from './targets.js';

export interface Store {
  readonly path: string;
  /** Versions this open applied (empty when the file was already current). */
  readonly migrated: readonly number[];
  readonly targets: TargetRegistry;
  readonly secrets: SecretStore;
  /** API keys added at run time (`echonet keys`, the /keys routes). */
  readonly keys: KeyStore;
  /** The v3 `config` table: runtime settings (src/runtime-settings.ts). */
  readonly config: ConfigTable;
  /** The v2 settings and their change log (listen modes; also the config log rows). */
  readonly settings: SettingsStore;
  /** The decision log: batched writes (src/routing/decision-log.ts) and reads (GET /events). */
  readonly events: EventWriter;
  /**
   * Calls `listener` when another connection (the CLI, another server, the Python service)
   * commits to the file. Polls `PRAGMA data_version`, which only moves for other connections'
   * commits (the decision log's writer thread included, so `targets.changedElsewhere()` says whether
   * the targets were among the changes). A server's listener should call
   * `targets.repairPhraseIndex()` before reloading, so rows a foreign writer changed are re-indexed
   * now rather than by the next registration.
   */
  watchExternalChanges(listener: () => void, intervalMs?: number): () => void;
  close(): void;
}

export interface OpenStoreOptions {
  /** Apply pending migrations (the server and write commands); otherwise the file must be current. */
  readonly migrate?: boolean;
  /** How phrases are compared for conflicts; the matcher's normalisation unless a test counts calls. */
  readonly phraseRules?: PhraseRules;
}

export function openStore(path: string, options: OpenStoreOptions = {}): Store {
  const db = openDatabase(path, { verify: assertKnownVersion });
  let migrated: number[] = [];
  let targets: TargetRegistry;
  try {
    if (options.migrate ?? true) migrated = migrate(db);
    else if (assertKnownVersion(db) < LATEST_VERSION) {
      throw new StorageError(
        `database ${path} is at schema version ${currentVersion(db)}; run \`echonet migrate\` first`,
      );
    }
    targets = new TargetRegistry(db, new PhraseIndex(db, options.phraseRules ?? phraseRules()));
    // Fills the index after the v5 upgrade and catches up with rows other writers changed
    // while no Echonet process was watching.
    targets.repairPhraseIndex();
  } catch (err) {
    db.close();
    throw err;
  }
  return storeOn(db, path, migrated, targets);
}

function storeOn(db: Db, path: string, migrated: number[], targets: TargetRegistry): Store {
  const timers = new Set<NodeJS.Timeout>();
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  const settings = new SettingsStore(db);
  return {
    path,
    migrated,
    targets,
    secrets: new SecretStore(db),
    keys: new KeyStore(db),
    config: new ConfigTable(db, settings),
    settings,
    events: new EventWriter(db),
    watchExternalChanges(listener, intervalMs = 250) {
      let last = dataVersion.get();
      const timer = setInterval(() => {
        if (!db.open) return;
        const now = dataVersion.get();
        if (now !== last) {
          last = now;
          listener();
        }
      }, intervalMs);
      timer.unref();
      timers.add(timer);
      return () => {
        clearInterval(timer);
        timers.delete(timer);
      };
    },
    close() {
      for (const t of timers) clearInterval(t);
      timers.clear();
      if (db.open) {
        // Folds the WAL back into the main file so a copied .db is complete on its own.
        try {
          db.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          // Another connection may hold the WAL; the next one to close checkpoints it.
        }
        db.close();
      }
    },
  };
}

/** A read-only view for inspection and backups: never migrates, never writes. */
export interface ReadOnlyStore {
  readonly version: number;
  readonly db: Db;
  /** Undefined when the file has no targets table yet. */
  readonly targets: TargetRegistry | undefined;
  close(): void;
}

export function openReadOnly(path: string): ReadOnlyStore {
  const db = openDatabase(path, { readonly: true, verify: assertKnownVersion });
  try {
    const version = currentVersion(db);
    const targets = hasTable(db, 'targets') ? new TargetRegistry(db) : undefined;
    return { version, db, targets, close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Every target in the file at `path`, read once without migrating or writing (none before v1). */
export function readTargets(path: string): Target[] {
  const store = openReadOnly(path);
  try {
    return store.targets?.all() ?? [];
  } finally {
    store.close();
  }
}
