/**
 * Phrases two targets would share, by the registry's own comparison (src/store/phrase-rules.ts):
 * for checking generated registries without a database.
 */
import { phraseRules } from '../../src/store/phrase-rules.js';

interface Named {
  readonly name: string;
  readonly phrases: readonly string[];
}

/** Each clash as "<target>: <phrase> (also <owner>)"; empty when every phrase has one owner. */
export function phraseClashes(targets: readonly Named[]): string[] {
  const { key } = phraseRules();
  const owners = new Map<string, string>();
  const clashes: string[] = [];
  for (const t of targets) {
    for (const phrase of t.phrases) {
      const k = key(phrase);
      const owner = owners.get(k);
      if (owner !== undefined && owner !== t.name)
        clashes.push(`${t.name}: ${phrase} (also ${owner})`);
      else owners.set(k, t.name);
    }
  }
  return clashes;
}
