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
import { prepareUtterance } from './normalize.js';
import { decide, type Decision, type Mode, type RouterRules } from './router.js';
import {
  buildRoutingTable,
  compileCancelMatcher,
  type RouteTarget,
  type RoutingTable,
} from './routing-table.js';
import { SessionTable, type SessionView } from './sessions.js';

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
  #table: RoutingTable;
  /** What `decide` needs of the current table; rebuilt with it, not per utterance. */
  #rules: RouterRules;
  /** Set when the registry changed and the table has not been rebuilt yet. */
  #pendingTargets: (() => readonly RouteTarget[]) | undefined;
  #rebuildScheduled = false;

  constructor(targets: readonly RouteTarget[], options: TextHandlerOptions) {
    this.#options = options;
    this.sessions = new SessionTable(options.sessionTimeoutS, options.clock);
    this.#cancel = compileCancelMatcher(options.cancelPhrases);
    this.#table = buildRoutingTable(targets, options.match);
    this.#rules = this.#rulesFor(this.#table);
    const limits = options.targetLimits ?? DEFAULT_TARGET_LIMITS;
    this.health = new TargetHealth({
      maxInflight: limits.maxInflight,
      breakerFailures: limits.breakerFailures,
      cooldownMs: limits.breakerCooldownS * 1000,
      clock: options.clock,
    });
  }

  /**
   * Notes that the registry changed. The table is rebuilt once, soon after (a burst of
   * registrations costs one rebuild, not one each), or right away if an utterance comes first.
   */
  invalidate(loadTargets: () => readonly RouteTarget[]): void {
    this.#pendingTargets = loadTargets;
    if (this.#rebuildScheduled) return;
    this.#rebuildScheduled = true;
    setImmediate(() => {
      this.#rebuildScheduled = false;
      this.sync();
    });
  }

  /** Applies a pending registry change, if any. */
  sync(): void {
    const load = this.#pendingTargets;
    if (load === undefined) return;
    this.#pendingTargets = undefined;
    this.reload(load());
  }

  /**
   * Recompiles the routing table, ends sessions whose target is gone, and forgets the health of
   * targets that are gone or now live at another address.
   */
  reload(targets: readonly RouteTarget[]): void {
    const previous = this.#table;
    const table = buildRoutingTable(targets, this.#options.match);
    this.#table = table;
    this.#rules = this.#rulesFor(table);
    this.sessions.endWhere((s) => !table.has(s.target));
    this.health.retain(targets.map((t) => t.name));
    for (const t of targets) {
      if (previous.listenUrl(t.name) !== table.listenUrl(t.name)) this.health.reset(t.name);
    }
  }

  /** What the router would decide for `text`, without forwarding or touching sessions. */
  preview(text: string, sourceId?: string): Decision {
    this.sync();
    const live = sourceId === undefined ? undefined : this.sessions.live(sourceId);
    return decide(prepareUtterance(text), live?.target ?? null, this.#rules);
  }

  async handle(input: TextInput): Promise<TextResult> {
    const { clock, forwarder } = this.#options;
    this.sync();
    const table = this.#table;
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
