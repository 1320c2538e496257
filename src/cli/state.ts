/**
 * `echonet state`: the listen modes, straight from the database file. `echonet state` shows them,
 * `--history` shows the change log, `echonet state set MODE --target T` changes one. A running
 * server picks a change up within a moment (it watches the file), as with `echonet keys`.
 */
import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { TargetNotFound } from '../errors.js';
import { RuntimeSettings } from '../runtime-settings.js';
import {
  GLOBAL_MODE_SETTING,
  ListenModes,
  parseListenMode,
  targetOfSource,
  type ModeState,
} from '../routing/listen-modes.js';
import {
  historyLimit,
  parseSqlTime,
  settingsStoreIfPresent,
  type SettingChange,
} from '../store/settings.js';
import { configTableIfPresent, type ConfigTable } from '../store/config.js';
import { openReadOnly, openStore } from '../store/store.js';
import { existingDbFile } from './db-location.js';
import type { Output } from './output.js';

export interface ShowOptions {
  readonly json?: boolean;
  readonly history?: boolean;
  readonly name?: string;
  readonly limit?: string;
}

/** `echonet state [--history]`. */
export function showState(config: Config, io: Output, options: ShowOptions = {}): void {
  const store = openReadOnly(existingDbFile(config.dbPath));
  try {
    const settings = settingsStoreIfPresent(store.db);
    if (options.history) {
      const limit = historyLimit(options.limit, '--limit');
      const changes = settings?.history({ name: options.name, limit }) ?? [];
      if (options.json) io.out(JSON.stringify({ count: changes.length, changes }, null, 2));
      else printHistory(changes, io);
      return;
    }
    const rows = settings?.withPrefix(GLOBAL_MODE_SETTING) ?? [];
    const timeoutMs = activeTimeoutS(config, configTableIfPresent(store.db)) * 1000;
    const modes = rows.map((row) => {
      const sourceId =
        row.name === GLOBAL_MODE_SETTING ? null : row.name.slice(GLOBAL_MODE_SETTING.length + 1);
      const target =
        row.value === 'active'
          ? targetOfSource(settings?.lastChangeTo(row.name, 'active')?.source ?? null)
          : null;
      const left =
        row.value === 'active'
          ? Math.ceil((parseSqlTime(row.updated_at) + timeoutMs - systemClock.now()) / 1000)
          : null;
      return { source_id: sourceId, listen_mode: row.value, target, expires_in_s: left };
    });
    const global = modes.find((m) => m.source_id === null) ?? {
      source_id: null,
      listen_mode: 'trigger',
      target: null,
      expires_in_s: null,
    };
    const sources = modes.filter((m) => m.source_id !== null);
    if (options.json) {
      // The fields of GET /state.
      const json = {
        listen_mode: global.listen_mode,
        active_target: global.target,
        active_expires_in_s: global.expires_in_s,
        sources,
      };
      io.out(JSON.stringify(json, null, 2));
      return;
    }
    io.out(`listen mode: ${describe(global)}`);
    if (sources.length > 0) {
      io.out('per source:');
      const width = Math.max(...sources.map((s) => (s.source_id ?? '').length));
      for (const s of sources) io.out(`  ${(s.source_id ?? '').padEnd(width)}  ${describe(s)}`);
    }
  } finally {
    store.close();
  }
}

export interface SetOptions {
  readonly target: string;
  readonly sourceId?: string;
  readonly reason?: string;
}

/** `echonet state set MODE --target T [--source-id S] [--reason R]`. */
export function setState(config: Config, rawMode: string, io: Output, options: SetOptions): void {
  const mode = parseListenMode(rawMode, 'MODE');
  const store = openStore(existingDbFile(config.dbPath));
  try {
    const target = store.targets.get(options.target);
    if (!target) throw new TargetNotFound(options.target, 'Register the target first.');
    const timeoutS = activeTimeoutS(config, store.config);
    const modes = new ListenModes(store.settings, {
      clock: systemClock,
      activeTimeoutS: () => timeoutS,
    });
    try {
      const state = modes.set({
        mode,
        target: target.name,
        source: `cli:${target.name}`,
        reason: options.reason ?? `set with echonet state set by ${target.name}`,
        sourceId: options.sourceId ?? null,
      });
      const scope = options.sourceId === undefined ? '' : ` for source '${options.sourceId}'`;
      io.out(`Listen mode${scope} is now ${describe(viewOf(state, modes))}.`);
    } finally {
      modes.close();
    }
  } finally {
    store.close();
  }
}

/**
 * The active timeout a server on this file uses: a value set with PUT /config or `echonet config
 * set` wins over ECHONET_ACTIVE_TIMEOUT_S, so the seconds shown are the ones the server counts.
 */
function activeTimeoutS(config: Config, table: ConfigTable | undefined): number {
  return table ? new RuntimeSettings(config, table).values.activeTimeoutS : config.activeTimeoutS;
}

interface ModeView {
  readonly listen_mode: string;
  readonly target: string | null;
  readonly expires_in_s: number | null;
}

function viewOf(state: ModeState, modes: ListenModes): ModeView {
  return { listen_mode: state.mode, target: state.target, expires_in_s: modes.expiresInS(state) };
}

function describe(m: ModeView): string {
  if (m.listen_mode !== 'active') return m.listen_mode;
  const left =
    m.expires_in_s === null
      ? ''
      : m.expires_in_s > 0
        ? `, ${m.expires_in_s} s left`
        : ', timed out: a running server resets it';
  return `active (for ${m.target ?? 'an unknown target'}${left})`;
}

function printHistory(changes: readonly SettingChange[], io: Output): void {
  if (changes.length === 0) {
    io.out('No changes logged.');
    return;
  }
  const cols = changes.map((c) => [
    String(c.id),
    c.changed_at,
    c.name,
    `${c.old_value ?? '-'} -> ${c.new_value}`,
    c.source ?? '-',
    c.reason ?? '',
  ]);
  const head = ['id', 'changed (UTC)', 'name', 'change', 'source', 'reason'];
  const widths = head.map((h, i) => Math.max(h.length, ...cols.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  io.out(line(head));
  for (const r of cols) io.out(line(r));
}
