/**
 * Acting on routing decisions: keeps the compiled routing table and the sessions, applies what
 * router.ts decides, and forwards. Free of HTTP so the CLI, tests and later front ends (MQTT,
 * audio) share it.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Forwarder } from './forwarder.js';
import { TargetHealth } from './target-health.js';
import type { Match, MatchOptions } from './matcher.js';
import { LiveTable } from './live-table.js';
import { prepareUtterance } from './normalize.js';
import { decide, type Decision, type Mode, type RouterRules } from './router.js';
import { compileCancelMatcher, type RoutingTable } from './routing-table.js';
import { SessionTable, type SessionView } from './sessions.js';
import type { TableBuilder } from './table-builder.js';

export interface TextInput {
  readonly source_id: string;
  readonly room?: string | null | undefined;
  /** Client time, unix seconds; only reported back, never used for expiry. */
  readonly ts?: number | null | undefined;
  readonly text: string;
  readonly confidence?: number | null | undefined;
}

export interface MatchView {
  phrase: string;
  target: string;
  matched_text: string;
  start: number;
  end: number;
  score: number;
  exact: boolean;
}

export interface TextResult {
  handled: boolean;
  routed_to: string | null;
  mode: Mode;
  session: SessionView | null;
  forwarded: boolean;
  /**
   * The router's reason, or why forwarding failed: `forward_failed:<timeout|refused|reset|dns|
   * status_<code>|body_too_large|target_unregistered|error>`, `target_busy` (too many forwards to
   * the target in flight) or `target_unavailable` (its circuit breaker is open).
   */
  reason: string;
  match: MatchView | null;
  event_id: string | null;
}

export interface TextHandlerOptions {
  readonly sessionTimeoutS: number;
  readonly cancelPhrases: readonly string[];
  readonly stripTrigger: boolean;
  readonly match: MatchOptions;
  readonly clock: Clock;
  readonly forwarder: Forwarder;
  /** Per-target in-flight cap and circuit breaker; default: 32 in flight, 5 failures, 10 s. */
  readonly targetLimits?: {
    readonly maxInflight: number;
    readonly breakerFailures: number;
    readonly breakerCooldownS: number;
  };
}

export class TextHandler {
  readonly sessions: SessionTable;
  readonly health: TargetHealth;
  readonly #options: TextHandlerOptions;
  readonly #cancel;
  readonly #live: LiveTable;
  /** What `decide` needs of the current table; replaced with it, not rebuilt per utterance. */
  #rules: RouterRules;

