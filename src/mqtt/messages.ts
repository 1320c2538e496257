/**
 * MQTT messages ↔ Echonet's utterances and events, with no I/O: the topics Echonet reads and
 * writes, a payload in (Hermes `asr/textCaptured` or Echonet's own `<prefix>/text`) checked into a
 * TextInput or a problem naming the field, and the payloads out (the decision, Hermes session
 * events, `tts/say`). Field names follow rhasspy-hermes (camelCase on the wire).
 */
import type { SessionEndReason } from '../routing/sessions.js';
import type { TextInput } from '../routing/text-handler.js';

export const HERMES_TEXT_CAPTURED = 'hermes/asr/textCaptured';
export const HERMES_SESSION_STARTED = 'hermes/dialogueManager/sessionStarted';
export const HERMES_SESSION_ENDED = 'hermes/dialogueManager/sessionEnded';
export const HERMES_TTS_SAY = 'hermes/tts/say';
/** Any wake word's detection, `hermes/hotword/<wakewordId>/detected`. */
export const HERMES_HOTWORD_DETECTED = 'hermes/hotword/+/detected';
export const HERMES_START_LISTENING = 'hermes/asr/startListening';

/** Larger than any utterance Echonet accepts with room for Rhasspy's extras (asr tokens): 64 KiB. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** POST /text's bounds, so every front end accepts the same utterances. */
const MAX_TEXT_LENGTH = 500;
const MAX_ID_LENGTH = 64;
const MAX_ROOM_LENGTH = 64;
const MAX_TS = 1e11;

/** Why a message was dropped; each kind is logged at most once a minute. */
export type ProblemKind = 'oversized' | 'malformed' | 'wrong_type';

export interface Problem {
  readonly kind: ProblemKind;
  /** One line naming the field and what it accepts. */
  readonly message: string;
}

/** The topics of one Echonet, from ECHONET_MQTT_TOPIC_PREFIX. */
export interface Topics {
  /** Echonet's own utterance topic, `<prefix>/text`. */
  readonly text: string;
  /** What Echonet subscribes to. */
  readonly subscriptions: readonly string[];
  /** `<prefix>/decision/<source_id>`. */
  decision(sourceId: string): string;
}

export function topicsFor(prefix: string): Topics {
  const text = `${prefix}/text`;
  return {
    text,
    subscriptions: [HERMES_TEXT_CAPTURED, HERMES_HOTWORD_DETECTED, text],
    decision: (sourceId) => `${prefix}/decision/${topicLevel(sourceId)}`,
  };
}

/**
 * A source id as one topic level: `/` would split it into several and `+`/`#` are wildcards a
 * broker refuses in a published topic, so each becomes `_` (the payload is the /text answer).
 */
