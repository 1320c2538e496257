/**
 * Acting on routing decisions: keeps the compiled routing table and the sessions, applies what
 * router.ts decides, and forwards. Free of HTTP so the CLI, tests and later front ends (MQTT,
 * audio) share it.
 */
import type { Clock } from '../clock.js';
import type { DecisionListener, SessionChange } from './decision-record.js';
import { eventId as newEventId } from './event-id.js';
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
  /** Hears of every decision once it is final (the decision log); must not block. */
  readonly onDecision?: DecisionListener;
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
    const receivedAt = clock.now();
    const table = this.#live.table;
    const room = input.room ?? null;
    const ts = input.ts ?? receivedAt / 1000;
    let live = this.sessions.live(input.source_id);
    if (live && !table.has(live.target)) {
      this.sessions.end(input.source_id);
      live = undefined;
    }
    const utterance = prepareUtterance(input.text);
    const rules = this.#rules;
    const decision = decide(utterance, live?.target ?? null, rules);

    let session = live;
    let change: SessionChange = null;
    switch (decision.mode) {
      case 'session_end':
        if (this.sessions.end(input.source_id)) change = 'ended';
        session = undefined;
        break;
      case 'session_open':
      case 'session_switch':
        session = this.sessions.open(input.source_id, decision.target as string, room, ts);
        change = decision.mode === 'session_open' ? 'opened' : 'switched';
        break;
      case 'session_continue':
        session = this.sessions.extend(live as NonNullable<typeof live>, input.room ?? null, ts);
        change = 'continued';
        break;
      case 'idle':
        break;
    }

    // Every decision has an id, so a client can look up the log's row for any answer.
    const eventId = newEventId(receivedAt);
    const result: TextResult = {
      handled: decision.mode !== 'idle',
      routed_to: decision.target,
      mode: decision.mode,
      session: session ? this.sessions.view(session) : null,
      forwarded: false,
      reason: decision.reason,
      match: decision.match && matchView(decision.match),
      event_id: eventId,
    };
    let status: number | null = null;
    let latencyMs: number | null = null;
    let failure: string | null = null;
    if (decision.forward && session && decision.target !== null) {
      const url = table.listenUrl(decision.target);
      const admission = url === undefined ? undefined : this.health.admit(decision.target);
      if (url === undefined) failure = 'forward_failed:target_unregistered';
      else if (admission && !admission.ok) failure = admission.reason;
      else if (admission) {
        const started = clock.now();
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
        latencyMs = clock.now() - started;
        if (outcome.ok) {
          result.forwarded = true;
          status = outcome.status;
        } else {
          failure = `forward_failed:${outcome.reason}`;
          const code = /^status_(\d+)$/.exec(outcome.reason);
          if (code) status = Number(code[1]);
        }
      }
      if (failure !== null) result.reason = failure;
    }
    this.#options.onDecision?.({
      id: eventId,
      receivedAt,
      sourceId: input.source_id,
      room: session?.room ?? room,
      text: input.text,
      confidence: input.confidence ?? null,
      listenMode: 'trigger',
      mode: result.mode,
      reason: result.reason,
      target: result.routed_to,
      match: result.match,
      sessionId: session?.id ?? live?.id ?? null,
      sessionChange: change,
      forwarded: result.forwarded,
      status,
      latencyMs,
      failure,
      idle: decision.mode === 'idle' ? { utterance, triggers: rules.triggers } : null,
    });
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
