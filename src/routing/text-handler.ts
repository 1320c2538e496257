/**
 * Acting on routing decisions: keeps the compiled routing table and the sessions, applies what
 * router.ts decides, delivers (deliver.ts: the forward, and the fallback target when it fails) and
 * hands back the target's reply, ending the conversation when the target asks. Free of HTTP so
 * every front end (HTTP, Wyoming, later MQTT), the CLI and tests share it.
 */
import type { Clock } from '../clock.js';
import type { DecisionDetail, DecisionListener, SessionChange } from './decision-record.js';
import { eventId as newEventId } from './event-id.js';
import type { Forwarder } from '../delivery/forwarder.js';
import { deliver, fallsBack, type DeliveryContext } from './deliver.js';
import { TargetHealth } from '../delivery/target-health.js';
import { compileCancelPhrases } from '../matching/cancel-phrases.js';
import type { Match, MatchOptions } from '../matching/matcher.js';
import { LiveTable } from './live-table.js';
import { prepareUtterance, tokenize, type Utterance } from '../matching/normalize.js';
import type { ListenModes, ListenState } from './listen-modes.js';
import { DEFAULT_MATCH_NAMES, namesWake, type MatchNames } from './name-rules.js';
import {
  MUTED,
  decide,
  decideActive,
  decideDefault,
  type Decision,
  type Mode,
  type RouterRules,
} from './router.js';
import { Rooms, type Heard, type RoomRules } from './rooms.js';
import type { RoutingTable } from './routing-table.js';
import { SessionTable, type SessionListener, type SessionView } from './sessions.js';
import type { TableBuilder } from './table-builder.js';

export interface TextInput {
  readonly source_id: string;
  readonly room?: string | null | undefined;
  /** Client time, unix seconds; only reported back, never used for expiry. */
  readonly ts?: number | null | undefined;
  readonly text: string;
  readonly confidence?: number | null | undefined;
  /** Which front end heard it (default `http`): some rules apply per front end (names as wake phrases). */
  readonly frontEnd?: FrontEnd | undefined;
  /**
   * Where an utterance with no wake phrase and no conversation goes (a Wyoming binding's target);
   * undefined: the configured default target, if any.
   */
  readonly defaultTarget?: string | null | undefined;
  /** The front end's own conversation id (Home Assistant's), kept in the decision log. */
  readonly conversationId?: string | null | undefined;
  /**
   * Told the target just before the utterance is forwarded to it: a front end that must answer
   * before the forward ends (Wyoming's deadline, while a fallback is still being tried) can then
   * say which assistant did not answer.
   */
  readonly onForward?: ((target: string) => void) | undefined;
}

export const FRONT_ENDS = ['http', 'wyoming', 'mqtt'] as const;
export type FrontEnd = (typeof FRONT_ENDS)[number];

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
   * the target in flight) or `target_unavailable` (its circuit breaker is open); after a fallback
   * that took the utterance, `fallback:<the intended target's failure>`.
   */
  reason: string;
  match: MatchView | null;
  event_id: string | null;
  /** What the target answered to be said back to the speaker (`{"reply": "…"}`), else null. */
  reply: string | null;
  /**
   * Only when the fallback target was tried (ECHONET_FALLBACK_TARGET): the target the utterance
   * was meant for, which failed; `routed_to` is then the fallback.
   */
  intended_target?: string;
  /**
   * Only when the utterance lost duplicate-wake arbitration (`reason: "duplicate_wake"`): the
   * source whose utterance of the same wake (or follow-up) was forwarded instead.
   */
  winner?: string;
}

/** Reasons for utterances rooms dropped on purpose: the front end should say nothing. */
export const ROOM_DROPS: ReadonlySet<string> = new Set(['duplicate_wake', 'echo_of_reply']);

/** The handler's settings that may change while it runs (TextHandler.reconfigure). */
export interface RuntimeRules extends RoomRules {
  readonly sessionTimeoutS: number;
  readonly cancelPhrases: readonly string[];
  readonly stripTrigger: boolean;
  /** Where an utterance goes once when its target fails; null or absent: nowhere. */
  readonly fallbackTarget?: string | null | undefined;
  /** Where names wake their targets (ECHONET_MATCH_NAMES); default `wyoming`. */
  readonly matchNames?: MatchNames;
  /** ECHONET_DEFAULT_TARGET; '' or absent: none. */
  readonly defaultTarget?: string;
}