export function topicLevel(sourceId: string): string {
  return sourceId.replace(/[/+#]/g, '_').replaceAll(String.fromCharCode(0), '_');
}

/** A wake word heard at a site: Echonet opens that site's microphone (Hermes' ASR). */
export interface Wake {
  readonly wake: true;
  readonly siteId: string;
}

const isHotwordTopic = (topic: string) => /^hermes\/hotword\/[^/]+\/detected$/.test(topic);

/**
 * The utterance a message carries (or the wake a hotword message reports), or why it cannot be one; `null` for a message that is fine
 * but says nothing (Rhasspy's textCaptured with empty text when the microphone heard silence).
 */
export function parseMessage(
  topic: string,
  payload: Buffer,
  topics: Topics,
): TextInput | Wake | Problem | null {
  if (payload.length > MAX_MESSAGE_BYTES) {
    return problem(
      'oversized',
      `${payload.length} bytes is too large: messages are at most ${MAX_MESSAGE_BYTES} bytes`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return problem('malformed', 'the payload is not JSON: expected a JSON object');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return problem('malformed', 'the payload is not a JSON object');
  }
  const fields = body as Record<string, unknown>;
  if (topic === HERMES_TEXT_CAPTURED) return textCaptured(fields);
  if (isHotwordTopic(topic)) {
    const siteId = fields.siteId ?? 'default';
    if (!isId(siteId)) return wrong('siteId', `a string of 1 to ${MAX_ID_LENGTH} characters`);
    return { wake: true, siteId };
  }
  if (topic === topics.text) return ownText(fields);
  // Only reachable if the broker sends what was not subscribed to.
  return problem('malformed', `topic ${JSON.stringify(topic)} is not one Echonet reads`);
}

/** Hermes: `{text, likelihood, seconds, siteId, sessionId?}`; siteId defaults as in Hermes. */
function textCaptured(f: Record<string, unknown>): TextInput | Problem | null {
  const text = f.text;
  if (typeof text !== 'string') return wrong('text', 'a string');
  if (text.trim() === '') return null;
  if (text.length > MAX_TEXT_LENGTH) return wrong('text', `at most ${MAX_TEXT_LENGTH} characters`);
  const siteId = f.siteId ?? 'default';
  if (!isId(siteId)) return wrong('siteId', `a string of 1 to ${MAX_ID_LENGTH} characters`);
  const likelihood = f.likelihood ?? null;
  if (likelihood !== null && !isIn(likelihood, 0, 1))
    return wrong('likelihood', 'a number from 0 to 1');
  const sessionId = f.sessionId ?? null;
  if (sessionId !== null && (typeof sessionId !== 'string' || sessionId.length > 255)) {
    return wrong('sessionId', 'a string of at most 255 characters');
  }
  if (f.seconds !== undefined && f.seconds !== null && typeof f.seconds !== 'number') {
    return wrong('seconds', 'a number');
  }
  return {
    source_id: siteId,
    text,
    confidence: likelihood,
    frontEnd: 'mqtt',
    // Whoever started the listening (a satellite, Node-RED) named it: kept in the decision log.
    conversationId: sessionId === '' ? null : sessionId,
  };
}

/** POST /text's body: `{source_id, text, room?, ts?, confidence?}`; other fields are ignored. */
function ownText(f: Record<string, unknown>): TextInput | Problem {
  const { source_id, text } = f;
  const room = f.room ?? null;
  const ts = f.ts ?? null;
  const confidence = f.confidence ?? null;
  if (!isId(source_id)) return wrong('source_id', `a string of 1 to ${MAX_ID_LENGTH} characters`);
  if (typeof text !== 'string' || text.length < 1 || text.length > MAX_TEXT_LENGTH) {
    return wrong('text', `a string of 1 to ${MAX_TEXT_LENGTH} characters`);
  }
  if (room !== null && (typeof room !== 'string' || room.length > MAX_ROOM_LENGTH)) {
    return wrong('room', `a string of at most ${MAX_ROOM_LENGTH} characters or null`);
  }
  if (ts !== null && !isIn(ts, 0, MAX_TS))
    return wrong('ts', 'unix seconds (a number from 0) or null');
  if (confidence !== null && !isIn(confidence, 0, 1)) {
    return wrong('confidence', 'a number from 0 to 1 or null');
  }
  return {
    source_id,
    text,
    room: room as string | null,
    ts: ts as number | null,
    confidence: confidence as number | null,
    frontEnd: 'mqtt',
  };
}

export function isProblem(x: TextInput | Wake | Problem | null): x is Problem {
  return x !== null && 'kind' in x;
}

export function isWake(x: TextInput | Wake | Problem | null): x is Wake {
  return x !== null && 'wake' in x;
}

const isId = (v: unknown): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= MAX_ID_LENGTH;
const isIn = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
const problem = (kind: ProblemKind, message: string): Problem => ({ kind, message });
const wrong = (field: string, accepts: string): Problem =>
  problem('wrong_type', `field ${field}: expected ${accepts}`);

/**
 * Hermes' termination reasons. The four the Hermes protocol knows are mapped as it means them;
 * the other three: another assistant woken (`switched`) is the speaker leaving the conversation
 * (abortedByUser), an unregistered target is an error, and an end through the API is a nominal end
 * decided outside the conversation.
 */
export const TERMINATION: Readonly<Record<SessionEndReason, string>> = {
  end_session: 'nominal',
  cancel: 'abortedByUser',
  timeout: 'timeout',
  failed: 'error',
  switched: 'abortedByUser',
  unregistered: 'error',
  api: 'nominal',
};

/** `hermes/dialogueManager/sessionStarted`: customData names the target. */
export function sessionStarted(sessionId: string, siteId: string, target: string): string {
  return JSON.stringify({ sessionId, siteId, customData: target });
}

export function sessionEnded(
  sessionId: string,
  siteId: string,
  target: string,
  reason: SessionEndReason,
): string {
  return JSON.stringify({
    sessionId,
    siteId,
    customData: target,
    termination: { reason: TERMINATION[reason] },
  });
}

/** `hermes/tts/say`: the satellite at `siteId` speaks `text`; `id` is the decision's event id. */
export function ttsSay(text: string, siteId: string, id: string, sessionId: string): string {
  return JSON.stringify({ text, siteId, id, sessionId });
}

/**
 * `hermes/asr/startListening`, what Rhasspy's dialogue manager sends on a wake word (turned off
 * when Echonet manages the dialogue): the site's speech-to-text transcribes what follows and
 * publishes textCaptured; stopOnSilence ends it when the speaker stops.
 */
export function startListening(siteId: string, sessionId: string): string {
  return JSON.stringify({ siteId, sessionId, stopOnSilence: true, sendAudioCaptured: false });
}
