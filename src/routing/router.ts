/**
 * The routing decision, and nothing else: no I/O, no clock, no session changes. Given an utterance
 * and the target holding the source's live session, it says what should happen.
 */
import type { CancelPhrases } from '../matching/cancel-phrases.js';
import type { FindOptions, Match, PhraseMatcher } from '../matching/matcher.js';
import type { Utterance } from '../matching/normalize.js';

/** Every decision mode, for the routes that filter by one (GET /events, its stream). */
export const MODES = [
  'idle',
  'session_open',
  'session_switch',
  'session_continue',
  'session_end',
  // One utterance delivered without a session (the active listen mode; the Python service's name).
  'dispatch_once',
] as const;
export type Mode = (typeof MODES)[number];

export interface Decision {
  readonly mode: Mode;
  /** The target the utterance goes to (null: nowhere). */
  readonly target: string | null;
  readonly reason: string;
  readonly match: Match | null;
  /** What to send the target, or null to send nothing. */
  readonly forward: { readonly text: string; readonly mode: 'triggered' | 'open_listen' } | null;
}

export interface RouterRules {
  readonly triggers: PhraseMatcher;
  readonly cancel: CancelPhrases;
  readonly stripTrigger: boolean;
  /**
   * Whether a target's name at the start of the utterance wakes it like a wake phrase
   * (ECHONET_MATCH_NAMES, decided per front end by the text handler). Default false.
   */
  readonly names?: boolean;
}

const WITH_NAMES: FindOptions = Object.freeze({ names: true });

export function decide(
  utterance: Utterance,
  sessionTarget: string | null,
  rules: RouterRules,
): Decision {
  // No word at all (only spaces, punctuation or symbols): nothing was said. Idle even inside a
  // conversation, which is neither extended nor ended: forwarding would hand the assistant an
  // empty turn, and a front end's noise must not keep a conversation open. Fillers ("um", "uh
  // huh") are words and go through: in a conversation they can be the answer.
  if (utterance.tokens.length === 0) return EMPTY_TEXT;
  const match = rules.triggers.find(utterance, rules.names === true ? WITH_NAMES : undefined);
  // A cancel is what the utterance ends on, after the wake phrase if any (cancel-phrases.ts):
  // "Hey Astraea, never mind" cancels, "Hey Astraea, cancel my meeting" goes to Astraea.
  const cancel = rules.cancel.find(utterance, match);
  if (cancel) return cancel.kind === 'cancel' ? CANCEL : CANCEL_TRAILING;
  if (match) {
    const text = rules.stripTrigger
      ? withoutSpan(utterance.text, match.start, match.end)
      : utterance.text;
    return {
      mode:
        sessionTarget !== null && sessionTarget !== match.target
          ? 'session_switch'
          : 'session_open',
      target: match.target,
      reason: `${match.kind === 'name' ? 'trigger_name' : 'trigger_phrase'}:${match.phrase}`,
      match,
      forward: { text, mode: 'triggered' },
    };
  }
  if (sessionTarget !== null) {
    return {
      mode: 'session_continue',
      target: sessionTarget,
      reason: 'session_active',
      match: null,
      forward: { text: utterance.text, mode: 'open_listen' },
    };
  }
  return {
    mode: 'idle',
    target: null,
    reason: 'no_trigger_no_session',
    match: null,
    forward: null,
  };
}

/**
 * The decision in the active listen mode: what no wake phrase and no cancel claimed goes to
 * `target`, the assistant that asked to hear it. A conversation already with it continues; any
 * other source's state is left as it is (no session opens: the mode is for one answer).
 */
export function decideActive(decision: Decision, utterance: Utterance, target: string): Decision {
  const unclaimed =
    decision.reason === 'no_trigger_no_session' ||
    (decision.mode === 'session_continue' && decision.target !== target);
  if (!unclaimed) return decision;
  return {
    mode: 'dispatch_once',
    target,
    reason: 'listen_mode_active',
    match: null,
    forward: { text: utterance.text, mode: 'open_listen' },
  };
}

/**
 * The decision with a default target (ECHONET_DEFAULT_TARGET, or a Wyoming binding's): what would
 * have been idle for want of a wake phrase and a conversation opens one with `target` instead, as
 * if its wake phrase had been said. Applied after the listen mode: an assistant that asked to hear
 * the next utterance (active) comes first. The caller checks that `target` is registered.
 */
export function decideDefault(decision: Decision, utterance: Utterance, target: string): Decision {
  if (decision.reason !== 'no_trigger_no_session') return decision;
  return {
    mode: 'session_open',
    target,
    reason: 'default_target',
    match: null,
    forward: { text: utterance.text, mode: 'triggered' },
  };
}

/** The decision in the inactive listen mode (mute): nothing is matched, nothing routed. */
export const MUTED: Decision = Object.freeze({
  mode: 'idle',
  target: null,
  reason: 'listen_mode_inactive',
  match: null,
  forward: null,
});

/** Only a cancel phrase was said (with a wake phrase or fillers): the conversation ends. */
const CANCEL: Decision = Object.freeze({
  mode: 'session_end',
  target: null,
  reason: 'cancel',
  match: null,
  forward: null,
});

/** Something was said, then called off ("… never mind"): nothing is forwarded, the conversation ends. */
const CANCEL_TRAILING: Decision = Object.freeze({ ...CANCEL, reason: 'cancel_trailing' });

const EMPTY_TEXT: Decision = Object.freeze({
  mode: 'idle',
  target: null,
  reason: 'empty_text',
  match: null,
  forward: null,
});

// Dashes written as escapes (– —): one character above U+00FF anywhere in the bundle makes V8
// hold its whole source as UTF-16, 4 MB more resident memory (bench/NOTES.md).
const SEAM_BEFORE = /[\s,;:.!?¡¿\-\u2013\u2014]+$/u;
const SEAM_AFTER = /^[\s,;:.!?¡¿\-\u2013\u2014]+/u;
const HAS_WORD = /[\p{L}\p{N}]/u;

/**
 * The text without the wake phrase, keeping the rest's own casing and punctuation:
 * "Hey, Astraea! Who's at the door?" → "Who's at the door?". If no words remain, the original.
 */
export function withoutSpan(text: string, start: number, end: number): string {
  const before = text.slice(0, start).replace(SEAM_BEFORE, '');
  const after = text.slice(end).replace(SEAM_AFTER, '');
  const rest = before !== '' && after !== '' ? `${before} ${after}` : before || after;
  return HAS_WORD.test(rest) ? rest.trim() : text;
}