  /**
   * `table`: the registry as compiled at start-up; `builder` builds the next ones (live-table.ts).
   * `onBuildError` hears of a failed rebuild (the old table keeps serving).
   */
  constructor(
    table: RoutingTable,
    builder: TableBuilder,
    options: TextHandlerOptions & { readonly onBuildError?: (err: Error) => void },
  ) {
    this.#options = options;
    this.sessions = new SessionTable(options.sessionTimeoutS, options.clock);
    this.#cancel = compileCancelMatcher(options.cancelPhrases);
    this.#rules = this.#rulesFor(table);
    const limits = options.targetLimits ?? DEFAULT_TARGET_LIMITS;
    this.health = new TargetHealth({
      maxInflight: limits.maxInflight,
      breakerFailures: limits.breakerFailures,
      cooldownMs: limits.breakerCooldownS * 1000,
      clock: options.clock,
    });
    this.#live = new LiveTable(table, {
      builder,
      onSwap: (previous, next) => this.#swapped(previous, next),
      onError: options.onBuildError ?? (() => {}),
    });
  }

  /** The routing table in use. */
  get table(): RoutingTable {
    return this.#live.table;
  }

  /** Notes that the registry changed; a new table follows (see live-table.ts). */
  registryChanged(): void {
    this.#live.changed();
  }

  /**
   * Resolves once the table in use includes every registry change noted so far; rejects with
   * `RoutingTableStale` when the rebuild that should have included them failed.
   */
  current(): Promise<void> {
    return this.#live.current();
  }

  /** Stops rebuilding (and any worker); the last table keeps answering. */
  close(): Promise<void> {
    return this.#live.close();
  }

  /**
   * In the same synchronous step as the swap: ends sessions whose target is gone and forgets the
   * health of targets that are gone or now live at another address. A target registered again at
   * the same address keeps its health, breaker and in-flight count, so its cap still holds.
   */
  #swapped(previous: RoutingTable, table: RoutingTable): void {
    this.#rules = this.#rulesFor(table);
    this.sessions.endWhere((s) => !table.has(s.target));
    this.health.retain(table.names());
    for (const name of table.names()) {
      const before = previous.listenUrl(name);
      if (before !== undefined && before !== table.listenUrl(name)) this.health.reset(name);
    }
  }

  /** What the router would decide for `text`, without forwarding or touching sessions. */
  preview(text: string, sourceId?: string): Decision {
    const live = sourceId === undefined ? undefined : this.sessions.live(sourceId);
    return decide(prepareUtterance(text), live?.target ?? null, this.#rules);
  }

  async handle(input: TextInput): Promise<TextResult> {
    const { clock, forwarder } = this.#options;
    const table = this.#live.table;
    const room = input.room ?? null;
    const ts = input.ts ?? clock.now() / 1000;
    let live = this.sessions.live(input.source_id);
    if (live && !table.has(live.target)) {
      this.sessions.end(input.source_id);
      live = undefined;
    }
    const decision = decide(prepareUtterance(input.text), live?.target ?? null, this.#rules);

    let session = live;
    switch (decision.mode) {
      case 'session_end':
        this.sessions.end(input.source_id);
        session = undefined;
        break;
      case 'session_open':
      case 'session_switch':
        session = this.sessions.open(input.source_id, decision.target as string, room, ts);
        break;
      case 'session_continue':
        session = this.sessions.extend(live as NonNullable<typeof live>, input.room ?? null, ts);
        break;
      case 'idle':
        break;
    }

    const result: TextResult = {
      handled: decision.mode !== 'idle',
      routed_to: decision.target,
      mode: decision.mode,
      session: session ? this.sessions.view(session) : null,
      forwarded: false,
      reason: decision.reason,
      match: decision.match && matchView(decision.match),
      event_id: null,
    };
    if (!decision.forward || !session || decision.target === null) return result;

    const url = table.listenUrl(decision.target);
    if (url === undefined) return { ...result, reason: 'forward_failed:target_unregistered' };
    const admission = this.health.admit(decision.target);
    if (!admission.ok) return { ...result, reason: admission.reason };
    const eventId = randomUUID();
    let outcome;
    try {
      outcome = await forwarder.forward(url, {
        event_id: eventId,
        ts,
        source_id: input.source_id,
        room: session.room,
        session_id: session.id,
        mode: decision.forward.mode,
        text: decision.forward.text,
        confidence: input.confidence ?? null,
      });
    } finally {
      admission.settle(outcome ?? { ok: false, reason: 'error' });
    }
    result.event_id = eventId;
    if (outcome.ok) result.forwarded = true;
    else result.reason = `forward_failed:${outcome.reason}`;
    return result;
  }

  #rulesFor(table: RoutingTable): RouterRules {
    return {
      triggers: table.triggers,
      cancel: this.#cancel,
      stripTrigger: this.#options.stripTrigger,
    };
  }
}

const DEFAULT_TARGET_LIMITS = { maxInflight: 32, breakerFailures: 5, breakerCooldownS: 10 };

export function matchView(m: Match): MatchView {
  return {
    phrase: m.phrase,
    target: m.target,
    matched_text: m.matchedText,
    start: m.start,
    end: m.end,
    score: m.score,
    exact: m.exact,
  };
}

/** A decision as POST /route/preview and `echonet route` show it. */
export function previewView(d: Decision) {
  return {
    handled: d.mode !== 'idle',
    routed_to: d.target,
    mode: d.mode,
    reason: d.reason,
    match: d.match && matchView(d.match),
    forward_text: d.forward?.text ?? null,
  };
}
