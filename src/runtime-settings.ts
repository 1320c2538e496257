/**
 * The settings that can change while Echonet runs, with the v3 `config` table as their store:
 * GET/PUT /config and `echonet config` read and write them here, and the router reads the live
 * values from here on every utterance.
 *
 * Precedence: a value set through the API (a row in `config`) > the environment variable >
 * the default; each value says which one it came from. The router's keys get a row only when set,
 * so without one the environment keeps its say, and clearing the row gives it back. The Python
 * service's own keys (`enable_preroll_buffer`, `preroll_buffer_seconds`) keep the rows and values
 * it seeded, as does any other row another writer stored: they are listed and can be changed, with
 * their declared type enforced, but nothing in Echonet acts on them.
 */
import {
  SETTINGS,
  type Config,
  type Setting,
  type SourceRoom,
  type WyomingBinding,
} from './config.js';
import { ConfigKeyNotFound, ValidationError } from './errors.js';
import type { MatchOptions } from './matching/matcher.js';
import type { MatchNames } from './routing/name-rules.js';
import type { ConfigRow, ConfigTable, ConfigType } from './store/config.js';

export type Origin = 'api' | 'env' | 'default';

/** A setting as the API shows it: the Python service's fields plus `origin`. */
export interface ConfigEntry {
  readonly key: string;
  /** Always a string, as the Python service sends it. */
  readonly value: string;
  readonly type: ConfigType;
  readonly description: string | null;
  /** When the stored row last changed; null for a value from the environment or the default. */
  readonly updated_at: string | null;
  readonly origin: Origin;
}

/** The live values the router uses, typed. */
export interface RuntimeValues {
  readonly sessionTimeoutS: number;
  readonly cancelPhrases: readonly string[];
  readonly forwardStripTrigger: boolean;
  readonly httpTimeoutS: number;
  readonly matchFuzzy: boolean;
  readonly matchMinScore: number;
  readonly matchNames: MatchNames;
  /** '' for none. */
  readonly defaultTarget: string;
  readonly activeTimeoutS: number;
  /** Null: no fallback. */
  readonly fallbackTarget: string | null;
  readonly wyomingBindings: readonly WyomingBinding[] | undefined;
  readonly sourceRooms: readonly SourceRoom[] | undefined;
  readonly arbitrationWindowMs: number;
  readonly echoWindowS: number;
}

export type RuntimeSetting = keyof RuntimeValues;

interface LiveKey {
  readonly setting: RuntimeSetting;
  readonly type: ConfigType;
  /** At most 200 characters: the Python service refuses to show a longer description. */
  readonly description: string;
}

/** The router's keys, each backed by an ECHONET_* setting (src/config.ts). */
// A null prototype: keys come from URLs, and `constructor` or `__proto__` must be unknown keys, not
// Object.prototype's members.
export const LIVE_KEYS: Readonly<Record<string, LiveKey>> = Object.assign(Object.create(null), {
  session_timeout_s: {
    setting: 'sessionTimeoutS',
    type: 'float',
    description: 'Seconds a conversation stays open after its last utterance',
  },
  cancel_phrases: {
    setting: 'cancelPhrases',
    type: 'str',
    description: 'Comma-separated phrases that end the speaker’s session',
  },
  forward_strip_trigger: {
    setting: 'forwardStripTrigger',
    type: 'bool',
    description: 'Remove the wake phrase from the text forwarded to the target',
  },
  http_timeout_s: {
    setting: 'httpTimeoutS',
    type: 'float',
    description: 'Seconds a target has to answer a forwarded utterance',
  },
  match_fuzzy: {
    setting: 'matchFuzzy',
    type: 'bool',
    description: 'Accept misheard wake phrases (close spelling or same sound)',
  },
  match_min_score: {
    setting: 'matchMinScore',
    type: 'float',
    description: 'Fuzzy matches scoring below this (0 to 1) are ignored',
  },
  match_names: {
    setting: 'matchNames',
    type: 'str',
    description:
      'Where a target’s name at the start of an utterance wakes it: wyoming (utterances from Wyoming), all, or off',
  },
  default_target: {
    setting: 'defaultTarget',
    type: 'str',
    description:
      'Target an utterance with no wake phrase and no open conversation goes to (empty: none)',
  },
  active_timeout_s: {
    setting: 'activeTimeoutS',
    type: 'float',
    description:
      'Seconds the active listen mode waits for an utterance before returning to trigger',
  },
  fallback_target: {
    setting: 'fallbackTarget',
    type: 'str',
    description:
      'Target that gets an utterance once when the chosen target fails (empty: no fallback)',
  },
  wyoming_bindings: {
    setting: 'wyomingBindings',
    type: 'str',
    description:
      'Extra Wyoming ports with their default targets, port=target comma-separated (empty: none); opened and closed at once',
  },
  source_rooms: {
    setting: 'sourceRooms',
    type: 'str',
    description:
      'The room of each source whose front end sends none, source=room comma-separated (empty: none)',
  },
  arbitration_window_ms: {
    setting: 'arbitrationWindowMs',
    type: 'int',
    description:
      'Milliseconds a wake in a room with several known sources waits for the same wake from the others (0: off)',
  },
  echo_window_s: {
    setting: 'echoWindowS',
    type: 'float',
    description:
      'Seconds after a reply during which an utterance in its room that is mostly the reply is dropped (0: off)',
  },
} satisfies Record<string, LiveKey>);

