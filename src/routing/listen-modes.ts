/**
 * Listen modes: `inactive` (mute: nothing is routed), `trigger` (a wake phrase is needed; the
 * default) and `active` (the target that asked receives what is said, no wake phrase needed). One
 * global mode, stored as the `listen_mode` setting the Python service uses, and optional modes
 * scoped to one front end (`listen_mode:<source_id>`). A global `inactive` mutes every source,
 * whatever its own mode: a mute that a scope could undo would not be one.
 *
 * `active` always ends by itself: after one utterance is delivered to its target (`auto_reset`),
 * or once the active timeout passes (`active_timeout`). The timeout needs no timer per source:
 * every read checks it against the clock, and one timer, armed for the earliest deadline, writes
 * the reset when nobody reads. Every change is a `settings_log` row.
 */
import type { Clock } from '../clock.js';
import { ValidationError } from '../errors.js';
import { parseSqlTime, sqlTime, type SettingsStore } from '../store/settings.js';

export const LISTEN_MODES = ['inactive', 'trigger', 'active'] as const;
export type ListenMode = (typeof LISTEN_MODES)[number];

export function isListenMode(value: unknown): value is ListenMode {
  return (LISTEN_MODES as readonly unknown[]).includes(value);
}

/** The mode a change names, or a ValidationError naming `field` and the three modes. */
export function parseListenMode(raw: string, field: string): ListenMode {
  if (!isListenMode(raw)) {
    throw new ValidationError(`${field} must be one of ${LISTEN_MODES.join(', ')}`);
  }
  return raw;
}

/**
 * The target a mode change's log source names: PUT /state writes `<source>:<target>`, as the
 * Python service does, and `echonet state set` writes `cli:<target>`. Null when it names none.
 */
export function targetOfSource(source: string | null): string | null {
  const colon = source?.lastIndexOf(':') ?? -1;
  if (source === null || colon < 0 || colon === source.length - 1) return null;
  return source.slice(colon + 1).toLowerCase();
}

/** The setting holding the global mode (the Python service's name). */
export const GLOBAL_MODE_SETTING = 'listen_mode';
const SCOPE_PREFIX = `${GLOBAL_MODE_SETTING}:`;

/** The setting holding a mode scoped to one source (null: the global one). */
export function modeSetting(sourceId: string | null): string {
  return sourceId === null ? GLOBAL_MODE_SETTING : SCOPE_PREFIX + sourceId;
}

export interface ModeState {
  readonly mode: ListenMode;
  /** For `active`: the target that receives every utterance (null if unknown: routes as trigger). */
  readonly target: string | null;
  /** Server time (ms) the mode was set. */
  readonly since: number;
}

/** What one utterance met: the mode, and the scope it came from (null: the global mode). */
export interface ListenState {
  readonly sourceId: string | null;
  readonly state: ModeState;
}

export interface ModeChange {
  readonly mode: ListenMode;
  /** Required for `active`. */
  readonly target: string | null;
  /** Written as the log row's source (`api:astraea`, `cli:astraea`…). */
  readonly source: string;
  readonly reason: string | null;
  /** Scopes the mode to one front end; null or absent: the global mode. */
  readonly sourceId?: string | null;
}

export interface ListenModesOptions {
  readonly clock: Clock;
  /** Seconds an `active` mode lasts with nothing delivered; read at each check, so it can be live. */
  readonly activeTimeoutS: () => number;
  /** Hears of a reset the database refused (the mode is reset in memory all the same). */
  readonly onError?: (err: unknown) => void;
}

type ModeStore = Pick<SettingsStore, 'get' | 'set' | 'withPrefix' | 'lastChangeTo'>;

const TRIGGER = (since: number): ModeState => ({ mode: 'trigger', target: null, since });

export class ListenModes {
  readonly #store: ModeStore;
  readonly #options: ListenModesOptions;
  #global: ModeState;
  readonly #scoped = new Map<string, ModeState>();
  /** When the oldest `active` began (Infinity: none), so most checks are one comparison. */
  #oldestActive = Infinity;
  #timer: NodeJS.Timeout | undefined;

