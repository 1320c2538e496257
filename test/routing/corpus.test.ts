/**
 * Precision and recall of wake-phrase matching over the hand-written corpus in
 * test/fixtures/utterances.jsonl. Each line is a transcript, the target it must wake (or null) and
 * a tag naming the rule it exercises; `matched` pins the span that would be stripped, and lines with
 * `"matcher": "cancel"` go to the cancel matcher instead.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileMatcher, DEFAULT_MATCH_OPTIONS } from '../../src/routing/matcher.js';
import { prepareUtterance } from '../../src/routing/normalize.js';

/**
 * The household the corpus assumes: greeting + name phrases, bare names (short and long), a
 * two-word name, a long name (two edits of reach), a phrase written with a number word.
 */
const REGISTRY: Readonly<Record<string, readonly string[]>> = {
  astraea: ['hey astraea', 'hello astraea'],
  echobell: ['hey echo', 'hello echo bell'],
  peter: ['peter'],
  doorman: ['hey doorman'],
  nova: ['ok nova', 'hey nova'],
  jarvis: ['hey jarvis'],
  penelope: ['penelope'],
  alexander: ['hey alexander'],
  starlight: ['hey starlight'],
  agent7: ['agent seven'],
  marigold: ['good morning marigold'],
};

const CANCEL_PHRASES = ['cancel', 'stop', 'never mind', "that's all", 'forget it'];

interface Case {
  readonly text: string;
  readonly expect: string | null;
  readonly tag: string;
  readonly matched?: string;
  readonly matcher?: 'cancel';
}

const cases: Case[] = readFileSync(new URL('../fixtures/utterances.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Case);

const trigger = compileMatcher(
  Object.entries(REGISTRY).flatMap(([target, phrases]) =>
    phrases.map((phrase) => ({ phrase, target })),
  ),
  DEFAULT_MATCH_OPTIONS,
);
const cancel = compileMatcher(
  CANCEL_PHRASES.map((p) => ({ phrase: p, target: 'cancel' })),
  { fuzzy: false, minScore: 1 },
);

function decide(c: Case) {
  return (c.matcher === 'cancel' ? cancel : trigger).find(prepareUtterance(c.text));
}

describe('utterance corpus', () => {
  it('has at least 300 cases, every expected target registered', () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    const known = new Set([...Object.keys(REGISTRY), 'cancel']);
    for (const c of cases) if (c.expect !== null) expect(known).toContain(c.expect);
  });

  it('reaches precision ≥ 0.99 and recall ≥ 0.95', () => {
    let truePositives = 0;
    let falsePositives = 0;
    let falseNegatives = 0;
    const wrong: string[] = [];
    for (const c of cases) {
      const got = decide(c);
      const target = got?.target ?? null;
      if (target !== null && target === c.expect) truePositives++;
      if (target !== null && target !== c.expect) falsePositives++;
      if (c.expect !== null && target !== c.expect) falseNegatives++;
      if (target !== c.expect) {
        const how = got
          ? `${got.target} via "${got.matchedText}" (${got.score.toFixed(3)})`
          : 'null';
        wrong.push(`[${c.tag}] ${JSON.stringify(c.text)}: expected ${c.expect}, got ${how}`);
      }
    }
    const precision = truePositives / (truePositives + falsePositives);
    const recall = truePositives / (truePositives + falseNegatives);
    console.log(
      `corpus: ${cases.length} cases, precision ${precision.toFixed(4)}, recall ${recall.toFixed(4)}` +
        (wrong.length ? `\n  ${wrong.join('\n  ')}` : ''),
    );
    expect(precision).toBeGreaterThanOrEqual(0.99);
    expect(recall).toBeGreaterThanOrEqual(0.95);
  });

  it('strips exactly the pinned span', () => {
    for (const c of cases.filter((k) => k.matched !== undefined)) {
      const got = decide(c);
      expect(got?.matchedText, c.text).toBe(c.matched);
      expect(c.text.slice(got!.start, got!.end)).toBe(c.matched);
    }
  });
});
