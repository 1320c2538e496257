/**
 * What the text handler reports about every utterance it decided on, for the decision log (and
 * later the metrics and the console). Built once per utterance after the forward settles; the
 * listener must not block (the log queues it and writes in batches off the request path).
 */
import type { PhraseMatcher } from '../matching/matcher.js';
import type { Utterance } from '../matching/normalize.js';
import type { ArbitrationDetail } from './arbitration.js';
import type { EchoDetail } from './echo.js';
import type { Mode } from './router.js';
import type { FrontEnd, MatchView } from './text-handler.js';

/**
 * The why of a decision rooms made (src/routing/rooms.ts): the competing sources and texts of a
 * duplicate wake (the winner's record too), or the reply an utterance echoed.
 */
export type DecisionDetail =
  { readonly arbitration: ArbitrationDetail } | { readonly echo: EchoDetail };

/** The detail without what was said (the metadata level of the decision log keeps no words). */
export function detailWithoutWords(detail: DecisionDetail): DecisionDetail {
  if ('echo' in detail) return { echo: { ...detail.echo, reply: null } };
  const a = detail.arbitration;
  return { arbitration: { ...a, contenders: a.contenders.map((c) => ({ ...c, text: null })) } };
}

/** What the utterance did to its source's conversation. */
export type SessionChange = 'opened' | 'continued' | 'switched' | 'ended' | null;

export interface DecisionRecord {
  /** The event_id returned in the answer (and sent to the target when forwarded). */
  readonly id: string;
  /** Server time (ms since the epoch, the handler's clock) the utterance arrived. */
  readonly receivedAt: number;
  readonly sourceId: string;
  readonly room: string | null;
  readonly frontEnd: FrontEnd;
  /** The front end's conversation id (Home Assistant's), else null. */
  readonly conversationId: string | null;
  readonly text: string;
  readonly confidence: number | null;
  /** The listen mode the utterance met (trigger, active or inactive). */
  readonly listenMode: string;
  readonly mode: Mode;
  /** The final reason, as answered (a failed forward's reason included). */
  readonly reason: string;
  readonly target: string | null;
  readonly match: MatchView | null;
  readonly sessionId: string | null;
  readonly sessionChange: SessionChange;
  readonly forwarded: boolean;
  /** The target's HTTP status when it answered, else null. */
  readonly status: number | null;
  /** From the forward's start to its end, in ms; null when nothing was forwarded. */
  readonly latencyMs: number | null;
  /** Why a forward did not happen or failed (`forward_failed:timeout`, `target_busy`…), else null. */
  readonly failure: string | null;
  /** When the fallback target was tried (`target` is then the fallback): the target meant. */
  readonly intendedTarget: string | null;
  /** What the target that took the utterance answered to be said back, else null. */
  readonly reply: string | null;
  /** True when that reply was longer than MAX_REPLY_CHARS and was cut. */
  readonly replyTruncated: boolean;
  /** Why rooms dropped it or let it win (arbitration, echo), else null. */
  readonly detail: DecisionDetail | null;
  /**
   * For an idle utterance: what it was matched against, so the log can compute the best near miss
   * later, off the request path, against the very table that decided (`names`: whether targets'
   * names could wake them).
   */
  readonly idle: {
    readonly utterance: Utterance;
    readonly triggers: PhraseMatcher;
    readonly names?: boolean;
  } | null;
}

export type DecisionListener = (record: DecisionRecord) => void;
