/**
 * What the load generator sends: request bodies for each workload, shared by the load child
 * (bench/load.ts) and the orchestrator, which primes sessions and checks every distinct body once
 * before a run so a misrouted workload fails loudly instead of measuring the wrong thing.
 */

export type Workload = 'wake' | 'follow' | 'register';

/** Distinct speakers per workload: sessions are per source, so this bounds the session table. */
export const SOURCES = 256;
/** Distinct target names the register workload cycles through (each re-registered in turn). */
export const REGISTER_NAMES = 64;

/** The target every /text workload routes to; registered with WAKE_PHRASE in every registry. */
export const WAKE_TARGET = 'astraea';
export const WAKE_PHRASE = 'hey astraea';

const WAKE_TEXTS = [
  "hey astraea what's the weather like tomorrow",
  "Hey Astraea, who's at the front door?",
  'hey astraea turn on the hallway lights please',
  'hey astraea remind me to water the plants at six',
];

/** Follow-ups in an open session: no wake phrase, no cancel phrase. */
const FOLLOW_TEXTS = [
  'and what about the weekend',
  'make it a little warmer in the living room',
  'read me the last message again please',
  'how long until the parcel arrives',
];

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
        room: 'hall',
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

/** How many bodies differ before the sequence repeats (the orchestrator checks each one). */
export function distinctBodies(workload: Workload): number {
  return workload === 'register' ? REGISTER_NAMES : SOURCES;
}

export function pathOf(workload: Workload): string {
  return workload === 'register' ? '/register' : '/text';
}

/** A session-opening utterance for a follow-up source, sent before the follow workload runs. */
export function primeBody(i: number): string {
  return JSON.stringify({ source_id: sourceId('follow', i), text: WAKE_TEXTS[0] });
}
