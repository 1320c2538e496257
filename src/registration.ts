/**
 * The rules a target must follow, shared by POST /register and `echonet restore`: what a valid
 * name, URL and phrase list are. That no two targets own the same phrase is the store's to
 * enforce (src/store/phrase-index.ts), under the same write lock as the write itself.
 */
import { hostMatcher, ruleText, type AddressRule } from './address-list.js';
import { ValidationError } from './errors.js';
import { compileCancelPhrases, type CancelPhrases } from './matching/cancel-phrases.js';
import { normalizePhrase } from './matching/normalize.js';
import { listenUrlFor } from './routing/routing-table.js';
import { NAME_PATTERN } from './target-name.js';
import type { Target } from './store/targets.js';

export { NAME_PATTERN };
export const MAX_PHRASES = 32;
export const MAX_PHRASE_LENGTH = 100;

export interface RegistrationInput {
  readonly name: string;
  readonly base_url: string;
  readonly phrases: readonly string[];
}

/** What a deployment allows beyond the fixed rules; the empty policy allows any host. */
export interface RegistrationPolicy {
  /** True when a base_url may name this host (from ECHONET_TARGET_HOSTS). */
  readonly hostAllowed?: (host: string) => boolean;
  /** The allowed hosts as configured, for the error message. */
  readonly allowedHosts?: string;
  /**
   * The cancel phrases (ECHONET_CANCEL_PHRASES). An utterance that ends on one cancels, so a wake
   * phrase that is one (give or take fillers: "please stop") would always cancel instead of waking
   * its target, and one that ends with one ("computer, stop") would whenever the recogniser writes
   * a pause before it. One that holds a cancel phrase elsewhere ("stop watch") routes as usual.
   */
  readonly cancelPhrases?: CancelPhrases;
}

/**
 * The policy for ECHONET_TARGET_HOSTS and ECHONET_CANCEL_PHRASES, built once: a host check is then
 * a set or BlockList lookup, a cancel check a few map lookups at the phrase's end.
 */
export function registrationPolicy(
  targetHosts: readonly AddressRule[] | undefined,
  cancelPhrases: readonly string[] = [],
): RegistrationPolicy {
  const cancel = compileCancelPhrases(cancelPhrases);
  return {
    ...(targetHosts && {
      hostAllowed: hostMatcher(targetHosts),
      allowedHosts: targetHosts.map(ruleText).join(', '),
    }),
    ...(cancel.size > 0 && { cancelPhrases: cancel }),
  };
}

/** Returns the target as it will be stored, or throws ValidationError naming the field. */
export function validateRegistration(
  input: RegistrationInput,
  field = 'body',
  policy: RegistrationPolicy = {},
): Target {
  const name = input.name.trim().toLowerCase();
  if (!NAME_PATTERN.test(name)) {
    throw new ValidationError(
      `${field}.name must be 1-32 characters of a-z, 0-9, '_' or '-' (got ${JSON.stringify(input.name)})`,
    );
  }
  const baseUrl = validateBaseUrl(input.base_url, `${field}.base_url`, policy);
  if (input.phrases.length === 0) {
    throw new ValidationError(
      `${field}.phrases must hold at least one phrase: a target without one can never be woken`,
    );
  }
  if (input.phrases.length > MAX_PHRASES) {
    throw new ValidationError(`${field}.phrases may hold at most ${MAX_PHRASES} phrases`);
  }
  const phrases: string[] = [];
  const seen = new Set<string>();
  input.phrases.forEach((raw, i) => {
    const phrase = raw.trim().replace(/\s+/g, ' ');
    if (phrase === '' || phrase.length > MAX_PHRASE_LENGTH) {
      throw new ValidationError(
        `${field}.phrases[${i}] must be 1-${MAX_PHRASE_LENGTH} characters and not blank`,
      );
    }
    const norm = normalizePhrase(phrase);
    if (norm === '') {
      throw new ValidationError(
        `${field}.phrases[${i}] (${JSON.stringify(raw)}) has no words Echonet can match`,
      );
    }
    const cancel = policy.cancelPhrases?.endingOf(phrase);
    if (cancel) {
      throw new ValidationError(
        `${field}.phrases[${i}] (${JSON.stringify(raw)}) ${cancel.alone ? 'is' : 'ends with'} the cancel phrase ${JSON.stringify(cancel.phrase)} (ECHONET_CANCEL_PHRASES): ${cancel.alone ? 'said on its own' : 'said with a pause before it'}, it would end the conversation, never wake this target`,
      );
    }
    if (!seen.has(norm)) {
      seen.add(norm);
      phrases.push(phrase);
    }
  });
  return { name, baseUrl, phrases };
}

function validateBaseUrl(raw: string, field: string, policy: RegistrationPolicy): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError(
      `${field} must be an absolute http(s) URL (got ${JSON.stringify(raw)})`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError(`${field} must use http or https (got ${url.protocol.slice(0, -1)})`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ValidationError(`${field} must not contain credentials`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ValidationError(`${field} must not contain a query or fragment`);
  }
  assertHostAllowed(url, field, policy);
  return raw.trim();
}

function assertHostAllowed(url: URL, field: string, policy: RegistrationPolicy): void {
  if (policy.hostAllowed && !policy.hostAllowed(url.hostname)) {
    throw new ValidationError(
      `${field} host ${JSON.stringify(url.hostname)} is not allowed: targets may only be on ${policy.allowedHosts ?? 'the allowed hosts'} (ECHONET_TARGET_HOSTS)`,
    );
  }
}

/** The JSON shape of a target in API responses and backups. */
export function targetView(t: Target): {
  name: string;
  base_url: string;
  listen_url: string;
  phrases: string[];
} {
  return {
    name: t.name,
    base_url: t.baseUrl,
    listen_url: listenUrlFor(t.baseUrl),
    phrases: [...t.phrases],
  };
}
