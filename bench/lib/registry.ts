/**
 * Synthetic registries of 1, 1 000 and 100 000 phrases, written straight into the SQLite file
 * with the store API before Echonet starts (100 000 phrases through POST /register would measure
 * registration, not routing). Every registry holds the wake target with WAKE_PHRASE; the other
 * phrases are unique synthetic names, all pointing at the stub.
 */
import { openStore } from '../../src/store/store.js';
import type { Target } from '../../src/store/targets.js';
import { syntheticName, WAKE_PHRASE, WAKE_TARGET } from './workload.js';

/** Most phrases one target may hold (src/registration.ts MAX_PHRASES). */
const PER_TARGET = 32;
const FORMS = ['hey N', 'ok N', 'N', 'hello N', 'N assistant', 'hi N please'];

function phrase(j: number): string {
  // Offset past the register workload's names, so the two never overlap.
  return FORMS[j % FORMS.length]!.replace('N', syntheticName(j + 1_000, 3));
}

/**
 * `phrases` phrases in total. Up to 1 000 phrases, one target per phrase (the original service was
 * measured with 1 000 targets); beyond that, 32 phrases per target.
 */
export function syntheticRegistry(phrases: number, baseUrl: string): Target[] {
  const perTarget = phrases <= 1_000 ? 1 : PER_TARGET;
  const targets: Target[] = [];
  let j = 0;
  const take = (n: number) => Array.from({ length: n }, () => phrase(j++));
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
