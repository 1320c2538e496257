/**
 * How the registry compares phrases: two phrases conflict when their keys are equal. The key is
 * the matcher's own normalisation, so a phrase the registry lets through never routes to two
 * targets. (This is the store's one import from src/routing/: normalize.ts is a pure leaf module;
 * moving it below both layers is left until the matching work on it has landed.)
 */
import { createHash } from 'node:crypto';
import { normalizePhrase } from '../matching/normalize.js';
import { VERSION } from '../version.js';

export interface PhraseRules {
  /** The form two phrases that route alike share ('' when a phrase has no matchable words). */
  readonly key: (phrase: string) => string;
  /**
   * Changes when `key` does, when what the index holds does (targets' names joined their phrases),
   * and with every Echonet release. The derived phrase table records
   * the fingerprint it was built with and is rebuilt on open when the code's differs, so an
   * upgrade never keeps keys made by older rules (one to two seconds at 100 000 phrases, once).
   */
  readonly fingerprint: string;
}

/**
 * Inputs that exercise each normalisation rule (case, accents, compatibility forms, dotted
 * abbreviations, apostrophes, punctuation, spoken-form variants), for rule changes between
 * releases (development builds share a version). A change these miss leaves stale keys until the
 * targets concerned are written again; a stale owner is still never reported, because conflicts
 * are checked against the real `targets` row. Add a probe when adding a rule.
 */
const PROBES = [
  'Hey Astraea',
  'Ça va, Zoë? Straße Øresund Łódź æsir',
  'ﬁne ｆｕｌｌ ＡＢＣ ①',
  'O.K. Kitchen, e.g. U.S.A.',
  "who's there? rock'n'roll don’t",
  'hey-there — “quoted” (brackets) a/b a_b',
  'okay okey hallo hullo & mister missus doctor',
  'zero one two three four five six seven eight nine ten eleven twelve twenty hundred',
  'nevermind never mind stop listening cancel',
  'Ελληνικά Русский हिन्दी 日本語',
];

/** What the derived index holds per target; change it when that changes, so old files rebuild. */
const INDEX_CONTENT = 'phrases and name';

export function phraseRules(key: (phrase: string) => string = normalizePhrase): PhraseRules {
  // What the index holds, beside the key: rows made before names were indexed lack them.
  const hash = createHash('sha256').update(`${VERSION}\n${INDEX_CONTENT}\n`);
  for (const probe of PROBES) hash.update(`${key(probe)}\n`);
  return { key, fingerprint: hash.digest('hex').slice(0, 16) };
}
