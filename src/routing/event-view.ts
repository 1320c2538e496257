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
