/**
 * The bench's workloads (bench/lib/workload.ts): a few hundred different utterances, misheard ones
 * included, each routed as the bench expects by the real matcher; only forwarded answers succeed.
 */
import { describe, expect, it } from 'vitest';
import { compileMatcher, DEFAULT_MATCH_OPTIONS } from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import { syntheticRegistry } from '../../bench/lib/registry.js';
import {
  body,
  distinctBodies,
  FOLLOW_TEXTS,
  succeeded,
  WAKE_PHRASE,
  WAKE_TARGET,
  WAKE_TEXTS,
} from '../../bench/lib/workload.js';

describe('bench workloads', () => {
  it('hold a few hundred different utterances, not a handful', () => {
    expect(new Set(WAKE_TEXTS).size).toBeGreaterThanOrEqual(300);
    expect(new Set(FOLLOW_TEXTS).size).toBeGreaterThanOrEqual(300);
  });

  it('include misheard and split wake phrases, and fillers before them', () => {
    const exact = (t: string) => /\bastraea\b/i.test(t);
    expect(WAKE_TEXTS.filter((t) => !exact(t)).length).toBeGreaterThanOrEqual(100);
    expect(WAKE_TEXTS.some((t) => /^(um|so|uh)\b/.test(t))).toBe(true);
  });

  it('repeat after distinctBodies() bodies, every one of which the pre-flight check sends', () => {
    for (const workload of ['wake', 'follow'] as const) {
      const n = distinctBodies(workload);
      const spec = { workload, stubUrl: 'http://127.0.0.1:9' };
      const seen = new Set(Array.from({ length: 2 * n }, (_, i) => body(spec, i)));
      expect(seen.size).toBe(n);
      expect(body(spec, n)).toBe(body(spec, 0));
    }
  });

  it('wake every time and only the wake target; follow-ups match no phrase (1 000 phrases)', () => {
    for (const shape of ['invented', 'written'] as const) {
      const registry = syntheticRegistry(1_000, 'http://127.0.0.1:9', shape);
      const matcher = compileMatcher(
        registry.flatMap((t) => t.phrases.map((phrase) => ({ phrase, target: t.name }))),
        DEFAULT_MATCH_OPTIONS,
      );
      const misrouted = WAKE_TEXTS.filter(
        (t) => matcher.find(prepareUtterance(t))?.target !== WAKE_TARGET,
      );
      expect(misrouted).toEqual([]);
      const woke = FOLLOW_TEXTS.filter((t) => matcher.find(prepareUtterance(t)) !== null);
      expect(woke).toEqual([]);
    }
  });

  it('count an answer as a success only when it was forwarded (or registered)', () => {
    expect(succeeded('wake', 200, '{"handled":true,"forwarded":true}')).toBe(true);
    expect(succeeded('wake', 200, '{"forwarded":false,"reason":"target_busy"}')).toBe(false);
    expect(succeeded('follow', 503, '{"forwarded":true}')).toBe(false);
    expect(succeeded('register', 200, '{"ok":true,"registered":"x"}')).toBe(true);
    expect(succeeded('register', 200, '{"ok":false}')).toBe(false);
    expect(WAKE_PHRASE).toBe('hey astraea');
  });
});
