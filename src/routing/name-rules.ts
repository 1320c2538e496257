/**
 * Where a target's name counts as its wake phrase (ECHONET_MATCH_NAMES). Names suit front ends
 * that only pass on what was said after a wake word (Home Assistant runs speech recognition once
 * its own wake word fired, so the transcript is meant for some assistant); on an always-listening
 * microphone a name said in passing ("Peter is at the door") must not wake anyone.
 */
import type { FrontEnd } from './text-handler.js';

export const MATCH_NAMES = ['wyoming', 'all', 'off'] as const;
/** `wyoming`: names wake targets for utterances from Wyoming only; `all`: from every front end. */
export type MatchNames = (typeof MATCH_NAMES)[number];

export const DEFAULT_MATCH_NAMES: MatchNames = 'wyoming';

export function parseMatchNames(raw: string): MatchNames | undefined {
  const value = raw.trim().toLowerCase();
  return MATCH_NAMES.find((m) => m === value);
}

/** Whether names wake targets for an utterance from `frontEnd` under `setting`. */
export function namesWake(setting: MatchNames, frontEnd: FrontEnd): boolean {
  return setting === 'all' || (setting === 'wyoming' && frontEnd === 'wyoming');
}
