/**
 * What a target may say back when it takes an utterance: its `/listen` answers 2xx with JSON
 * `{"reply": "…", "end_session": true|false}`, both optional, any other field ignored. Old targets
 * answer `{"ok":true}` (or nothing): that is simply no reply. Nothing a target answers makes a
 * delivered forward fail; an answer that is not JSON, not an object, or whose fields have the
 * wrong type, is read as "no reply, keep the conversation".
 */

export interface TargetAnswer {
  /** Plain text to hand back to the speaker, at most MAX_REPLY_CHARS characters; null for none. */
  readonly reply: string | null;
  /** True when the target's reply was longer and was cut (the decision log notes it). */
  readonly truncated: boolean;
  /** The target asked to end the conversation once this utterance is delivered. */
  readonly endSession: boolean;
}

/** Longest reply handed back, in characters (Unicode code points): a spoken answer, not a page. */
export const MAX_REPLY_CHARS = 2000;

/** Where a reply may be cut: any Unicode white space. */
const SPACE = /\s/u;

export const NO_ANSWER: TargetAnswer = Object.freeze({
  reply: null,
  truncated: false,
  endSession: false,
});

/** Reads a 2xx body (already bounded by the forwarder's MAX_RESPONSE_BYTES). */
export function readTargetAnswer(body: string): TargetAnswer {
  if (body === '') return NO_ANSWER;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return NO_ANSWER;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return NO_ANSWER;
  const { reply, end_session: endSession } = parsed as Record<string, unknown>;
  const capped = typeof reply === 'string' ? capReply(reply) : null;
  if (capped === null && endSession !== true) return NO_ANSWER;
  return {
    reply: capped?.text ?? null,
    truncated: capped?.truncated ?? false,
    endSession: endSession === true,
  };
}

/**
 * `text` cut to at most `max` characters at a word boundary: the last whitespace at or before the
 * limit (a word longer than the whole limit is cut inside it), trailing whitespace dropped.
 * Characters are code points, so a cut never splits a surrogate pair.
 */
export function capReply(
  text: string,
  max = MAX_REPLY_CHARS,
): { readonly text: string; readonly truncated: boolean } {
  // UTF-16 length ≥ code points: a string this short cannot be over the limit.
  if (text.length <= max) return { text, truncated: false };
  // The UTF-16 index just past the first `max` code points (a pair of surrogates is one).
  let end = 0;
  for (let n = 0; n < max && end < text.length; n++) {
    end += isPair(text, end) ? 2 : 1;
  }
  if (end >= text.length) return { text, truncated: false };
  // The character just past the limit being a space means the limit falls between two words;
  // else the cut goes back to the last space (white space is never a surrogate).
  let cut = end;
  if (!SPACE.test(text.charAt(end))) {
    let space = end - 1;
    while (space > 0 && !SPACE.test(text.charAt(space))) space--;
    if (space > 0) cut = space;
  }
  const kept = text.slice(0, cut).trimEnd();
  // Only spaces before the first word: that word is longer than the limit, so it is cut inside.
  return { text: kept === '' ? text.slice(0, end) : kept, truncated: true };
}

/** True when the code units at `i` and `i + 1` are a surrogate pair (one character). */
function isPair(text: string, i: number): boolean {
  const high = text.charCodeAt(i);
  const low = text.charCodeAt(i + 1);
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
}