export interface TextHandlerOptions extends RuntimeRules {
  readonly match: MatchOptions;
  readonly clock: Clock;
  readonly forwarder: Forwarder;
  /** The listen modes (inactive, trigger, active); absent: always trigger. */
  readonly listenModes?: ListenModes;
  /** Hears of every decision once it is final (the decision log); must not block. */
  readonly onDecision?: DecisionListener;
  /**
   * Hears of every conversation opened and ended, expiry included (one timer, on the clock, armed
   * for the earliest expiry); must not block. Each session started is ended exactly once.
   */
  readonly onSession?: SessionListener;
  /** Hears of a configuration problem met while routing (one line, said once each). */
  readonly onWarning?: (message: string) => void;
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
  /** Rooms: where utterances were heard, duplicate-wake arbitration, echo suppression. */
  readonly rooms: Rooms;
  readonly #options: TextHandlerOptions;
  #cancelPhrases: readonly string[];
  #cancel;
  #stripTrigger: boolean;
  #fallbackTarget: string | null;
  /** Fallback targets already warned about (not registered). */
  readonly #missingWarned = new Set<string>();
  /** Says once per name that the fallback target is needed but not registered. */
  readonly #fallbackMissing = (name: string): void => {
    if (this.#missingWarned.has(name)) return;
    this.#missingWarned.add(name);
    this.#options.onWarning?.(
      `fallback target '${name}' is not registered; failed forwards get no fallback until it is`,
    );
  };
  #matchNames: MatchNames;
  #defaultTarget: string;
  /** Default targets already warned about as not registered (said once each while they are not). */
  readonly #warnedDefaults = new Set<string>();
  readonly #live: LiveTable;
  /** What `decide` needs of the current table; replaced with it, not rebuilt per utterance. */
  #rules: RouterRules;
  /** `#rules` with targets' names waking them too (ECHONET_MATCH_NAMES). */
  #namedRules: RouterRules;

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
    this.sessions = new SessionTable(options.sessionTimeoutS, options.clock, {
      onSession: options.onSession,
      onListenerError: (err) =>
        options.onWarning?.(`a session listener failed: ${(err as Error)?.message ?? String(err)}`),
    });
    this.rooms = new Rooms(
      options.clock,
      options,
      (source, target) => this.sessions.live(source)?.target === target,
    );
    this.#cancelPhrases = options.cancelPhrases;
    this.#cancel = compileCancelPhrases(options.cancelPhrases);
    this.#stripTrigger = options.stripTrigger;
    this.#fallbackTarget = options.fallbackTarget ?? null;
    this.#matchNames = options.matchNames ?? DEFAULT_MATCH_NAMES;
    this.#defaultTarget = options.defaultTarget ?? '';
    this.#rules = this.#rulesFor(table);
    this.#namedRules = { ...this.#rules, names: true };
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

  /**
   * Applies changed settings (PUT /config) from the next utterance on. Sessions already open keep
   * their expiry until their next utterance; a changed match setting needs a new table
   * (`registryChanged`).
   */
  reconfigure(settings: RuntimeRules): void {
    this.sessions.setTimeout(settings.sessionTimeoutS);
    if (settings.cancelPhrases !== this.#cancelPhrases) {
      this.#cancel = compileCancelPhrases(settings.cancelPhrases);
      this.#cancelPhrases = settings.cancelPhrases;
    }
    this.#stripTrigger = settings.stripTrigger;
    this.#fallbackTarget = settings.fallbackTarget ?? null;
    this.#matchNames = settings.matchNames ?? DEFAULT_MATCH_NAMES;
    this.#defaultTarget = settings.defaultTarget ?? '';
    this.rooms.configure(settings);
    this.#rules = this.#rulesFor(this.#live.table);
    this.#namedRules = { ...this.#rules, names: true };
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

  /** Stops rebuilding (and any worker) and the sessions' expiry timer; the last table keeps answering. */
  close(): Promise<void> {
    // Utterances waiting for other microphones are decided now rather than left hanging.
    this.rooms.flush();
    this.sessions.close();
    return this.#live.close();
  }

  /**
   * In the same synchronous step as the swap: ends sessions whose target is gone and forgets the
   * health of targets that are gone or now live at another address. A target registered again at
   * the same address keeps its health, breaker and in-flight count, so its cap still holds.
   */
  #swapped(previous: RoutingTable, table: RoutingTable): void {
    this.#rules = this.#rulesFor(table);
    this.#namedRules = { ...this.#rules, names: true };
    // A default target registered now is warned about again if it goes.
    for (const name of this.#warnedDefaults) if (table.has(name)) this.#warnedDefaults.delete(name);
    this.sessions.endWhere((s) => !table.has(s.target), 'unregistered');
    this.health.retain(table.names());
    for (const name of table.names()) {
      const before = previous.listenUrl(name);
      if (before !== undefined && before !== table.listenUrl(name)) this.health.reset(name);
    }
  }

  /**
   * What the router would decide for `text`, without forwarding or touching sessions, in the
   * listen mode the source (or, without one, every source) is in, as heard by `frontEnd`.
   */
  preview(text: string, sourceId?: string, frontEnd: FrontEnd = 'http'): Decision {
    const listen = this.#options.listenModes?.for(sourceId ?? '');
    if (listen?.state.mode === 'inactive') return MUTED;
    const live = sourceId === undefined ? undefined : this.sessions.live(sourceId);
    const utterance = prepareUtterance(text);
    const decision = decide(utterance, live?.target ?? null, this.#rulesHeardBy(frontEnd));
    const table = this.table;
    return this.#withDefault(
      withListenMode(decision, utterance, listen, table),
      utterance,
      undefined,
      table,
    );
  }

  async handle(input: TextInput): Promise<TextResult> {
    const { clock } = this.#options;
    const receivedAt = clock.now();
    const table = this.#live.table;
    const ts = input.ts ?? receivedAt / 1000;
    const listen = this.#options.listenModes?.for(input.source_id);
    // Muted: nothing is matched, forwarded or changed, sessions included.
    if (listen?.state.mode === 'inactive') return this.#muted(input, receivedAt);
    // The utterance's own room, else its source's (ECHONET_SOURCE_ROOMS).
    const room = this.rooms.roomOf(input.source_id, input.room);
    const utterance = prepareUtterance(input.text);
    // Rooms are asked only about utterances heard in one, while a rule is on: nothing else pays.
    const heard: Heard | null =
      room !== null && this.rooms.enabled
        ? {
            sourceId: input.source_id,
            frontEnd: input.frontEnd ?? 'http',
            text: input.text,
            confidence: input.confidence ?? null,
            at: receivedAt,
          }
        : null;
    if (heard !== null && room !== null) {
      const echo = this.rooms.screen(room, utterance, heard);
      if (echo !== null) return this.#dropped(input, receivedAt, room, listen, ECHO, null, echo);
    }
    let live = this.sessions.live(input.source_id);
    if (live && !table.has(live.target)) {
      this.sessions.end(input.source_id, 'unregistered');
      live = undefined;
    }
    const rules = this.#rulesHeardBy(input.frontEnd ?? 'http');
    const decision = this.#withDefault(
      withListenMode(decide(utterance, live?.target ?? null, rules), utterance, listen, table),
      utterance,
      input.defaultTarget,
      table,
    );
    let detail: DecisionDetail | null = null;
    if (heard !== null && room !== null) {
      const asked = this.rooms.arbitrate(room, utterance, decision, heard);
      if (asked !== null) {
        // Awaited only when the utterance has to wait for other microphones: a room with one
        // known source gets its verdict synchronously and pays no wait.
        const verdict = asked instanceof Promise ? await asked : asked;
        if (!verdict.won) {
          // The speaker woke a target and another microphone carries that conversation now: a
          // conversation this source still had (an earlier round it won) would take its copies
          // of the follow-ups, so it ends (SEAM for the sessions lane: reason 'switched').
          if (verdict.detail.kind === 'wake') this.sessions.end(input.source_id, 'switched');
          const dropped = { ...decision, reason: 'duplicate_wake' };
          return this.#dropped(input, receivedAt, room, listen, dropped, verdict.winner, {
            arbitration: verdict.detail,
          });
        }
        if (verdict.detail !== null) detail = { arbitration: verdict.detail };
        // A winner opens its conversation as decided, whatever happened while it waited.
      }
    }

    let session = live;
    let change: SessionChange = null;
    switch (decision.mode) {
      case 'session_end':
        if (this.sessions.end(input.source_id, 'cancel')) change = 'ended';
        session = undefined;
        break;
      case 'session_open':
      case 'session_switch':
        session = this.sessions.open(
          input.source_id,
          decision.target as string,
          room,
          ts,
          input.frontEnd ?? 'http',
        );
        change = decision.mode === 'session_open' ? 'opened' : 'switched';
        break;
      case 'session_continue':
        session = this.sessions.extend(live as NonNullable<typeof live>, room, ts);
        change = 'continued';
        break;
      case 'dispatch_once':
        session = undefined;
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
      reply: null,
    };
    let status: number | null = null;
    let latencyMs: number | null = null;
    let failure: string | null = null;
    let truncated = false;
    if (decision.forward && decision.target !== null) {
      input.onForward?.(decision.target);
      const delivery = await deliver(this.#deliveryContext(table), decision.target, {
        event_id: eventId,
        ts,
        source_id: input.source_id,
        room: session?.room ?? room,
        session_id: session?.id ?? null,
        mode: decision.forward.mode,
        text: decision.forward.text,
        confidence: input.confidence ?? null,
      });
      status = delivery.status;
      latencyMs = delivery.latencyMs;
      failure = delivery.failure;
      result.forwarded = delivery.forwarded;
      result.routed_to = delivery.target;
      if (delivery.reason !== null) result.reason = delivery.reason;
      if (delivery.intendedTarget !== null) result.intended_target = delivery.intendedTarget;
      result.reply = delivery.answer.reply;
      truncated = delivery.answer.truncated;
      // The target is done with the conversation this utterance belonged to: end it now, unless a
      // later utterance of the source has already moved it on (another target, a new session).
      if (delivery.forwarded && delivery.answer.endSession && session !== undefined) {
        if (this.sessions.endIf(input.source_id, session.id, 'end_session')) change = 'ended';
        result.session = null;
      }
      // Nobody took it because the target is failing (down, timing out, 5xx, breaker open) and no
      // fallback did: the conversation it opened or continued ends, so the next follow-up is not
      // sent to a dead target but routed afresh. Not on `target_busy` (Echonet's own in-flight cap:
      // the target is up, and a busy house must not lose its conversations) nor on a 4xx (the
      // target refused this one utterance, on purpose).
      if (
        !delivery.forwarded &&
        session !== undefined &&
        delivery.failure !== null &&
        fallsBack(delivery.failure)
      ) {
        if (this.sessions.endIf(input.source_id, session.id, 'failed')) change = 'ended';
        result.session = null;
      }
    }
    if (listen && result.forwarded && result.routed_to !== null) {
      this.#options.listenModes?.delivered(listen, result.routed_to);
    }
    // The reply is about to be spoken in the room: a microphone there may hear it back.
    if (result.reply !== null && heard !== null && room !== null) {
      const words = tokenize(result.reply).map((t) => t.norm);
      this.rooms.replied(room, result.reply, words, eventId);
    }
    this.#options.onDecision?.({
      id: eventId,
      receivedAt,
      sourceId: input.source_id,
      frontEnd: input.frontEnd ?? 'http',
      conversationId: input.conversationId ?? null,
      room: session?.room ?? room,
      text: input.text,
      confidence: input.confidence ?? null,
      listenMode: listen?.state.mode ?? 'trigger',
      mode: result.mode,
      reason: result.reason,
      target: result.routed_to,
      match: result.match,
      // A dispatch outside a session belongs to none (not to another target's live one).
      sessionId: decision.mode === 'dispatch_once' ? null : (session?.id ?? live?.id ?? null),
      sessionChange: change,
      forwarded: result.forwarded,
      status,
      latencyMs,
      failure,
      intendedTarget: result.intended_target ?? null,
      reply: result.reply,
      replyTruncated: truncated,
      detail,

      idle:
        decision.mode === 'idle'
          ? { utterance, triggers: rules.triggers, names: rules.names === true }
          : null,
    });
    return result;
  }

  /**
   * The answer (and decision record) for an utterance met by the inactive listen mode. The routed
   * path's record is one object literal in `handle`, on purpose: one helper building it from a
   * spread of the fields that differ cost 35 µs of CPU per request (bench/compare.ts, wake, c=32).
   * The paths that forward nothing share `#untouched`.
   */
  #muted(input: TextInput, receivedAt: number): TextResult {
    return this.#untouched(input, receivedAt, {
      room: input.room ?? null,
      // Inactive is the privacy mode: what was said while muted is not kept, only that it was.
      text: '',
      listenMode: 'inactive',
      handled: false,
      decision: MUTED,
      winner: null,
      detail: null,
    });
  }

  /**
   * The answer (and decision record) for an utterance rooms dropped: a duplicate of another
   * microphone's wake or follow-up (`winner` names the source forwarded instead), or an echo of
   * the room's last reply. Handled (the front end should stay silent), nothing forwarded, no
   * conversation opened or continued (a wake's loser has already lost any of its own).
   */
  #dropped(
    input: TextInput,
    receivedAt: number,
    room: string,
    listen: ListenState | undefined,
    decision: Pick<Decision, 'target' | 'reason' | 'match'>,
    winner: string | null,
    detail: DecisionDetail,
  ): TextResult {
    return this.#untouched(input, receivedAt, {
      room,
      text: input.text,
      listenMode: listen?.state.mode ?? 'trigger',
      handled: true,
      decision,
      winner,
      detail,
    });
  }

  /** An utterance that forwarded nothing and touched no conversation: its record and answer. */
  #untouched(
    input: TextInput,
    receivedAt: number,
    how: {
      readonly room: string | null;
      readonly text: string;
      readonly listenMode: string;
      readonly handled: boolean;
      readonly decision: Pick<Decision, 'target' | 'reason' | 'match'>;
      readonly winner: string | null;
      readonly detail: DecisionDetail | null;
    },
  ): TextResult {
    const eventId = newEventId(receivedAt);
    const { target, reason } = how.decision;
    const match = how.decision.match && matchView(how.decision.match);
    this.#options.onDecision?.({
      id: eventId,
      receivedAt,
      sourceId: input.source_id,
      frontEnd: input.frontEnd ?? 'http',
      conversationId: input.conversationId ?? null,
      room: how.room,
      text: how.text,
      confidence: input.confidence ?? null,
      listenMode: how.listenMode,
      mode: 'idle',
      reason,
      target,
      match,
      sessionId: null,
      sessionChange: null,
      forwarded: false,
      status: null,
      latencyMs: null,
      failure: null,
      intendedTarget: null,
      reply: null,
      replyTruncated: false,
      detail: how.detail,
      // No near miss to compute: nothing was matched (muted), or the utterance was not idle.
      idle: null,
    });
    const result: TextResult = {
      handled: how.handled,
      routed_to: target,
      mode: 'idle',
      session: null,
      forwarded: false,
      reason,
      match,
      event_id: eventId,
      reply: null,
    };
    if (how.winner !== null) result.winner = how.winner;
    return result;
  }

  #deliveryContext(table: RoutingTable): DeliveryContext {
    return {
      table,
      health: this.health,
      forwarder: this.#options.forwarder,
      clock: this.#options.clock,
      fallbackTarget: this.#fallbackTarget,
      fallbackMissing: this.#fallbackMissing,
    };
  }

  /** The rules for an utterance heard by `frontEnd` (names wake targets or not). */
  #rulesHeardBy(frontEnd: FrontEnd): RouterRules {
    return namesWake(this.#matchNames, frontEnd) ? this.#namedRules : this.#rules;
  }

  #rulesFor(table: RoutingTable): RouterRules {
    return {
      triggers: table.triggers,
      cancel: this.#cancel,
      stripTrigger: this.#stripTrigger,
    };
  }

  /**
   * The decision with the default target: the input's own (a Wyoming binding's; null: none), else
   * the configured one. One that is not registered leaves the utterance idle, as without one, and
   * is warned about once.
   */
  #withDefault(
    decision: Decision,
    utterance: Utterance,
    requested: string | null | undefined,
    table: RoutingTable,
  ): Decision {
    if (decision.reason !== 'no_trigger_no_session') return decision;
    const target = (
      requested === undefined ? this.#defaultTarget : (requested ?? '')
    ).toLowerCase();
    if (target === '') return decision;
    if (!table.has(target)) {
      if (!this.#warnedDefaults.has(target)) {
        this.#warnedDefaults.add(target);
        this.#options.onWarning?.(
          `default target '${target}' is not registered: utterances with no wake phrase and no conversation route nowhere until it is`,
        );
      }
      return decision;
    }
    return decideDefault(decision, utterance, target);
  }
}

/**
 * The decision in the active listen mode, when its target can receive; a target no longer
 * registered cannot, and the utterance routes as in trigger mode.
 */
function withListenMode(
  decision: Decision,
  utterance: Utterance,
  listen: ListenState | undefined,
  table: RoutingTable,
): Decision {
  const target = listen?.state.mode === 'active' ? listen.state.target : null;
  return target !== null && table.has(target)
    ? decideActive(decision, utterance, target)
    : decision;
}

/** An echo of the room's last reply: dropped before anything is matched. */
const ECHO = { target: null, reason: 'echo_of_reply', match: null } as const;

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
