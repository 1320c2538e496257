/**
 * Synthetic registries of 1, 1 000 and 100 000 phrases, written straight into the SQLite file
 * with the store API before Echonet starts (100 000 phrases through POST /register would measure
 * registration, not routing). Every registry holds the wake target with WAKE_PHRASE; the other
 * phrases point at the stub.
 *
 * Two shapes:
 * - `invented`: every phrase holds one invented name of its own ("hey bakomi", "lutiro assistant"),
 *   so 100 000 phrases bring ~100 000 different words.
 * - `written`: phrases as people write them, built from short lists of greetings, given names,
 *   places and roles ("hey catherine", "ok kitchen helper"): two- and three-word phrases over a
 *   vocabulary of a few hundred words, each word shared by hundreds or thousands of phrases.
 * Neither shape holds two phrases that normalise alike (test/bench/registry.test.ts).
 */
import { openStore } from '../../src/store/store.js';
import type { Target } from '../../src/store/targets.js';
import { syntheticName, WAKE_PHRASE, WAKE_TARGET } from './workload.js';

export type RegistryShape = 'invented' | 'written';
export const SHAPES: readonly RegistryShape[] = ['invented', 'written'];

/** Most phrases one target may hold (src/registration.ts MAX_PHRASES). */
const PER_TARGET = 32;
const FORMS = ['hey N', 'ok N', 'N', 'hello N', 'N assistant', 'hi N please'];

function inventedPhrase(j: number): string {
  // Offset past the register workload's names, so the two never overlap.
  return FORMS[j % FORMS.length]!.replace('N', syntheticName(j + 1_000, 3));
}

/**
 * One-word greetings, 32 of them, one per phrase of a target. None normalises to another
 * (src/matching/spoken-forms.ts folds "okay" into "ok" and "hallo" into "hello", so those are
 * left out) and none is a cancel phrase.
 */
const GREETINGS = (
  'hey hi hello ok yo hiya howdy heya oi ahoy greetings listen attention morning evening ' +
  'afternoon hola bonjour ciao salut aloha namaste psst alright hej servus moin shalom ' +
  'cheers welcome dear excuse'
).split(' ');

/**
 * Given names for assistants (two-word phrases: "hey catherine"). None sounds like "astraea"
 * (astrid, esther, stella… are left out), so the wake workload routes the same on this shape.
 */
const GIVEN = (
  'catherine stephen margaret oliver henry beatrice arthur eleanor theodore florence ' +
  'harriet julian lucinda maximilian penelope rupert sebastian tabitha ursula vincent ' +
  'winifred xavier yolanda zachary abigail benedict cordelia desmond ephraim felicity ' +
  'gideon hermione ignatius josephine kenneth lavinia mortimer nathaniel ophelia percival ' +
  'quentin rosalind solomon theresa valentine wilhelmina barnaby clementine dorothy ' +
  'edmund frederick georgina horatio isadora jemima leopold matilda norbert octavia ' +
  'phoebe reginald seraphina timothy wendell agatha bartholomew cornelius delphine ' +
  'evangeline fitzgerald gwendolyn humphrey imogen jasper kingsley lorelei montgomery ' +
  'nicodemus oswald prudence roderick sylvester tobias augustus bernadette cyril ' +
  'drusilla eugene franklin gertrude hamish ingrid jeremiah katarina lysander mirabel ' +
  'neville odette philippa raphael sabrina thaddeus ulysses violet wallace benjamin ' +
  'charlotte dominic elizabeth gabriel isabella jonathan marcus natalie patrick ' +
  'rebecca samuel victoria william adeline cecilia douglas harold lillian malcolm'
).split(' ');

/** Places and roles (three-word phrases: "ok kitchen helper"); 50 × 60 = 3 000 names. */
const PLACES = (
  'kitchen garden garage hallway attic cellar pantry porch balcony bedroom nursery ' +
  'library office studio workshop greenhouse laundry basement conservatory driveway ' +
  'terrace veranda loft annex cottage cabin barn stable orchard vineyard lounge parlour ' +
  'playroom gym sauna boathouse shed pavilion courtyard patio carport doorway landing ' +
  'staircase closet wardrobe larder scullery gallery chapel'
).split(' ');
const ROLES = (
  'helper butler steward keeper warden porter guardian sentry minder tender buddy pal ' +
  'friend companion concierge valet maid nanny chef cook gardener janitor caretaker ' +
  'custodian clerk scribe herald messenger courier runner scout ranger pilot captain ' +
  'skipper mate bosun navigator lookout watchman guard marshal sheriff deputy bard ' +
  'mentor tutor coach trainer advisor counsel oracle sage wizard genie robot android ' +
  'droid automaton jester'
).split(' ');

/** The names of the `written` shape, in order: given names first, then place–role pairs. */
function writtenNames(): string[] {
  const pairs = PLACES.flatMap((p) => ROLES.map((r) => `${p} ${r}`));
  return [...GIVEN, ...pairs];
}

function writtenPhrases(count: number): string[] {
  const names = writtenNames();
  const out: string[] = [];
  for (const name of names) {
    for (const greeting of GREETINGS) {
      if (out.length === count) return out;
      out.push(`${greeting} ${name}`);
    }
  }
  if (out.length < count) throw new Error(`the written shape holds at most ${out.length} phrases`);
  return out;
}

/**
 * `phrases` phrases in total. Up to 1 000 phrases, one target per phrase (the original service was
 * measured with 1 000 targets); beyond that, 32 phrases per target (3 125 targets at 100 000).
 */
export function syntheticRegistry(
  phrases: number,
  baseUrl: string,
  shape: RegistryShape = 'invented',
): Target[] {
  const perTarget = phrases <= 1_000 ? 1 : PER_TARGET;
  const pool =
    shape === 'written'
      ? writtenPhrases(phrases - 1)
      : Array.from({ length: phrases - 1 }, (_, j) => inventedPhrase(j));
  const targets: Target[] = [];
  let j = 0;
  const take = (n: number) => pool.slice(j, (j += n));
  targets.push({ name: WAKE_TARGET, baseUrl, phrases: [WAKE_PHRASE, ...take(perTarget - 1)] });
  for (let left = phrases - perTarget, t = 0; left > 0; t++) {
    const n = Math.min(perTarget, left);
    targets.push({ name: `t-${t}`, baseUrl, phrases: take(n) });
    left -= n;
  }
  return targets;
}

export function seedRegistry(dbPath: string, targets: readonly Target[]): void {
  const store = openStore(dbPath);
  try {
    store.targets.replaceAll(targets, { merge: false });
  } finally {
    store.close();
  }
}
