/**
 * Precision and recall of wake-phrase matching over the hand-written corpus, in two parts:
 * test/fixtures/utterances.jsonl, the tuning set (DEFAULT_MATCH_OPTIONS.minScore and the match rules
 * were tuned on it), and test/fixtures/utterances.heldout.jsonl, written before it was ever
 * measured and never tuned on, so its figures say how the rules do on transcripts they were not
 * fitted to. Each line is a transcript, the target the speaker meant to wake (or null) and a tag
 * naming the rule it exercises; `matched` pins the span that would be stripped, and lines with
 * `"matcher": "cancel"` go to the cancel matcher instead. Lines starting with # are comments.
 *
 * Wake and cancel phrases are scored apart: cancel phrases are matched exactly (routing-table.ts
 * `compileCancelMatcher`), so a misheard cancel is a miss by design, and folding it into one
 * recall figure would hide either that or the wake matcher's own misses.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileMatcher, DEFAULT_MATCH_OPTIONS } from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import { compileCancelMatcher } from '../../src/routing/routing-table.js';

/**
 * The household the corpus assumes: greeting + name phrases, bare names (short and long), a
 * two-word name, a long name (two edits of reach), a phrase written with a number word, and names
 * with common sound-alike spellings (Catherine/Kathryn, Stephen/Steven, John/Jon…).
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
  catherine: ['hey catherine'],
  stephen: ['hey stephen'],
  john: ['hey john'],
  shaun: ['hey shaun'],
  kristin: ['hey kristin'],
  aaron: ['hey aaron'],
  zoey: ['hey zoey'],
  philip: ['hey philip'],
};

const CANCEL_PHRASES = ['cancel', 'stop', 'never mind', "that's all", 'forget it'];

interface Case {
  readonly text: string;
  readonly expect: string | null;
  readonly tag: string;
  readonly matched?: string;
  readonly matcher?: 'cancel';
}

function load(file: string): Case[] {
  return readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => JSON.parse(line) as Case);
}

const tuning = load('utterances.jsonl');
const heldOut = load('utterances.heldout.jsonl');

const trigger = compileMatcher(
  Object.entries(REGISTRY).flatMap(([target, phrases]) =>
    phrases.map((phrase) => ({ phrase, target })),
  ),
  DEFAULT_MATCH_OPTIONS,
);
const cancel = compileCancelMatcher(CANCEL_PHRASES);

function decide(c: Case) {
  return (c.matcher === 'cancel' ? cancel : trigger).find(prepareUtterance(c.text));
}

interface Score {
  readonly cases: number;
  readonly precision: number;
  readonly recall: number;
  readonly wrong: readonly string[];
}

/** Precision and recall of `cases`: a wrong target is both a false wake and a miss. */
function score(cases: readonly Case[]): Score {
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
      const how = got ? `${got.target} via "${got.matchedText}" (${got.score.toFixed(3)})` : 'null';
      wrong.push(`[${c.tag}] ${JSON.stringify(c.text)}: expected ${c.expect}, got ${how}`);
    }
  }
  // No predictions at all is vacuously precise; no positives at all is vacuously complete.
  const predicted = truePositives + falsePositives;
  const positives = truePositives + falseNegatives;
  return {
    cases: cases.length,
    precision: predicted === 0 ? 1 : truePositives / predicted,
    recall: positives === 0 ? 1 : truePositives / positives,
    wrong,
  };
}

const isWake = (c: Case) => c.matcher !== 'cancel';
const isCancel = (c: Case) => c.matcher === 'cancel';

function report(name: string, s: Score): Score {
  console.log(
    `${name}: ${s.cases} cases, precision ${s.precision.toFixed(4)}, recall ${s.recall.toFixed(4)}` +
      (s.wrong.length ? `\n  ${s.wrong.join('\n  ')}` : ''),
  );
  return s;
}

describe('utterance corpus', () => {
  it('has at least 300 tuning and 100 held-out cases, every expected target registered', () => {
    expect(tuning.length).toBeGreaterThanOrEqual(300);
    expect(heldOut.length).toBeGreaterThanOrEqual(100);
    const known = new Set([...Object.keys(REGISTRY), 'cancel']);
    for (const c of [...tuning, ...heldOut])
      if (c.expect !== null) expect(known).toContain(c.expect);
  });

  it('held-out transcripts are not copies of tuning ones', () => {
    const seen = new Set(tuning.map((c) => c.text.toLowerCase()));
    for (const c of heldOut) expect(seen.has(c.text.toLowerCase()), c.text).toBe(false);
  });

  it('wake phrases, tuning set: precision ≥ 0.99 and recall ≥ 0.95', () => {
    const s = report('wake, tuning', score(tuning.filter(isWake)));
    expect(s.precision).toBeGreaterThanOrEqual(0.99);
    expect(s.recall).toBeGreaterThanOrEqual(0.95);
  });

  // Floors written with the held-out file, before it was first measured (issue 11).
  it('wake phrases, held-out set: precision ≥ 0.95 and recall ≥ 0.85', () => {
    const s = report('wake, held-out', score(heldOut.filter(isWake)));
    expect(s.precision).toBeGreaterThanOrEqual(0.95);
    expect(s.recall).toBeGreaterThanOrEqual(0.85);
  });

  it('cancel phrases: every literal cancel cancels; misheard ones are reported', () => {
    for (const [name, cases] of [
      ['tuning', tuning],
      ['held-out', heldOut],
    ] as const) {
      const all = cases.filter(isCancel);
      report(`cancel, ${name}`, score(all));
      const literal = report(
        `cancel, ${name}, said as registered`,
        score(all.filter((c) => c.tag === 'cancel')),
      );
      // Exact-only by design (see the file header): a misheard cancel is forwarded to the open
      // session, whose assistant can still read it, where a fuzzy cancel would drop a sentence.
      report(
        `cancel, ${name}, misheard (exact-only by design)`,
        score(all.filter((c) => c.tag === 'cancel-misheard')),
      );
      expect(literal.recall).toBe(1);
    }
  });

  it('strips exactly the pinned span', () => {
    for (const c of [...tuning, ...heldOut].filter((k) => k.matched !== undefined)) {
      const got = decide(c);
      expect(got?.matchedText, c.text).toBe(c.matched);
      expect(c.text.slice(got!.start, got!.end)).toBe(c.matched);
    }
  });
});