  constructor(store: ModeStore, options: ListenModesOptions) {
    this.#store = store;
    this.#options = options;
    this.#global = TRIGGER(options.clock.now());
    this.reload();
  }

  /**
   * Applies the configured start-up mode to the global one, logged with source `startup` when it
   * changes the stored value. An `active` mode never outlives a restart: a scoped one still
   * stored goes back to trigger, logged the same way.
   */
  start(initial: ListenMode): void {
    const now = this.#options.clock.now();
    if (this.#global.mode !== initial) {
      this.#write(null, {
        state: { mode: initial, target: null, since: now },
        source: 'startup',
        reason: `ECHONET_INITIAL_LISTEN_MODE is ${initial}`,
      });
    }
    for (const [sourceId, s] of [...this.#scoped]) {
      if (s.mode !== 'active') continue;
      this.#write(sourceId, {
        state: TRIGGER(now),
        source: 'startup',
        reason: 'an active mode does not outlive a restart',
      });
    }
  }

  /**
   * Reads the stored modes again (another process changed the file: `echonet state set`, another
   * server, the Python service). A mode that did not change keeps its state; an `active` one set
   * elsewhere gets its target from its log row's source (`<source>:<target>`) and its start from
   * the row's time.
   */
  reload(): void {
    const now = this.#options.clock.now();
    const stored = this.#store.get(GLOBAL_MODE_SETTING);
    this.#global = stored ? this.#adopt(null, this.#global, stored, now) : TRIGGER(now);
    const seen = new Set<string>();
    for (const row of this.#store.withPrefix(SCOPE_PREFIX)) {
      const sourceId = row.name.slice(SCOPE_PREFIX.length);
      if (sourceId === '') continue;
      seen.add(sourceId);
      this.#scoped.set(sourceId, this.#adopt(sourceId, this.#scoped.get(sourceId), row, now));
    }
    for (const sourceId of [...this.#scoped.keys()]) {
      if (!seen.has(sourceId)) this.#scoped.delete(sourceId);
    }
    this.#changed();
  }

  /** The mode an utterance from `sourceId` meets now (an `active` whose time is up has ended). */
  for(sourceId: string): ListenState {
    this.expire();
    if (this.#global.mode !== 'inactive') {
      const scoped = this.#scoped.get(sourceId);
      if (scoped) return { sourceId, state: scoped };
    }
    return { sourceId: null, state: this.#global };
  }

  /** The global mode and every scoped one, after expiring what is due. */
  view(): { global: ModeState; scoped: ReadonlyMap<string, ModeState> } {
    this.expire();
    return { global: this.#global, scoped: this.#scoped };
  }

  /** Seconds left before an `active` mode ends by itself (null for the other modes). */
  expiresInS(state: ModeState): number | null {
    if (state.mode !== 'active') return null;
    const left = state.since + this.#timeoutMs() - this.#options.clock.now();
    return Math.max(0, Math.ceil(left / 1000));
  }

  /** Sets a mode and logs it. A renewed `active` is logged too: its target and timeout restart. */
  set(change: ModeChange): ModeState {
    if (change.mode === 'active' && !change.target) {
      throw new TypeError('an active listen mode needs the target that receives the utterances');
    }
    this.expire();
    const state: ModeState = {
      mode: change.mode,
      target: change.mode === 'active' ? change.target : null,
      since: this.#options.clock.now(),
    };
    this.#write(change.sourceId ?? null, {
      state,
      source: change.source,
      reason: change.reason,
      always: change.mode === 'active',
    });
    return state;
  }

  /**
   * An utterance that met `listen` was delivered to `target`: an `active` mode for that target
   * has done its job and goes back to `trigger` (`auto_reset`). Only the very mode the utterance
   * met is reset: one set again meanwhile (a new PUT /state) is left alone.
   */
  delivered(listen: ListenState, target: string): void {
    const { sourceId, state } = listen;
    if (state.mode !== 'active' || state.target !== target) return;
    if (this.#current(sourceId) !== state) return;
    this.#reset(sourceId, {
      state: TRIGGER(this.#options.clock.now()),
      source: 'auto_reset',
      reason: `delivered one utterance to ${target}`,
    });
  }

  /** Ends every `active` mode whose timeout has passed (`active_timeout`). */
  expire(): void {
    const timeoutMs = this.#timeoutMs();
    const now = this.#options.clock.now();
    if (now < this.#oldestActive + timeoutMs) return;
    const due = (s: ModeState) => s.mode === 'active' && now >= s.since + timeoutMs;
    const reason = `nothing delivered within ${timeoutMs / 1000} s of active mode`;
    // Logged at the moment it ended, even when noticed later.
    const end = (s: ModeState) => ({ state: TRIGGER(s.since + timeoutMs), reason });
    if (due(this.#global)) {
      this.#reset(null, { ...end(this.#global), source: 'active_timeout' });
    }
    for (const [sourceId, s] of [...this.#scoped]) {
      if (due(s)) this.#reset(sourceId, { ...end(s), source: 'active_timeout' });
    }
  }

  /**
   * The active timeout was changed (PUT /config/active_timeout_s): it counts from when each mode
   * was set, so a mode now past it ends at once, and the one timer is armed again for the new
   * deadline. Without this the stored mode, which other processes read, would stay `active` until
   * the old deadline when nothing here reads it.
   */
  timeoutChanged(): void {
    this.expire();
    this.#changed();
  }

  /** Stops the timer; the stored modes stay as they are. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #current(sourceId: string | null): ModeState | undefined {
    return sourceId === null ? this.#global : this.#scoped.get(sourceId);
  }

  /** A reset must happen even if the database refuses it: Echonet never stays stuck in active. */
  #reset(sourceId: string | null, change: Omit<Write, 'always'>): void {
    try {
      this.#write(sourceId, change);
    } catch (err) {
      this.#put(sourceId, change.state);
      this.#changed();
      this.#options.onError?.(err);
    }
  }

  #write(sourceId: string | null, change: Write): void {
    const { state } = change;
    this.#store.set(modeSetting(sourceId), state.mode, {
      source: change.source,
      reason: change.reason,
      at: sqlTime(state.since),
      always: change.always ?? false,
    });
    this.#put(sourceId, state);
    this.#changed();
  }

  #put(sourceId: string | null, state: ModeState): void {
    if (sourceId === null) this.#global = state;
    else this.#scoped.set(sourceId, state);
  }

  #adopt(
    sourceId: string | null,
    known: ModeState | undefined,
    row: { value: string; updated_at: string },
    now: number,
  ): ModeState {
    // A value no service writes (edited by hand) routes as the default.
    const mode = isListenMode(row.value) ? row.value : 'trigger';
    const target = mode === 'active' ? this.#targetOfLastActive(modeSetting(sourceId)) : null;
    if (known && known.mode === mode && known.target === target) return known;
    const since = parseSqlTime(row.updated_at);
    return { mode, target, since: Number.isNaN(since) ? now : since };
  }

  /** The target named by the newest log row that set `name` active. */
  #targetOfLastActive(name: string): string | null {
    return targetOfSource(this.#store.lastChangeTo(name, 'active')?.source ?? null);
  }

  #timeoutMs(): number {
    return this.#options.activeTimeoutS() * 1000;
  }

  /** Recomputes the oldest `active` and arms the one timer for it. */
  #changed(): void {
    let oldest = this.#global.mode === 'active' ? this.#global.since : Infinity;
    for (const s of this.#scoped.values())
      if (s.mode === 'active') oldest = Math.min(oldest, s.since);
    this.#oldestActive = oldest;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (oldest === Infinity) return;
    const delay = oldest + this.#timeoutMs() - this.#options.clock.now();
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.expire();
        // Still nothing due (the timeout was made longer, or a test's clock stood still): re-arm.
        if (this.#timer === undefined) this.#changed();
      },
      Math.min(Math.max(0, delay), MAX_TIMER_MS),
    );
    this.#timer.unref();
  }
}

interface Write {
  readonly state: ModeState;
  readonly source: string;
  readonly reason: string | null;
  readonly always?: boolean;
}

/** setTimeout's own ceiling (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
