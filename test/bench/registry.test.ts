/**
 * The bench's synthetic registries (bench/lib/registry.ts): 100 000 phrases in two shapes, one
 * invented name per phrase and phrases as people write them, neither with two phrases that
 * normalise alike, every target one the API would accept.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PHRASES, NAME_PATTERN } from '../../src/registration.js';
import { normalizePhrase } from '../../src/matching/normalize.js';
import { syntheticRegistry } from '../../bench/lib/registry.js';
import { WAKE_PHRASE, WAKE_TARGET } from '../../bench/lib/workload.js';
import { phraseClashes } from '../helpers/phrase-clashes.js';

const words = (p: string) => p.split(' ').length;

describe('bench registries', () => {
  for (const shape of ['invented', 'written'] as const) {
    it(`${shape}: 100 000 phrases on 3 125 targets of 32, none normalising alike`, () => {
      const targets = syntheticRegistry(100_000, 'http://127.0.0.1:9', shape);
      expect(targets.length).toBe(3_125);
      expect(targets.every((t) => t.phrases.length === MAX_PHRASES)).toBe(true);
      expect(targets.every((t) => NAME_PATTERN.test(t.name))).toBe(true);
      expect(targets[0]).toMatchObject({ name: WAKE_TARGET });
      expect(targets[0]!.phrases[0]).toBe(WAKE_PHRASE);
      const all = targets.flatMap((t) => t.phrases);
      expect(new Set(all.map(normalizePhrase)).size).toBe(100_000);
      expect(phraseClashes(targets)).toEqual([]);
    });
  }

  it('written: two- and three-word phrases over a small vocabulary, as people write them', () => {
    const all = syntheticRegistry(100_000, 'http://127.0.0.1:9', 'written').flatMap(
      (t) => t.phrases,
    );
    expect(all.every((p) => words(p) === 2 || words(p) === 3)).toBe(true);
    expect(all.filter((p) => words(p) === 2).length).toBeGreaterThanOrEqual(4_000);
    expect(all).toContain('hey catherine');
    expect(all).toContain('ok kitchen helper');
    const vocabulary = new Set(all.flatMap((p) => p.split(' ')));
    expect(vocabulary.size).toBeLessThan(400);
  });

  it('up to 1 000 phrases: one target per phrase, in both shapes', () => {
    for (const shape of ['invented', 'written'] as const) {
      const targets = syntheticRegistry(1_000, 'http://127.0.0.1:9', shape);
      expect(targets.length).toBe(1_000);
      expect(targets.every((t) => t.phrases.length === 1)).toBe(true);
    }
  });
});
