/** A decision-log event as GET /events, the stream and `echonet events --json` show it. */
import type { StoredEvent } from '../store/events.js';

export function eventView(e: StoredEvent) {
  return {
    id: e.id,
    /** The list cursor: pass it as `before` for older events. */
    seq: e.seq,
    received_at: new Date(e.receivedAt).toISOString(),
    source_id: e.sourceId,
    room: e.room,
    text: e.text,
    confidence: e.confidence,
    listen_mode: e.listenMode,
    mode: e.mode,
    reason: e.reason,
    target: e.target,
    match: e.match && {
      phrase: e.match.phrase,
      matched_text: e.match.matchedText,
      score: e.match.score,
      exact: e.match.exact,
    },
    session_id: e.sessionId,
    session_change: e.sessionChange,
    forwarded: e.forwarded,
    status: e.status,
    latency_ms: e.latencyMs,
    failure: e.failure,
    /** Set when the fallback target got the utterance (`target`): the target it was meant for. */
    intended_target: e.intendedTarget,
    /** What the target answered to be said back (at most 2 000 characters), else null. */
    reply: e.reply,
    /** True when the target's reply was longer and was cut at a word boundary. */
    reply_truncated: e.replyTruncated,
    /** The front end that heard it: `http`, `wyoming` or `mqtt`. */
    front_end: e.frontEnd,
    /** The front end's own conversation id (Home Assistant's), else null. */
    conversation_id: e.conversationId,
    /**
     * Why rooms decided as they did, else null: `{arbitration: {kind, room, target, window_ms,
     * winner, contenders: [{source_id, front_end, text, confidence, chars_after_wake, after_ms}]}}`
     * for a duplicate wake (and its winner), `{echo: {room, reply, reply_event_id, after_ms,
     * similarity, contained}}` for an echo of a reply. Texts are null at the metadata level.
     */
    detail: e.detail,
    near_miss: e.nearMiss && {
      phrase: e.nearMiss.phrase,
      target: e.nearMiss.target,
      matched_text: e.nearMiss.matchedText,
      score: e.nearMiss.score,
    },
    /** `full`, or `metadata` when the row was logged without text and matched words. */
    privacy: e.privacy,
  };
}

export type EventView = ReturnType<typeof eventView>;