/** The Python service's keys, as its v3 migration seeds them (src/store/migrations.ts). */
export const PYTHON_KEYS: Readonly<Record<string, Omit<ConfigRow, 'key' | 'updated_at'>>> =
  Object.assign(Object.create(null), {
    enable_preroll_buffer: {
      value: 'false',
      type: 'bool',
      description: 'Enable pre-roll audio buffering (capture audio before trigger)',
    },
    preroll_buffer_seconds: {
      value: '2.0',
      type: 'float',
      description: 'Seconds of audio to buffer before trigger event',
    },
  } satisfies Record<string, Omit<ConfigRow, 'key' | 'updated_at'>>);

/** Longest value accepted (a `str` value is otherwise free, as in the Python service). */
export const MAX_VALUE_LENGTH = 2000;

const TYPE_WORDS: Readonly<Record<ConfigType, string>> = {
  bool: 'a bool (true or false)',
  int: 'an int (a whole number)',
  float: 'a float (a number such as 2.5)',
  str: 'a str',
};

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** The value in the form it is stored, or undefined when it is not of `type`. */
export function canonicalValue(raw: string, type: ConfigType): string | undefined {
  const trimmed = raw.trim();
  switch (type) {
    case 'bool': {
      const v = trimmed.toLowerCase();
      // Stored as true/false: the Python service reads `value.lower() == "true"`.
      return TRUE.has(v) ? 'true' : FALSE.has(v) ? 'false' : undefined;
    }
    case 'int':
      return /^[+-]?\d+$/.test(trimmed) ? trimmed : undefined;
    case 'float':
      return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed) &&
        Number.isFinite(Number(trimmed))
        ? trimmed
        : undefined;
    case 'str':
      return raw;
  }
}

/** Who changes a value and why, for the `settings_log` row. */
export interface ChangeSource {
  readonly source: string;
  readonly reason?: string | undefined;
}

export interface RuntimeSettingsOptions {
  /**
   * The settings an environment variable gave (config.ts `loadSettings`). Without it, a value that
   * differs from its default is taken to come from the environment.
   */
  readonly fromEnv?: ReadonlySet<keyof Config>;
}

type Listener = (changed: ReadonlySet<RuntimeSetting>) => void;

export class RuntimeSettings {
  readonly #config: Config;
  readonly #table: ConfigTable;
  readonly #fromEnv: ReadonlySet<keyof Config> | undefined;
  readonly #listeners = new Set<Listener>();
  readonly #warnings = new Set<(message: string) => void>();
  /** Problems found before anyone listened, and what was already said (said once each). */
  readonly #unheard: string[] = [];
  readonly #said = new Set<string>();
  #rows = new Map<string, ConfigRow>();
  #values: RuntimeValues;

