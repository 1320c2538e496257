/**
 * Properties of normalisation and matching over generated registries and transcripts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundedDamerau } from '../../src/matching/edit-distance.js';
import { editReach, soundAlikeFit } from '../../src/matching/match-rules.js';
import { compileMatcher, type PhraseOwner } from '../../src/matching/matcher.js';
import { normalizePhrase, prepareUtterance, tokenize } from '../../src/matching/normalize.js';
import { phoneticKeys } from '../../src/matching/phonetic.js';

// Characters that exercise every normalisation rule, mixed into arbitrary Unicode text.
const TRICKY = [
  'a',
  'A',
  'z',
  'é',
  'e\u0301',
  '\u0301',
  'ß',
  'ﬁ',
  'Ｈ',
  'İ',
  'ς',
  'ø',
  '½',
  '²',
  '𝐀',
  'ǅ',
  '.',
  "'",
  '’',
  '—',
  '-',
  ' ',
  '\t',
  '&',
  '1',
  '7',
  '"',
  '«',
  '…',
  '_',
  'न',
  'ि',
  '가',
];
const trickyText = fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 30 });
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), trickyText);

const SYLLABLES = [
  'as',
  'trae',
  'a',
  'no',
  'va',
  'pe',
  'ter',
  'ja',
  'ris',
  'mi',
  'ra',
  'bel',
  'lo',
  'den',
  'quin',
  'zor',
];
const name = fc
  .array(fc.constantFrom(...SYLLABLES), { minLength: 2, maxLength: 4 })
  .map((parts) => parts.join(''));
const phrase = fc
  .tuple(fc.constantFrom('hey', 'hello', 'ok', 'good morning', ''), name, fc.option(name))
  .map(([greeting, first, second]) => [greeting, first, second ?? ''].join(' ').trim());
const registry = fc
  .uniqueArray(phrase, { selector: normalizePhrase, minLength: 1, maxLength: 8 })
  .chain((phrases) =>
    fc.tuple(
      fc.constant(phrases),
      fc.array(fc.constantFrom('t1', 't2', 't3'), {
        minLength: phrases.length,
        maxLength: phrases.length,
      }),
    ),
  )
  .map(([phrases, targets]) =>
    phrases.map((p, i): PhraseOwner => ({ phrase: p, target: targets[i]! })),
  );

const FILLERS = [
  'so',
  'um',
  'the',
  'parcel',
  'is',
  'here',
  'door',
  'please',
  'thanks',
  'who',
  'rang',
  'twice',
  'open',
  'gate',
];
const SEPARATORS = [' ', ', ', '... ', ' — ', '! ', '-', ' "', '" ', '? ', '\t', ' (', ') ', ': '];

/** Random upper/lower case per letter. */
const recase = (s: string, flips: readonly boolean[]) =>
  Array.from(s, (c, i) => (flips[i % Math.max(1, flips.length)] ? c.toUpperCase() : c)).join('');

describe('normalisation properties', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const once = normalizePhrase(s);
        expect(normalizePhrase(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives in-bounds, ordered spans', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        let prevStart = 0;
        for (const t of tokenize(s)) {
          expect(t.start).toBeGreaterThanOrEqual(prevStart);
          expect(t.end).toBeGreaterThan(t.start);
          expect(t.end).toBeLessThanOrEqual(s.length);
          expect(t.norm).not.toBe('');
          prevStart = t.start;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('matching properties', () => {
  it('finds a registered phrase embedded with punctuation and casing among fillers', () => {
    fc.assert(
      fc.property(
        registry,
        fc.nat(),
        fc.array(fc.constantFrom(...FILLERS), { maxLength: 6 }),
        fc.array(fc.constantFrom(...FILLERS), { maxLength: 6 }),
        fc.array(fc.constantFrom(...SEPARATORS), { minLength: 1, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
        (owners, pick, before, after, seps, flips) => {
          const chosen = owners[pick % owners.length]!;
          let sepAt = 0;
          const sep = () => seps[sepAt++ % seps.length]!;
          const said = chosen.phrase
            .split(' ')
            .map((w, i) => (i === 0 ? '' : sep()) + recase(w, flips))
            .join('');
          const head = before.map((w) => w + sep()).join('');
          const text = head + said + after.map((w) => sep() + w).join('') + sep();
          const start = head.length;

          const found = compileMatcher(owners).find(prepareUtterance(text));
          expect(found, text).not.toBeNull();
          expect(found!.start).toBeLessThanOrEqual(start);
          expect(text.slice(found!.start, found!.end)).toBe(found!.matchedText);
          if (found!.start === start) {
            // The exact phrase is there, so nothing fuzzy may beat it at its own start.
            expect(found!.exact).toBe(true);
            expect(normalizePhrase(found!.matchedText).startsWith(normalizePhrase(said))).toBe(
              true,
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never matches text with no phrase token within fuzzy reach', () => {
    const word = fc.oneof(
      fc.stringMatching(/^[a-z]{1,10}$/),
      // A registry-like word pushed three edits away: close to the names, never within reach.
      fc.tuple(name, fc.nat(), fc.nat()).map(([n, a, b]) =>
        (n + 'xq')
          .split('')
          .reverse()
          .join('')
          .slice(a % 2, (a % 2) + 4 + (b % 6)),
      ),
    );
    fc.assert(
      fc.property(
        registry,
        fc.array(word, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(...SEPARATORS),
        (owners, words, sep) => {
          const text = words.join(sep);
          const tokens = prepareUtterance(text).tokens.map((t) => t.norm);
          const forms = [...tokens, ...tokens.slice(1).map((t, i) => tokens[i] + t)];
          const phraseTokens = owners.flatMap((o) => normalizePhrase(o.phrase).split(' '));
          const pairs = owners.flatMap((o) => {
            const ts = normalizePhrase(o.phrase).split(' ');
            return ts.slice(1).map((t, i) => ts[i] + t);
          });
          // Within spelling reach, or another spelling of the same sound (match-rules.ts).
          const withinReach = (p: string, t: string) => {
            const reach = editReach(p.length) + 1;
            if (boundedDamerau(p, t, reach) <= reach) return true;
            const keys = phoneticKeys(t);
            return phoneticKeys(p).some((k) => keys.includes(k)) && soundAlikeFit(p, t) !== null;
          };
          fc.pre(!forms.some((f) => [...phraseTokens, ...pairs].some((p) => withinReach(p, f))));
          expect(compileMatcher(owners).find(prepareUtterance(text))).toBeNull();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('decides the same whatever the registration order', () => {
    const mutate = (w: string, at: number, c: string) =>
      w.length < 5 ? w : w.slice(0, at % w.length) + c + w.slice((at % w.length) + 1);
    fc.assert(
      fc.property(
        registry.chain((owners) =>
          fc.tuple(
            fc.constant(owners),
            fc.shuffledSubarray(owners, {
              minLength: owners.length,
            }),
          ),
        ),
        fc.array(
          fc.tuple(
            fc.oneof(name, fc.constantFrom(...FILLERS, 'hey', 'ok')),
            fc.nat(),
            fc.constantFrom('a', 'e', 'x', ''),
          ),
          { maxLength: 8 },
        ),
        ([owners, shuffled], parts) => {
          const text = parts.map(([w, at, c]) => mutate(w, at, c)).join(' ');
          const u = prepareUtterance(text);
          expect(compileMatcher(shuffled).find(u)).toEqual(compileMatcher(owners).find(u));
        },
      ),
      { numRuns: 500 },
    );
  });
});
