/**
 * What the load generator sends: request bodies for each workload, shared by the load child
 * (bench/load.ts) and the orchestrator, which primes sessions and checks every distinct body once
 * before a run so a misrouted workload fails loudly instead of measuring the wrong thing.
 *
 * Each /text workload cycles through 512 different utterances (many words, misheard names, fillers,
 * names split in two), so a larger registry is measured on lookups of many different words, not on
 * one sentence whose every lookup sits in the CPU's caches.
 */

export type Workload = 'wake' | 'follow' | 'register';

/** Distinct speakers per workload: sessions are per source, so this bounds the session table. */
export const SOURCES = 256;
/** Distinct target names the register workload cycles through (each re-registered in turn). */
export const REGISTER_NAMES = 64;

/** The target every /text workload routes to; registered with WAKE_PHRASE in every registry. */
export const WAKE_TARGET = 'astraea';
export const WAKE_PHRASE = 'hey astraea';

/**
 * Ways "hey astraea" reaches Echonet from a speech recogniser: as written, in other cases and
 * punctuation, misheard (test/fixtures/utterances.jsonl's patterns) and split in two.
 */
export const WAKE_CALLS = [
  'hey astraea',
  'Hey, Astraea!',
  'HEY ASTRAEA',
  'Hey... Astraea,',
  'hey astrea',
  'hey astria',
  'hey astraia',
  'hey estraea',
  'hey astraya',
  'hey astrae',
  'hey austraea',
  'hey astraeia',
  'hey astraeah',
  'hey astr aea',
  'hey astra ea',
  'hey as traea',
] as const;

/** What a speaker says before the wake phrase (nothing, or a filler). */
const LEADS = ['', '', '', 'um ', 'so ', 'uh, ', 'right, ', 'okay so '];

/** What follows a wake phrase, and (with an opener) what a follow-up says. */
const REQUESTS = [
  "what's the weather like tomorrow",
  "who's at the front door",
  'turn on the hallway lights please',
  'remind me to water the plants at six',
  'is the garage door still open',
  'play some quiet jazz in the study',
  'how long until the parcel arrives',
  'set a timer for twelve minutes',
  'what time does the pharmacy close',
  'add oat milk and lemons to the shopping list',
  'lower the blinds in the bedroom',
  'did anyone ring the bell this afternoon',
  'read me the last message again',
  'make it a little warmer in the living room',
  'when is the next train to the city',
  'switch off the fan upstairs',
  'what is on my calendar for friday',
  'lock the back gate',
  'how much rain fell overnight',
  'start the robot vacuum in the kitchen',
  'call grandma on the speaker',
  'tell me a short story about a lighthouse',
  'what was that noise outside',
  'dim the porch light to half',
  'is the dishwasher finished yet',
  'put the kettle on in ten minutes',
  'how many steps did I walk today',
  'show the driveway camera on the television',
  'translate good evening into portuguese',
  'which bin goes out this week',
  'wake me at half past seven tomorrow',
  'spell the word necessary',
] as const;

/** How a follow-up in an open session starts (no wake phrase, no cancel phrase). */
const OPENERS = [
  '',
  'and ',
  'also ',
  'oh and ',
  'then ',
  'actually ',
  'now ',
  'and then ',
  'wait, ',
  'alright, ',
  'next, ',
  'one more thing, ',
  'after that ',
  'also could you ',
  'if you can ',
  'quickly, ',
] as const;

/** Every wake call with every request: 512 utterances, each with a filler or not. */
export const WAKE_TEXTS: readonly string[] = WAKE_CALLS.flatMap((call, c) =>
  REQUESTS.map((req, r) => `${LEADS[(c + r) % LEADS.length]}${call} ${req}`),
);

/** Follow-ups in an open session: 512 utterances, no wake phrase, no cancel phrase. */
export const FOLLOW_TEXTS: readonly string[] = OPENERS.flatMap((opener) =>
  REQUESTS.map((req) => `${opener}${req}`),
);

export interface BodySpec {
  readonly workload: Workload;
  /** Base URL the register workload registers its targets at (the stub). */
  readonly stubUrl: string;
}

/** Syllables for synthetic names: index → name is a bijection, so names never collide. */
const SYLLABLES = 'ba ko mi tu re sa no vi la de pu ge zo fi ka lu me ti ro na'.split(' ');

export function syntheticName(index: number, minSyllables = 3): string {
  let s = '';
  let n = index;
  let count = 0;
  do {
    s += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
    count++;
  } while (n > 0 || count < minSyllables);
  return s;
}

export function sourceId(workload: Workload, i: number): string {
  return `${workload === 'follow' ? 'chat' : 'door'}-${i % SOURCES}`;
}

/** The i-th request body of a workload, as a JSON string. */
export function body(spec: BodySpec, i: number): string {
  switch (spec.workload) {
    case 'wake':
      return JSON.stringify({
        source_id: sourceId('wake', i),
        // Each speaker at a door of its own: 256 microphones in one room waking the same target
        // within a few milliseconds would be, rightly, one wake (duplicate-wake arbitration).
        room: `porch-${i % SOURCES}`,
        text: WAKE_TEXTS[i % WAKE_TEXTS.length],
        confidence: 0.93,
      });
    case 'follow':
      return JSON.stringify({
        source_id: sourceId('follow', i),
        room: 'kitchen',
        text: FOLLOW_TEXTS[i % FOLLOW_TEXTS.length],
        confidence: 0.88,
      });
    case 'register': {
      const n = i % REGISTER_NAMES;
      return JSON.stringify({
        name: `bench-reg-${n}`,
        base_url: spec.stubUrl,
        phrases: [`okay ${syntheticName(n)} bench`, `hello ${syntheticName(n)} bench`],
      });
    }
  }
}

/**
 * How many bodies differ before the sequence repeats (the orchestrator checks each one): sources
 * and texts cycle together, so this is their least common multiple.
 */
export function distinctBodies(workload: Workload): number {
  if (workload === 'register') return REGISTER_NAMES;
  const texts = workload === 'wake' ? WAKE_TEXTS.length : FOLLOW_TEXTS.length;
  return lcm(SOURCES, texts);
}

function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}

export function pathOf(workload: Workload): string {
  return workload === 'register' ? '/register' : '/text';
}

/** A session-opening utterance for a follow-up source, sent before the follow workload runs. */
export function primeBody(i: number): string {
  return JSON.stringify({ source_id: sourceId('follow', i), text: WAKE_PHRASE });
}

/**
 * Whether an answer counts as a success: for /text, only an utterance that was really forwarded
 * (`forwarded: true`; `target_busy` or a failed forward is a failure); for /register, `ok: true`.
 * Both Echonet and the ceiling answer compact JSON, so a substring test is exact and cheap enough
 * for the load generator's hot loop.
 */
export function succeeded(workload: Workload, status: number, responseBody: string): boolean {
  if (status < 200 || status >= 300) return false;
  return responseBody.includes(workload === 'register' ? '"ok":true' : '"forwarded":true');
}