  constructor(config: Config, table: ConfigTable, options: RuntimeSettingsOptions = {}) {
    this.#config = config;
    this.#table = table;
    this.#fromEnv = options.fromEnv;
    this.#values = this.#read();
  }

  /** The values in effect now; a new object after every change. */
  get values(): RuntimeValues {
    return this.#values;
  }

  get match(): MatchOptions {
    return { fuzzy: this.#values.matchFuzzy, minScore: this.#values.matchMinScore };
  }

  /** Every setting: the router's keys, the Python service's, and any other stored row, by key. */
  list(): ConfigEntry[] {
    const keys = new Set([
      ...Object.keys(LIVE_KEYS),
      ...Object.keys(PYTHON_KEYS),
      ...this.#rows.keys(),
    ]);
    return [...keys].sort().map((key) => this.#entry(key) as ConfigEntry);
  }

  /** One setting; throws ConfigKeyNotFound for a key that is none. */
  get(key: string): ConfigEntry {
    const entry = this.#entry(key);
    if (entry === undefined) throw new ConfigKeyNotFound(key);
    return entry;
  }

  /**
   * Stores `raw` as the key's value (it then wins over the environment) and logs the change;
   * throws ValidationError naming `field` and the type when the value is not of it.
   */
  set(key: string, raw: string, by: ChangeSource, field = 'value'): ConfigEntry {
    const before = this.get(key);
    const value = this.#validate(key, before.type, raw, field);
    this.#table.write(
      { key, value, type: before.type, description: before.description },
      { source: by.source, reason: by.reason ?? `set ${key}`, oldValue: before.value },
    );
    this.reload();
    return this.get(key);
  }

  /**
   * Drops the value set through the API: a router key goes back to its environment variable or
   * default, a Python-era key to the value the Python service seeds. Logged like a change.
   */
  unset(key: string, by: ChangeSource): ConfigEntry {
    const before = this.get(key);
    const note = (to: string) => ({
      source: by.source,
      reason: by.reason ?? `cleared ${key} (back to ${to})`,
      oldValue: before.value,
    });
    const python = PYTHON_KEYS[key];
    if (LIVE_KEYS[key] !== undefined) {
      const fallback = this.#fallback(key);
      this.#table.remove(key, fallback.value, note(fallback.origin));
    } else if (python !== undefined) {
      this.#table.write({ key, ...python }, note('default'));
    } else {
      throw new ValidationError(
        `${key} was stored by another program and has no default to go back to; set a value instead`,
      );
    }
    this.reload();
    return this.get(key);
  }

  /**
   * Reads the table again (after another process wrote to it); listeners hear of every router
   * value that changed.
   */
  reload(): void {
    const before = this.#values;
    this.#values = this.#read();
    const changed = new Set<RuntimeSetting>();
    for (const k of Object.keys(before) as RuntimeSetting[]) {
      if (formatValue(before[k]) !== formatValue(this.#values[k])) changed.add(k);
    }
    if (changed.size > 0) for (const listener of this.#listeners) listener(changed);
  }

  /** Calls `listener` with the router settings that changed, after each change. */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Hears of stored values Echonet cannot use (another writer stored one out of range): each is
   * said once, and the environment or default applies instead. Problems found earlier are told now.
   */
  onWarning(listener: (message: string) => void): () => void {
    this.#warnings.add(listener);
    for (const message of this.#unheard.splice(0)) listener(message);
    return () => this.#warnings.delete(listener);
  }

  #read(): RuntimeValues {
    this.#rows = new Map(this.#table.all().map((row) => [row.key, row]));
    const values: Record<string, unknown> = {};
    for (const [key, live] of Object.entries(LIVE_KEYS)) {
      const row = this.#rows.get(key);
      const stored = row && this.#parseStored(key, row.value);
      // Not `??`: a stored null is a value (an empty fallback_target: none).
      values[live.setting] = stored !== undefined ? stored : this.#config[live.setting];
    }
    // Unchanged values keep their identity, so a listener can compare them cheaply.
    const previous = this.#values as RuntimeValues | undefined;
    if (previous) {
      for (const k of Object.keys(values) as RuntimeSetting[]) {
        if (formatValue(previous[k]) === formatValue(values[k])) values[k] = previous[k];
      }
    }
    return Object.freeze(values) as unknown as RuntimeValues;
  }

  /** A stored value of a router key, typed, or undefined (with a warning) when it is unusable. */
  #parseStored(key: string, raw: string): unknown {
    const live = LIVE_KEYS[key] as LiveKey;
    const canonical = canonicalValue(raw, live.type);
    const parsed = canonical === undefined ? undefined : settingOf(live).parse(canonical);
    if (parsed === undefined) {
      const fallback = this.#fallback(key);
      this.#warn(
        `config ${key}=${JSON.stringify(raw)} in the database is not ${accepts(live)}; using the ${fallback.origin} value ${fallback.value}`,
      );
    }
    return parsed;
  }

  #entry(key: string): ConfigEntry | undefined {
    const row = this.#rows.get(key);
    const live = LIVE_KEYS[key];
    if (live !== undefined) {
      const value = formatValue(this.#values[live.setting]);
      const fromRow = row !== undefined && this.#parseStored(key, row.value) !== undefined;
      return {
        key,
        value,
        type: live.type,
        description: row?.description ?? live.description,
        updated_at: fromRow ? row.updated_at : null,
        origin: fromRow ? 'api' : this.#fallback(key).origin,
      };
    }
    const python = PYTHON_KEYS[key];
    if (row !== undefined) {
      // The seeded value is the Python service's default; anything else was set by someone.
      const origin = python !== undefined && row.value === python.value ? 'default' : 'api';
      return { ...row, origin };
    }
    if (python !== undefined) return { key, ...python, updated_at: null, origin: 'default' };
    return undefined;
  }

  /** What a router key is without a stored value: the environment's or the default. */
  #fallback(key: string): { value: string; origin: Origin } {
    const { setting } = LIVE_KEYS[key] as LiveKey;
    const value = this.#config[setting];
    const fromEnv = this.#fromEnv
      ? this.#fromEnv.has(setting)
      : formatValue(value) !== formatValue(SETTINGS[setting].fallback);
    return { value: formatValue(value), origin: fromEnv ? 'env' : 'default' };
  }

  #validate(key: string, type: ConfigType, raw: string, field: string): string {
    const live = LIVE_KEYS[key];
    const shown = raw.length > 60 ? `${JSON.stringify(raw.slice(0, 60))}…` : JSON.stringify(raw);
    if (raw.length > MAX_VALUE_LENGTH) {
      throw new ValidationError(`${field} must be at most ${MAX_VALUE_LENGTH} characters`);
    }
    const canonical = canonicalValue(raw, type);
    if (
      canonical === undefined ||
      (live !== undefined && settingOf(live).parse(canonical) === undefined)
    ) {
      const what = live === undefined ? TYPE_WORDS[type] : accepts(live);
      throw new ValidationError(`${field} for ${key} must be ${what}; got ${shown}`);
    }
    return canonical;
  }

  #warn(message: string): void {
    if (this.#said.has(message)) return;
    this.#said.add(message);
    if (this.#warnings.size === 0) this.#unheard.push(message);
    for (const listener of this.#warnings) listener(message);
  }
}

function settingOf(live: LiveKey): Setting<unknown> {
  return SETTINGS[live.setting] as Setting<unknown>;
}

/** "a float: a number of seconds greater than 0 and at most 86400" */
function accepts(live: LiveKey): string {
  const words = TYPE_WORDS[live.type].replace(/ \(.*\)$/, '');
  return `${words}: ${settingOf(live).accepts}`;
}

/**
 * A typed value as the API sends it: lists comma-separated, as the environment takes them; an
 * unset optional setting is empty.
 */
export function formatValue(value: unknown): string {
  // An optional setting that holds nothing (no fallback target) is empty, as its variable would be.
  if (value === null || value === undefined) return '';
  return Array.isArray(value) ? value.join(',') : String(value);
}
